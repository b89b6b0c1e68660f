// The shrinker: from a scenario that fails under a seed, a smaller scenario that fails the same
// way (a failure of the same `check`) under the same seed.
//
// It works on the resolved scenario, so every range is already fixed to the value the seed drew.
// Then, greedily, round after round until a whole round changes nothing, it tries smaller
// candidates and keeps the first that still fails the same way:
//   1. fewer peers: drop whole groups, then fewer peers per group (1 first, then halfway, …, n-1);
//   2. a smaller torrent: fewer pieces, smaller pieces, fewer files;
//   3. fewer faults: delta debugging over the fault list (halves, quarters, …, one at a time),
//      then smaller ones: fewer peers struck, a random fault's window and rate halved;
//   4. only the expectations the failing check judges, and an earlier time limit — never before
//      the failure itself;
//   5. simpler settings: engine overrides dropped, joins at 0, no leaving, no latency overrides.
// Each candidate is one run with the same seed. Candidates that would fail for a trivial reason
// are never tried: for a completion failure the last seed is kept; for a ban failure, every peer
// `expect.banned` names; for `min-complete`, enough leechers; and the time limit always reaches the
// failure and `expect.completeBy`.

import { isHonest } from '../behaviours.ts';
import type { Expectations, Failure, FaultSpec, GroupSpec, Scenario, ScenarioResult } from './types.ts';
import { formatDuration, formatSize, KiB } from './units.ts';

export interface ShrinkOptions {
  seed: string;
  /** Runs one candidate (sim/scenario/run.ts's runResolvedScenario, with its options bound). */
  run: (scenario: Scenario, seed: string) => ScenarioResult;
  /** The check whose failure must persist; default: the first failure's. */
  check?: string;
  /** At most this many candidate runs (default 400). */
  maxRuns?: number;
  /** Told of every reduction kept, as it is kept. */
  onStep?: (step: ShrinkStep) => void;
}

export interface ShrinkStep {
  /** What changed, for people: `L: 20 → 10 peers`. */
  what: string;
  /** Candidate runs so far. */
  runs: number;
}

export interface ShrinkResult {
  original: Scenario;
  shrunk: Scenario;
  check: string;
  /** The run of the shrunk scenario, and its failure of `check`. */
  result: ScenarioResult;
  failure: Failure;
  steps: ShrinkStep[];
  runs: number;
  /** True when the run budget ran out before a round changed nothing. */
  exhausted: boolean;
}

export class ShrinkError extends Error {}

interface Candidate {
  what: string;
  scenario: Scenario;
}

const MIN_PIECE = 16 * KiB;

export function shrinkScenario(original: Scenario, o: ShrinkOptions): ShrinkResult {
  const maxRuns = o.maxRuns ?? 400;
  const first = o.run(original, o.seed);
  const check = o.check ?? first.failures[0]?.check;
  if (check === undefined) throw new ShrinkError(`${original.name} does not fail under seed ${o.seed}: nothing to shrink`);
  if (!first.failures.some((f) => f.check === check)) {
    const seen = [...new Set(first.failures.map((f) => f.check))].join(', ');
    throw new ShrinkError(`${original.name} does not fail with check "${check}" under seed ${o.seed} (it fails with: ${seen})`);
  }

  let current = structuredClone(original);
  let currentResult = first;
  let runs = 0;
  const steps: ShrinkStep[] = [];
  const tried = new Set<string>();

  /** Runs a candidate; keeps it if it fails the same way. */
  const attempt = (c: Candidate): boolean => {
    if (runs >= maxRuns || !feasible(c.scenario, original, check)) return false;
    const key = JSON.stringify(c.scenario);
    if (tried.has(key)) return false;
    tried.add(key);
    runs++;
    const result = o.run(c.scenario, o.seed);
    if (!result.failures.some((f) => f.check === check)) return false;
    current = c.scenario;
    currentResult = result;
    const step = { what: c.what, runs };
    steps.push(step);
    o.onStep?.(step);
    return true;
  };
  /** Tries candidates in order and keeps the first that fails the same way. */
  const firstOf = (candidates: Iterable<Candidate>) => {
    for (const c of candidates) if (attempt(c)) return true;
    return false;
  };

  const passes: (() => boolean)[] = [
    () => repeat(() => firstOf(dropGroups(current, check))),
    () => eachIndex(current.groups.length, (i) => repeat(() => firstOf(fewerPeers(current, i)))),
    () => repeat(() => firstOf(smallerTorrent(current))),
    () => dropFaults(() => current, attempt),
    () => eachIndex(current.faults.length, (i) => repeat(() => firstOf(smallerFault(current, i)))),
    () => firstOf(fewerExpectations(current, check)),
    () => repeat(() => firstOf(earlierTimeLimit(current, currentResult, check))),
    () => repeat(() => firstOf(simpler(current))),
  ];
  let changed = true;
  while (changed && runs < maxRuns) {
    changed = false;
    for (const pass of passes) if (pass()) changed = true;
  }
  return {
    original,
    shrunk: current,
    check,
    result: currentResult,
    failure: currentResult.failures.find((f) => f.check === check)!,
    steps,
    runs,
    exhausted: runs >= maxRuns,
  };
}

