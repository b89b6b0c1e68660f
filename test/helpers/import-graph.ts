// The repository's import graph, read with the TypeScript compiler's parser (not a regex, so an
// import in a comment or a string does not count and none is missed): every static import and
// `export … from`, type-only ones included, `import('…')` calls and `import('…')` types,
// `require('…')` and `import x = require('…')`. Relative specifiers are resolved to repository
// paths; the rest are packages. Also the graph's cycles (Tarjan's strongly connected components).
// Used by test/layers.test.ts.

import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

export interface ImportRef {
  /** The specifier as written, or undefined for a computed one (`import(name)`). */
  specifier: string | undefined;
  /** 1-based line of the import. */
  line: number;
}

/** Every import of one source file, in source order. */
export function readImports(path: string, source: string): ImportRef[] {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, scriptKindOf(path));
  const found: ImportRef[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined) => {
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
    found.push({ specifier: specifier && ts.isStringLiteralLike(specifier) ? specifier.text : undefined, line });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && isImportOrRequire(node)) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      add(node, ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal) ? arg.literal : undefined);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function isImportOrRequire(call: ts.CallExpression): boolean {
  if (call.expression.kind === ts.SyntaxKind.ImportKeyword) return true;
  return ts.isIdentifier(call.expression) && call.expression.text === 'require' && call.arguments.length === 1;
}

function scriptKindOf(path: string): ts.ScriptKind {
  return /\.[cm]?js$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

/** Where an import leads: a repository file, or a package (Node built-ins as `node:name`). */
export type ImportTarget = { file: string } | { package: string };

const BUILTINS = new Set(builtinModules);

/**
 * Resolves `specifier`, imported by repository file `from` (both with forward slashes). A file of
 * the build's output (`dist/cli/main.js`, `npm run build`) stands for its source (`cli/main.ts`).
 */
export function resolveImport(from: string, specifier: string): ImportTarget {
  if (specifier.startsWith('.')) {
    const file = posix.normalize(posix.join(posix.dirname(from), specifier));
    const built = /^dist\/(.+)\.js$/.exec(file);
    return { file: built ? `${built[1]}.ts` : file };
  }
  if (specifier.startsWith('node:')) return { package: specifier };
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return { package: BUILTINS.has(name) ? `node:${name}` : name };
}

/**
 * The import cycles: for every file in a strongly connected component (more than one file, or a
 * file that imports itself), a shortest cycle through it — `[a, b, a]` — so every file of a tangle
 * is named, and a cycle that several files share is listed once. Each starts at its first file
 * in sort order; the list is sorted, so it does not depend on the order files were read.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  // Recursive Tarjan: the graph is a few hundred files, far from any stack limit.
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  const cycles = new Map<string, string[]>();
  for (const component of components) {
    const members = new Set(component);
    for (const file of component) {
      const cycle = startAtFirst(cycleThrough(file, members, graph));
      cycles.set(cycle.join('\n'), cycle);
    }
  }
  return [...cycles.keys()].sort().map((key) => cycles.get(key)!);
}

/** A shortest cycle from `start` back to itself inside `component` (breadth first). */
function cycleThrough(start: string, component: Set<string>, graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0])!);
        return [...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`import graph: ${start} is in a cycle that does not come back to it`);
}

/** The same cycle, `[a, …, a]`, rotated to start at its first file in sort order. */
function startAtFirst(cycle: string[]): string[] {
  const ring = cycle.slice(0, -1);
  const first = ring.indexOf([...ring].sort()[0]);
  const rotated = [...ring.slice(first), ...ring.slice(0, first)];
  return [...rotated, rotated[0]];
}
