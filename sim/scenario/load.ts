// Reading scenario files, and the library API: `runScenario(pathOrFile, seed)` loads a file,
// draws its ranges from the seed and runs it.

import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { swarmAdversaries } from '../adversary.ts';
import { formatPath, type Path, type Problem, problemsOf, ScenarioFileError } from './errors.ts';
import { resolveScenario } from './resolve.ts';
import { type RunOptions, runResolvedScenario, runResolvedScenarioInSlices } from './run.ts';
import type { RunSlices } from '../swarm.ts';
import { limitNote, SCENARIO_LIMITS } from './limits.ts';
import { groupReferenceIssues, type ScenarioFile, scenarioFileSchema } from './schema.ts';
import type { Scenario, ScenarioResult } from './types.ts';
import { formatSize } from './units.ts';
import { scenarioWarnings } from './warnings.ts';
import { checkYamlShape, nestingBeforeCompose } from './yaml-guard.ts';

export { ScenarioFileError } from './errors.ts';
export type { ScenarioFile } from './schema.ts';

/** Where a path of the file sits in its text (1-based), if it can be found. */
type Locate = (path: Path, atKey?: boolean) => { line: number; column: number } | undefined;

const WARNINGS = new WeakMap<ScenarioFile, string[]>();

/**
 * The warnings of a checked file (sim/scenario/warnings.ts), one line each in the house style
 * (`file:line:col: warning: path: what`): the loading commands print them, nothing stops.
 */
export function warningsOf(file: ScenarioFile): readonly string[] {
  return WARNINGS.get(file) ?? [];
}

/** Checks parsed data (a file's content, or an object written in a test) against the schema. */
export function checkScenario(data: unknown, file = '<scenario>', locate: Locate = () => undefined): ScenarioFile {
  const result = scenarioFileSchema.safeParse(data);
  if (result.success) {
    const lines = scenarioWarnings(result.data).map(({ path, message }) => {
      const at = locate(path, true);
      return `${file}${at ? `:${at.line}:${at.column}` : ''}: warning: ${formatPath(path)}: ${message}`;
    });
    if (lines.length) WARNINGS.set(result.data, lines);
    return result.data;
  }
  // zod runs the checks across fields only on a well-formed file: the references to groups are
  // checked on the data as written, so that they come in the same pass as every other problem.
  const located = problemsOf(result.error, data);
  const seen = new Set(located.map((p) => `${formatPath(p.path)}\n${p.message}`));
  for (const r of groupReferenceIssues(data)) if (!seen.has(`${formatPath(r.path)}\n${r.message}`)) located.push(r);
  // Only the problems shown are located (each a walk of the document).
  const shown = located.slice(0, SCENARIO_LIMITS.problemsShown.value + 1);
  // In the file's order: the references checked apart come after zod's problems otherwise.
  const placed = shown.map(({ path, message, atKey }) => ({ path: formatPath(path), message, ...locate(path, atKey) }));
  placed.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  const problems = capped(placed, located.length);
  throw new ScenarioFileError(file, problems);
}

/** The file is too large to be a scenario: refused before parsing (parse time grows with size). */
function tooLarge(file: string, bytes: number): ScenarioFileError {
  const max = SCENARIO_LIMITS.fileBytes.value;
  return new ScenarioFileError(file, [{ path: '', message: `${formatSize(bytes)} is too large for a scenario file ${limitNote('fileBytes', formatSize(max))}` }]);
}

/** At most `problemsShown` problems, and a last line saying how many more there were. */
function capped(problems: Problem[], total = problems.length): Problem[] {
  const max = SCENARIO_LIMITS.problemsShown.value;
  if (total <= max) return problems;
  return [...problems.slice(0, max), { path: '', message: `… and ${total - max} more problems` }];
}

/**
 * Parses scenario text, YAML or JSON (JSON is YAML too, and positions come from the same parser).
 * Every failure is a ScenarioFileError; the work is linear in the text (see yaml-guard.ts).
 */