/** Calls `step` until it returns false; true if it ever returned true. */
function repeat(step: () => boolean): boolean {
  let any = false;
  while (step()) any = true;
  return any;
}

/** Runs `f` for indices n-1 down to 0 (from the end, so removals do not shift what is left). */
function eachIndex(n: number, f: (i: number) => boolean): boolean {
  let any = false;
  for (let i = n - 1; i >= 0; i--) if (f(i)) any = true;
  return any;
}

// ---- what must hold of every candidate -------------------------------------------------------

const seedPeers = (s: Scenario) => s.groups.filter((g) => g.role === 'seed' && g.behaviour === 'honest').reduce((n, g) => n + g.count, 0);
const honestLeechers = (s: Scenario) =>
  s.groups.filter((g) => g.role === 'leecher' && isHonest(g.behaviour)).reduce((n, g) => n + g.count, 0);

/** Checks that a swarm without a seed, or with too few leechers, would fail for nothing. */
const COMPLETION_CHECKS = new Set(['liveness', 'min-complete']);

/** A candidate may not fail for a reason the shrinker made up: see the top of the file. */
function feasible(s: Scenario, original: Scenario, check: string): boolean {
  if (COMPLETION_CHECKS.has(check) && seedPeers(s) < Math.min(1, seedPeers(original))) return false;
  if (check === 'min-complete' && honestLeechers(s) < (s.expect.minComplete ?? 0)) return false;
  for (const name of [...(s.expect.banned ?? []), ...(s.expect.noViolations ?? [])]) if (!peerExists(s, name)) return false;
  // A group compared (expect.faster) or measured (expect.firstCopy) must stay.
  const measured = [...(s.expect.faster ?? []).flatMap((f) => [f.group, f.than]), ...(s.expect.firstCopy ? [s.expect.firstCopy.by] : [])];
  for (const name of measured) if (!s.groups.some((g) => g.name === name && g.count > 0)) return false;
  return s.groups.length > 0;
}

function peerExists(s: Scenario, name: string): boolean {
  return s.groups.some((g) => (g.name === name && g.count > 0) || (name.startsWith(g.name) && /^\d+$/.test(name.slice(g.name.length)) && Number(name.slice(g.name.length)) < g.count));
}

// ---- the candidates ----------------------------------------------------------------------------

function edit(s: Scenario, change: (copy: Scenario) => void): Scenario {
  const copy = structuredClone(s);
  change(copy);
  return copy;
}

/** Smaller values of n, smallest first: lo, then n - n/2, n - n/4, …, n - 1. */
export function smallerValues(n: number, lo: number): number[] {
  const out = new Set<number>();
  if (lo < n) out.add(lo);
  for (let cut = Math.floor((n - lo) / 2); cut >= 1; cut = Math.floor(cut / 2)) out.add(n - cut);
  return [...out].filter((v) => v >= lo && v < n).sort((a, b) => a - b);
}

function refersTo(f: FaultSpec, group: string): boolean {
  if (f.kind === 'random') return 'group' in f.fault && f.fault.group === group;
  if (f.kind === 'partition') return f.between.includes(group);
  return 'group' in f && f.group === group;
}

/** The group a peer label or group name in `expect.banned` (or `noViolations`) belongs to. */
const bannedGroup = (s: Scenario, name: string) => s.groups.find((g) => name === g.name || (name.startsWith(g.name) && /^\d+$/.test(name.slice(g.name.length))))?.name;

/**
 * Each group dropped, with the faults that strike it. A group that `expect.banned` names goes
 * from that list too — unless the failure is about bans, where it must stay.
 */
