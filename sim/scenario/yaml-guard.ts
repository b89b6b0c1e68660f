// Checks YAML before it is composed and before it becomes plain data, so that loading stays
// linear and nothing the yaml package throws escapes as a raw error.
//
// Before composing (`nestingBeforeCompose`): the yaml package's composer recurses once per level
// of nesting; at about a thousand levels (2 KB of `- - - …`) it overflows the stack, and a second
// parse in the same process can then abort it. So the text's nesting is measured first on the
// concrete syntax tree, which the package's Parser builds without recursion.
//
// After composing (`checkYamlShape`), hostile shapes it refuses:
//   - a collection used as a key (`? [a]: 1`, `? ? ? … a: 1`): turning such a key into an object
//     key stringifies it, and nested ones cost time superlinear in their depth (600 levels: minutes);
//     a scenario's keys are all plain words;
//   - nesting deeper than SCENARIO_LIMITS.nesting (conversion and checking recurse per level);
//   - an alias with no anchor before it, or one inside the node it names (a cycle);
//   - a key used twice in one mapping (found with a set: the yaml package's uniqueKeys compares
//     every pair, quadratic in a mapping's size);
// and alias bombs are stopped by the yaml package's maxAliasCount, which `load.ts` passes.
// The walk is iterative, one visit per node.

import { type CST, type Document, isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, type Node, Parser } from 'yaml';
import type { Problem } from './errors.ts';
import { limitNote, SCENARIO_LIMITS } from './limits.ts';

export interface YamlShape {
  /** At most `SCENARIO_LIMITS.problemsShown`; none: the document may be converted. */
  problems: Problem[];
  /** Where the first alias is (an alias bomb is reported there). */
  firstAlias?: { line: number; column: number };
}

export function checkYamlShape(doc: Document, lines: LineCounter): YamlShape {
  const problems: Problem[] = [];
  let firstAlias: YamlShape['firstAlias'];
  let firstAliasOffset = Infinity;
  const at = (node: { range?: [number, number, number] | null } | null | undefined): { line?: number; column?: number } => {
    if (!node?.range) return {};
    const { line, col } = lines.linePos(node.range[0]);
    return { line, column: col };
  };
  const add = (node: Node | null | undefined, message: string) => {
    if (problems.length < SCENARIO_LIMITS.problemsShown.value) problems.push({ path: '', message, ...at(node) });
  };

  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node === null || node === undefined || isScalar(node)) continue;
    if (isAlias(node)) {
      if (node.range && node.range[0] < firstAliasOffset) {
        firstAliasOffset = node.range[0];
        firstAlias = at(node) as YamlShape['firstAlias'];
      }
      const target = node.resolve(doc);
      if (!target) add(node, `alias *${node.source} has no anchor &${node.source} before it`);
      else if (target.range && node.range && target.range[0] <= node.range[0] && node.range[0] < target.range[2]) {
        add(node, `alias *${node.source} lies inside the node it names (a cycle)`);
      }
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth > SCENARIO_LIMITS.nesting.value) {
      add(node, `nested too deeply: more than ${SCENARIO_LIMITS.nesting.value} levels ${limitNote('nesting', SCENARIO_LIMITS.nesting.value)}`);
      continue;
    }
    if (isSeq(node)) for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
    else if (isMap(node)) {
      // Duplicate keys are found here with a set: the yaml package's uniqueKeys compares each key
      // with every other, quadratic in a mapping's size.
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (isCollection(pair.key) || isAlias(pair.key)) {
          add(pair.key as Node, 'expected a plain key such as `name`; a list, mapping or alias cannot be a key');
          continue;
        }
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (keys.has(key)) add(pair.key as Node, `not valid YAML: Map keys must be unique; "${String(key).slice(0, 40)}" is used twice`);
        keys.add(key);
        stack.push({ node: pair.value, depth: depth + 1 });
      }
    }
  }
  return { problems, firstAlias };
}

const CST_COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/** A problem if the text nests deeper than SCENARIO_LIMITS.nesting (measured on its CST, iteratively). */
export function nestingBeforeCompose(text: string): Problem | undefined {
  const lines = new LineCounter();
  const stack: { token: CST.Token | undefined; depth: number }[] = [];
  for (const token of new Parser(lines.addNewLine).parse(text)) stack.push({ token, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    if (token.type === 'document') {
      stack.push({ token: token.value, depth });
      continue;
    }
    if (!CST_COLLECTIONS.has(token.type) || !('items' in token)) continue;
    const level = depth + 1;
    if (level > SCENARIO_LIMITS.nesting.value) {
      const { line, col } = lines.linePos(token.offset);
      return { path: '', message: `nested too deeply: more than ${SCENARIO_LIMITS.nesting.value} levels ${limitNote('nesting', SCENARIO_LIMITS.nesting.value)}`, line, column: col };
    }
    for (const item of token.items as { key?: CST.Token | null; value?: CST.Token }[]) {
      if (item.key) stack.push({ token: item.key, depth: level });
      stack.push({ token: item.value, depth: level });
    }
  }
  return undefined;
}
