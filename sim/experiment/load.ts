// Reading experiment files: the YAML parsed with positions (the scenario loader's guards first),
// checked against the schema, the base scenario read (a file relative to the experiment, or
// inline), every sweep path checked against the base, and the sweep points made: the cartesian
// product of the swept values, the first sweep key varying slowest, each value in its list's order.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, LineCounter, parse, parseDocument } from 'yaml';
import { formatPath, type Path, type Problem, problemsOf, ScenarioFileError } from '../scenario/errors.ts';
import { checkScenario, loadScenarioFile, type ScenarioFile } from '../scenario/load.ts';
import { checkYamlShape, nestingBeforeCompose } from '../scenario/yaml-guard.ts';
import { type ExperimentFile, experimentFileSchema } from './schema.ts';

const KIND = 'experiment';

export interface SweepPoint {
  /** Position in sweep order. */
  index: number;
  /** The swept values, in the order of the file's `sweep` keys. */
  assignments: { path: string; value: unknown }[];
  /** `settings.piecePicker=sequential, groups[1].count=10` ('base' with nothing swept). */
  label: string;
  /** The base with the point's values set, checked. */
  scenario: ScenarioFile;
}

export interface Experiment {
  file: string;
  /** The spec run: with `--full`, the file's `full:` values in place of its seeds and sweep. */
  spec: ExperimentFile;
  points: SweepPoint[];
  /** The full version (`--full`) rather than the small one CI runs. */
  full: boolean;
}

export interface ExperimentLoadOptions {
  /** The full version: the file's `full:` seeds, sweep and base values. A file without `full:` runs as written. */
  full?: boolean;
}

/** `groups[1].count` → ['groups', 1, 'count']; undefined when it is not such a path. */
export function parseValuePath(text: string): Path | undefined {
  if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*|\[\d+\])*$/.test(text)) return undefined;
  return [...text.matchAll(/([A-Za-z_][\w-]*)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

/** Whether every step of `path` exists in `data`. */
function exists(data: unknown, path: Path): boolean {
  let node = data;
  for (const key of path) {
    if (typeof key === 'number' ? !Array.isArray(node) || key >= node.length : node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return false;
    node = (node as Record<PropertyKey, unknown>)[key as string];
  }
  return true;
}

function setAt(data: unknown, path: Path, value: unknown): void {
  let node = data as Record<PropertyKey, unknown>;
  for (const key of path.slice(0, -1)) node = node[key as string] as Record<PropertyKey, unknown>;
  node[path[path.length - 1] as string] = value;
}

/** The cartesian product of `lists`, the first list varying slowest. */
export function cartesian<T>(lists: readonly (readonly T[])[]): T[][] {
  return lists.reduce<T[][]>((rows, list) => rows.flatMap((row) => list.map((v) => [...row, v])), [[]]);
}

/** Parses and checks an experiment's text; `file` names it in errors and anchors a relative base. */
export function parseExperimentText(text: string, file = '<experiment>', options: ExperimentLoadOptions = {}): Experiment {
  const tooDeep = nestingBeforeCompose(text);
  if (tooDeep) throw new ScenarioFileError(file, [tooDeep], KIND);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    throw new ScenarioFileError(
      file,
      doc.errors.map((e) => ({ path: '', message: `not valid YAML: ${e.message.split('\n')[0]}`, ...position(lines, e.pos[0]) })),
      KIND,
    );
  }
  const shape = checkYamlShape(doc, lines);
  if (shape.problems.length > 0) throw new ScenarioFileError(file, shape.problems, KIND);
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  // The node at the path (with `atKey`, its key), or its nearest ancestor that is in the file.
  const locate = (path: Path, atKey = false) => {
    if (atKey && path.length > 0) {
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      const pair = isMap(parent) ? parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === path[path.length - 1]) : undefined;
      const range = (pair?.key as { range?: [number, number] } | undefined)?.range;
      if (range) return position(lines, range[0]);
    }
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      const range = (node as { range?: [number, number] } | undefined)?.range;
      if (range) return position(lines, range[0]);
    }
    return {};
  };
  const fail = (problems: Problem[]): never => {
    throw new ScenarioFileError(file, problems, KIND);
  };
  const checked = experimentFileSchema.safeParse(data);
  if (!checked.success) fail(problemsOf(checked.error, data).map(({ path, message, atKey }) => ({ path: formatPath(path), message, ...locate(path, atKey) })));
  const written = checked.data!;
  const full = options.full === true && written.full !== undefined;
  const spec = full ? { ...written, seeds: written.full!.seeds ?? written.seeds, sweep: written.full!.sweep ?? written.sweep } : written;
  /** Where a sweep key is written: under `full.sweep` when the full version's sweep is run. */
  const sweepAt = full && written.full!.sweep ? ['full', 'sweep'] : ['sweep'];

  // The base: its raw data (the values are set there, then each point is checked as a scenario).
  let raw: unknown;
  if (typeof spec.base === 'string') {
    const path = resolve(dirname(file), spec.base);
    loadScenarioFile(path); // its own errors, with its own positions
    raw = parse(readFileSync(path, 'utf8'));
  } else {
    checkScenario(spec.base, `${file} (base)`);
    raw = structuredClone(spec.base);
  }
  if (full) {
    for (const [key, value] of Object.entries(written.full!.set ?? {})) {
      const path = parseValuePath(key);
      if (!path) return fail([{ path: `full.set.${key}`, message: 'not a value path such as groups[1].count or torrent.size', ...locate(['full', 'set', key], true) }]);
      if (!exists(raw, path)) return fail([{ path: `full.set.${key}`, message: `${key} is not in the base scenario (a value must be set there first)`, ...locate(['full', 'set', key], true) }]);
      setAt(raw, path, value);
    }
  }

  const keys = Object.keys(spec.sweep);
  const paths = keys.map((key) => {
    const path = parseValuePath(key);
    const at = `${sweepAt.join('.')}.${key}`;
    if (!path) return fail([{ path: at, message: 'not a value path such as groups[1].count or settings.piecePicker', ...locate([...sweepAt, key], true) }]);
    if (!exists(raw, path)) return fail([{ path: at, message: `${key} is not in the base scenario (a swept value must be set there first)`, ...locate([...sweepAt, key], true) }]);
    return path;
  });
  const points = cartesian(keys.map((k) => spec.sweep[k])).map((values, index): SweepPoint => {
    const scenarioData = structuredClone(raw);
    values.forEach((v, i) => setAt(scenarioData, paths[i], v));
    const assignments = values.map((value, i) => ({ path: keys[i], value }));
    const label = assignments.length ? assignments.map((a) => `${a.path}=${typeof a.value === 'string' ? a.value : JSON.stringify(a.value)}`).join(', ') : 'base';
    let scenario: ScenarioFile;
    try {
      scenario = checkScenario(scenarioData, file);
    } catch (e) {
      if (!(e instanceof ScenarioFileError)) throw e;
      return fail(e.problems.map((p) => ({ path: `${sweepAt.join('.')} (${label})`, message: `the base scenario with these values is not valid: ${p.path ? `${p.path}: ` : ''}${p.message}`, ...locate([...sweepAt, keys[0] ?? ''], true) })));
    }
    return { index, assignments, label, scenario };
  });
  return { file, spec, points, full };
}

function position(lines: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** Reads and checks an experiment file. */
export function loadExperimentFile(path: string, options: ExperimentLoadOptions = {}): Experiment {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioFileError(path, [{ path: '', message: `cannot be read: ${(e as Error).message}` }], KIND);
  }
  return parseExperimentText(text, path, options);
}