function* dropGroups(s: Scenario, check: string): Generator<Candidate> {
  for (const g of s.groups) {
    if (s.groups.length === 1) return;
    const named = (s.expect.banned ?? []).filter((b) => bannedGroup(s, b) === g.name);
    if (check === 'banned' && named.length > 0) continue;
    const watched = (s.expect.noViolations ?? []).filter((b) => bannedGroup(s, b) === g.name);
    if (check === 'no-violations' && watched.length > 0) continue;
    const faults = s.faults.filter((f) => refersTo(f, g.name)).length;
    yield {
      what: `group ${g.name} dropped (${g.count} peer${g.count === 1 ? '' : 's'}${faults ? `, and ${faults} fault${faults === 1 ? '' : 's'} on it` : ''})`,
      scenario: edit(s, (c) => {
        c.groups = c.groups.filter((x) => x.name !== g.name);
        c.faults = c.faults.filter((f) => !refersTo(f, g.name));
        if (named.length > 0) {
          const banned = c.expect.banned!.filter((b) => !named.includes(b));
          if (banned.length > 0) c.expect.banned = banned;
          else delete c.expect.banned;
        }
        if (watched.length > 0) {
          const rest = c.expect.noViolations!.filter((b) => !watched.includes(b));
          if (rest.length > 0) c.expect.noViolations = rest;
          else delete c.expect.noViolations;
        }
      }),
    };
  }
}

function* fewerPeers(s: Scenario, i: number): Generator<Candidate> {
  const g = s.groups[i];
  if (!g) return;
  for (const n of smallerValues(g.count, 1)) {
    yield { what: `${g.name}: ${g.count} → ${n} peer${n === 1 ? '' : 's'}`, scenario: edit(s, (c) => (c.groups[i].count = n)) };
  }
}

function* smallerTorrent(s: Scenario): Generator<Candidate> {
  const { size, pieceLength, files } = s.torrent;
  const pieces = Math.ceil(size / pieceLength);
  for (const p of smallerValues(pieces, 1)) {
    const bytes = Math.max(files, p * pieceLength);
    yield { what: `torrent: ${describeTorrent(s.torrent)} → ${describeTorrent({ ...s.torrent, size: bytes })}`, scenario: edit(s, (c) => (c.torrent.size = bytes)) };
  }
  if (pieceLength > MIN_PIECE) {
    const half = pieceLength / 2;
    const bytes = Math.max(files, Math.ceil(size / 2));
    yield {
      what: `torrent: ${describeTorrent(s.torrent)} → ${describeTorrent({ size: bytes, pieceLength: half, files })}`,
      scenario: edit(s, (c) => Object.assign(c.torrent, { size: bytes, pieceLength: half })),
    };
  }
  for (const f of smallerValues(files, 1)) {
    yield { what: `torrent: ${files} → ${f} file${f === 1 ? '' : 's'}`, scenario: edit(s, (c) => (c.torrent.files = f)) };
  }
}

function describeTorrent(t: Scenario['torrent']): string {
  const pieces = Math.ceil(t.size / t.pieceLength);
  return `${formatSize(t.size)} (${pieces} piece${pieces === 1 ? '' : 's'} of ${formatSize(t.pieceLength)})`;
}

export function describeFault(f: FaultSpec): string {
  if (f.kind === 'random') return `random ${f.fault.kind}${'group' in f.fault && f.fault.group ? ` of ${f.fault.group}` : ''} ${formatDuration(f.from)}–${formatDuration(f.until)}`;
  const target = f.kind === 'partition' ? ` ${f.between.join('/')}` : 'group' in f && f.group ? ` of ${f.group}` : '';
  return `${f.kind}${target} at ${formatDuration(f.at)}`;
}

/** Delta debugging over the faults: drop chunks of n/2, n/4, …, 1, keeping each drop that fails the same way. */
function dropFaults(current: () => Scenario, attempt: (c: Candidate) => boolean): boolean {
  let any = false;
  let chunk = Math.ceil(current().faults.length / 2);
  while (chunk >= 1 && current().faults.length > 0) {
    let dropped = false;
    for (let start = 0; start < current().faults.length; start += chunk) {
      const s = current();
      const gone = s.faults.slice(start, start + chunk);
      const what = gone.length === s.faults.length ? `all ${gone.length} faults dropped` : `dropped ${gone.map(describeFault).join(', ')}`;
      if (attempt({ what, scenario: edit(s, (c) => c.faults.splice(start, chunk)) })) {
        dropped = any = true;
        start -= chunk;
      }
    }
    if (!dropped || chunk === 1) chunk = Math.floor(chunk / 2);
  }
  return any;
}

/** A smaller fault: fewer peers struck; for a random fault, a shorter window and a lower rate. */
function* smallerFault(s: Scenario, i: number): Generator<Candidate> {
  const f = s.faults[i];
  if (!f) return;
  if ('count' in f && f.count !== undefined) {
    for (const n of smallerValues(f.count, 1)) {
      yield { what: `${describeFault(f)}: ${f.count} → ${n} peer${n === 1 ? '' : 's'}`, scenario: edit(s, (c) => ((c.faults[i] as { count?: number }).count = n)) };
    }
  }
  if (f.kind === 'random') {
    const until = roundUp(f.from + (f.until - f.from) / 2);
    if (until < f.until) {
      yield { what: `${describeFault(f)}: ends at ${formatDuration(until)}`, scenario: edit(s, (c) => ((c.faults[i] as typeof f).until = until)) };
    }
    const rate = Math.round((f.rate / 2) * 1000) / 1000;
    if (rate > 0 && rate < f.rate) {
      yield { what: `${describeFault(f)}: ${+f.rate.toFixed(3)}/min → ${rate}/min`, scenario: edit(s, (c) => ((c.faults[i] as typeof f).rate = rate)) };
    }
  }
}

