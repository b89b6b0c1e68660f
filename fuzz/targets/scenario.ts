// The scenario loader (sim/scenario/load.ts parseScenarioText, then resolveScenario drawing the
// ranges). Input: a real scenario file (scenarios/, test/fixtures/scenarios/) with lines deleted,
// duplicated or given hostile values (YAML aliases and anchors, explicit keys, flow brackets,
// zero and huge numbers, traversal names), or generated YAML attacks (nested explicit keys, alias
// bombs, deep flow nesting), maybe mutated byte-wise. Properties: every input loads or fails with a
// ScenarioFileError whose positions lie inside the text, never another throw; a loaded scenario is
// runnable as far as the loader can say (positive tick, 1 <= loWatermark <= hiWatermark, finite
// positive sizes and times); each input takes less than the slow bound (reported, not failed:
// a 10 KB file must load in well under a second).

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';
import { loadScenario, parseScenarioText, ScenarioFileError } from '../../sim/scenario/load.ts';
import { applyMutations, type Mutation, mutationArbitrary } from '../mutate.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';

function scenarioTexts(folder: string): string[] {
  const dir = fileURLToPath(new URL(folder, import.meta.url));
  return readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => readFileSync(`${dir}${n}`, 'utf8'));
}

const BASES = [...scenarioTexts('../../scenarios/'), ...scenarioTexts('../../test/fixtures/scenarios/')];

const HOSTILE_VALUES = ['0', '-1', '1e15', '1e308', '10000', '1e9', '*a', '&a 1', '&a [*a, *a]', '? a', '{', '[', '}', ']', '!!binary AAAA', '!!js/function x', '../../x', "'", '"\\u0000"', 'null', '~', '.inf', '.nan', '0s', '0MiB', '1000000/s', '0..0', '5..1', 'tickInterval: 0', '{ tickInterval: 0 }', '{ loWatermark: 0 }', '<<: *a'];

type LineOp = { kind: 'delete' | 'duplicate'; line: number } | { kind: 'value'; line: number; value: string } | { kind: 'swap'; line: number; other: number };

const lineOp: fc.Arbitrary<LineOp> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), line: fc.nat({ max: 200 }) }),
  fc.record({ kind: fc.constant('value' as const), line: fc.nat({ max: 200 }), value: fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.string({ maxLength: 10 })) }),
  fc.record({ kind: fc.constant('swap' as const), line: fc.nat({ max: 200 }), other: fc.nat({ max: 200 }) }),
);

function applyLineOp(lines: string[], op: LineOp): string[] {
  if (lines.length === 0) return lines;
  const i = op.line % lines.length;
  const out = [...lines];
  if (op.kind === 'delete') out.splice(i, 1);
  else if (op.kind === 'duplicate') out.splice(i, 0, lines[i]);
  else if (op.kind === 'swap') [out[i], out[op.other % lines.length]] = [out[op.other % lines.length], out[i]];
  else if (op.kind === 'value') {
    // The value after the line's first "key:" (or the whole line when it has none).
    const colon = out[i].indexOf(': ');
    out[i] = colon >= 0 ? `${out[i].slice(0, colon + 2)}${op.value}` : op.value;
  }
  return out;
}

/** YAML that is cheap to write and has been expensive to read. */
const attack = fc.oneof(
  // Nested explicit keys cost the YAML parser cubic time: 80 take 70 ms, 200 about 1 s, 600 minutes.
  fc.integer({ min: 1, max: 200 }).map((n) => `${'? '.repeat(n)}a: 1\n`),
  fc.integer({ min: 1, max: 8 }).map((levels) => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    return `${lines.join('\n')}\nname: *a${levels}\n`;
  }),
  fc.integer({ min: 1, max: 3000 }).map((n) => `name: ${'['.repeat(n)}${']'.repeat(n)}\n`),
  fc.integer({ min: 1, max: 3000 }).map((n) => `name: x\ngroups: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`),
  fc.constantFrom('name: *a\n', '*a\n', 'name: x\n<<: *b\n', '&a a: *a\n'),
);

export interface ScenarioInput {
  /** Index into the real scenario files, or -1 for `attack`. */
  base: number;
  attack: string;
  lineOps: LineOp[];
  mutations: Mutation[];
}

const TOKENS = ['*a', '&a ', '? ', '{', '[', ':', '- ', '\n', '\t', '#', '"', "'", '!!', '%YAML 1.2\n---\n', '...\n'].map((t) => new TextEncoder().encode(t));

export function scenarioText(input: ScenarioInput): string {
  const base = input.base >= 0 ? BASES[input.base % BASES.length] : input.attack;
  const text = applyLineOps(base.split('\n'), input.lineOps).join('\n');
  return input.mutations.length === 0 ? text : new TextDecoder().decode(applyMutations(new TextEncoder().encode(text), input.mutations));
}

function applyLineOps(lines: string[], ops: readonly LineOp[]): string[] {
  return ops.reduce(applyLineOp, lines);
}

export const scenarioTarget: FuzzTarget<ScenarioInput> = {
  name: 'scenario',
  description: 'sim/scenario/load.ts: ScenarioFileError only (positions inside the text), sane loaded values, bounded time',
  ciRuns: 150,
  slowMs: 1000,
  arbitrary: fc.record({
    base: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: BASES.length - 1 }) }, { weight: 1, arbitrary: fc.constant(-1) }),
    attack,
    lineOps: fc.array(lineOp, { maxLength: 4 }),
    mutations: fc.oneof(fc.constant([] as Mutation[]), fc.array(mutationArbitrary(TOKENS), { minLength: 1, maxLength: 3 })),
  }),
  check: checkScenario,
};

function checkScenario(input: ScenarioInput): void {
  const text = scenarioText(input);
  const lines = text.split('\n').length;
  const parsed = typedOutcome(() => parseScenarioText(text, 'fuzz.yaml'), [ScenarioFileError], 'parseScenarioText');
  if ('error' in parsed) {
    checkProblems(parsed.error as ScenarioFileError, lines);
    return;
  }
  const resolved = typedOutcome(() => loadScenario(parsed.value, 1), [ScenarioFileError], 'loadScenario');
  if ('error' in resolved) {
    checkProblems(resolved.error as ScenarioFileError, lines);
    return;
  }
  const s = resolved.value;
  const positive = (v: number | undefined, what: string) => expect(v === undefined || (Number.isFinite(v) && v > 0), `loaded with ${what} ${v}`);
  positive(s.torrent.size, 'torrent size');
  positive(s.torrent.pieceLength, 'piece length');
  positive(s.timeLimit, 'time limit');
  positive(s.settings?.tickInterval, 'settings.tickInterval');
  const lo = s.settings?.loWatermark;
  const hi = s.settings?.hiWatermark;
  expect(lo === undefined || lo >= 1, `loaded with loWatermark ${lo}`);
  expect(lo === undefined || hi === undefined || lo <= hi, `loaded with loWatermark ${lo} above hiWatermark ${hi}`);
  for (const g of s.groups) expect(Number.isInteger(g.count) && g.count >= 0, `group ${g.name} loaded with count ${g.count}`);
}

function checkProblems(error: ScenarioFileError, lines: number): void {
  expect(error.problems.length > 0, 'a ScenarioFileError without problems');
  for (const p of error.problems) {
    expect(typeof p.message === 'string' && p.message.length > 0, 'a problem without a message');
    if (p.line !== undefined) expect(p.line >= 1 && p.line <= lines + 1 && p.column !== undefined && p.column >= 1, `problem at ${p.line}:${p.column}, the text has ${lines} lines`);
  }
}