export function parseScenarioText(text: string, file = '<scenario>'): ScenarioFile {
  if (text.length > SCENARIO_LIMITS.fileBytes.value) throw tooLarge(file, text.length);
  const tooDeep = nestingBeforeCompose(text);
  if (tooDeep) throw new ScenarioFileError(file, [tooDeep]);
  const lines = new LineCounter();
  // Positions come from the line counter; the yaml package's prettyErrors would cut a context
  // line for every error, quadratic on a long line with many errors.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const kind = extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML';
    const shown = doc.errors.slice(0, SCENARIO_LIMITS.problemsShown.value + 1).map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { path: '', message: `not valid ${kind}: ${e.message.split('\n')[0]}`, line, column: col };
    });
    throw new ScenarioFileError(file, capped(shown, doc.errors.length));
  }
  const shape = checkYamlShape(doc, lines);
  if (shape.problems.length > 0) throw new ScenarioFileError(file, shape.problems);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: SCENARIO_LIMITS.aliasExpansion.value });
  } catch (e) {
    // The yaml package's own guard: an alias bomb (`Excessive alias count …`).
    const message = (e as Error).message;
    const bomb = /alias count/i.test(message);
    throw new ScenarioFileError(file, [
      {
        path: '',
        message: bomb ? `aliases expand too much (an alias bomb?) ${limitNote('aliasExpansion', SCENARIO_LIMITS.aliasExpansion.value)}` : `cannot be read: ${message}`,
        ...shape.firstAlias,
      },
    ]);
  }
  const locate: Locate = (path, atKey) => {
    // The node at the path, or failing that its nearest ancestor (a missing key: the object).
    for (let n = path.length; n >= 0; n--) {
      const node = nodeAt(doc.contents, path.slice(0, n), atKey && n === path.length);
      if (node?.range) {
        const { line, col } = lines.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return undefined;
  };
  return checkScenario(data, file, locate);
}

/** The node at `path` (its value, or with `atKey` the key of its last step). */
function nodeAt(root: unknown, path: Path, atKey = false): Node | undefined {
  let node = root as Node | undefined;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      node = (atKey && i === path.length - 1 ? pair?.key : (pair?.value ?? pair?.key)) as Node | undefined;
    } else if (isSeq(node) && typeof key === 'number') node = node.items[key] as Node | undefined;
    else return undefined;
  }
  return node;
}

/** Reads, parses and checks a scenario file. Throws ScenarioFileError naming the file and the path. */
export function loadScenarioFile(path: string): ScenarioFile {
  let text: string;
  try {
    const { size } = statSync(path);
    if (size > SCENARIO_LIMITS.fileBytes.value) throw tooLarge(path, size);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioFileError) throw e;
    throw new ScenarioFileError(path, [{ path: '', message: `cannot be read: ${(e as Error).message}` }]);
  }
  return parseScenarioText(text, path);
}

/** A file (or its path) with every range drawn from `seed`. */
export function loadScenario(source: string | ScenarioFile, seed: string | number): Scenario {
  const file = typeof source === 'string' ? loadScenarioFile(source) : source;
  return resolveScenario(file, String(seed), typeof source === 'string' ? source : undefined);
}

export type ScenarioRunOptions = Pick<RunOptions, 'traceOut' | 'plantedBug' | 'observe'>;

/**
 * Runs a scenario file (a path, or a file checked with `checkScenario`/`parseScenarioText`) under
 * one seed: the library API. The same file and seed always give the same result and trace hash.
 */
export function runScenario(source: string | ScenarioFile, seed: string | number, options: ScenarioRunOptions = {}): ScenarioResult {
  return runResolved(loadScenario(source, seed), seed, options);
}

/** As runResolved, letting the event loop in between slices of events (a Ctrl-C, a progress line). */
export function runResolvedInSlices(scenario: Scenario, seed: string | number, options: ScenarioRunOptions, slices: RunSlices): Promise<ScenarioResult> {
  return runResolvedScenarioInSlices(scenario, String(seed), { adversaries: swarmAdversaries, ...options }, slices);
}

/** Runs an already resolved scenario, with swarmlab's malicious peers available to its groups. */
export function runResolved(scenario: Scenario, seed: string | number, options: ScenarioRunOptions = {}): ScenarioResult {
  return runResolvedScenario(scenario, String(seed), { adversaries: swarmAdversaries, ...options });
}