/** The expectations each check judges; the rest can go without changing that check's verdict. */
const JUDGED_BY: Record<string, (keyof Expectations)[]> = {
  liveness: ['allComplete', 'completeBy', 'settleWithin'],
  'min-complete': ['allComplete', 'completeBy', 'settleWithin', 'minComplete'],
  banned: ['banned'],
  'no-violations': ['noViolations'],
  'hash-failures': ['maxHashFailures'],
  'duplicate-bytes': ['maxDuplicateBytes'],
  faster: ['faster'],
  'first-copy': ['firstCopy'],
};

/** Only the expectations the failing check judges (none for a safety check). */
function* fewerExpectations(s: Scenario, check: string): Generator<Candidate> {
  const keep = JUDGED_BY[check] ?? [];
  const expect: Expectations = { allComplete: keep.includes('allComplete') ? s.expect.allComplete : false };
  for (const key of keep) if (s.expect[key] !== undefined) (expect as Record<string, unknown>)[key] = s.expect[key];
  if (JSON.stringify(expect) === JSON.stringify(s.expect)) return;
  yield { what: `expectations other than ${check} dropped`, scenario: edit(s, (c) => (c.expect = expect)) };
}

/**
 * An earlier time limit, when the failure came before the limit (a safety violation, or a
 * completeBy/settleWithin bound): never before the failure or `expect.completeBy`, so the check
 * is judged exactly as before.
 */
function* earlierTimeLimit(s: Scenario, result: ScenarioResult, check: string): Generator<Candidate> {
  const failures = result.failures.filter((f) => f.check === check);
  if (failures.some((f) => f.t === undefined || f.t >= s.timeLimit)) return;
  const floor = Math.max(s.expect.completeBy ?? 0, ...failures.map((f) => Math.floor(f.t!) + 1));
  for (const t of smallerValues(s.timeLimit, floor)) {
    const limit = roundUp(t);
    if (limit >= s.timeLimit) continue;
    yield { what: `time limit: ${formatDuration(s.timeLimit)} → ${formatDuration(limit)}`, scenario: edit(s, (c) => (c.timeLimit = limit)) };
  }
}

/** Rounds a time up to a readable one (whole seconds past 10 s). */
function roundUp(ms: number): number {
  return ms > 10_000 ? Math.ceil(ms / 1000) * 1000 : Math.ceil(ms);
}

function* simpler(s: Scenario): Generator<Candidate> {
  if (s.settings && Object.keys(s.settings).length > 0) {
    for (const key of Object.keys(s.settings)) {
      yield { what: `setting ${key} dropped`, scenario: edit(s, (c) => (c.settings = withoutKey(c.settings!, key))) };
    }
  }
  for (let i = 0; i < s.groups.length; i++) {
    const g = s.groups[i];
    const change = (what: string, f: (g: GroupSpec) => void) => ({ what: `${g.name}: ${what}`, scenario: edit(s, (c) => f(c.groups[i])) });
    for (const key of Object.keys(g.settings ?? {})) yield change(`setting ${key} dropped`, (x) => (x.settings = withoutKey(x.settings!, key)));
    if (g.joinSpread !== undefined) yield change('joins all at once', (x) => delete x.joinSpread);
    if (g.joinAt !== 0) yield change(`joins at 0 instead of ${formatDuration(g.joinAt)}`, (x) => (x.joinAt = 0));
    if (g.leave.when !== 'never') yield change('never leaves', (x) => (x.leave = { when: 'never' }));
    if (g.latency) yield change('latency override dropped', (x) => delete x.latency);
  }
}

/** Settings less one key; undefined when none are left (as a file without settings resolves). */
function withoutKey<T extends object>(settings: T, key: string): T | undefined {
  const rest = Object.fromEntries(Object.entries(settings).filter(([k]) => k !== key)) as T;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** How big a scenario is, for the before/after line. */
export function scenarioSize(s: Scenario): { peers: number; groups: number; faults: number; bytes: number; timeLimit: number } {
  return { peers: s.groups.reduce((n, g) => n + g.count, 0), groups: s.groups.length, faults: s.faults.length, bytes: s.torrent.size, timeLimit: s.timeLimit };
}
