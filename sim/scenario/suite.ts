// A test suite of scenario files: each scenario on its seeds, and one seed run twice to check that
// the trace hash is the same both times (determinism, checked on every suite run). What
// `swarmlab test` runs; the printing is cli/test.ts's. Runs go one at a time in this thread, or
// `jobs` at once through `execute` (cli/test-pool.ts's worker processes); either way each run is
// reported, and the determinism rerun judged, in the sweep's order, so the result is the same.
// `shard` keeps one machine's share of the sweep (shard.ts).

import { ClockStoppedError } from '../scheduler.ts';
import { TransportError } from './transport.ts';
import { loadScenario, runResolved, type ScenarioFile, type ScenarioRunOptions } from './load.ts';
import { seedList } from './seeds.ts';
import type { Failure, Scenario, ScenarioResult } from './types.ts';
import type { WireViolation } from '../wire-checker.ts';
import { inShard, type Shard } from './shard.ts';

export interface SuiteEntry {
  path: string;
  file: ScenarioFile;
}

/** Runs one scenario under one seed: the in-memory runner by default; the TCP transport's for `--transport tcp`. */
export type ScenarioRunner = (scenario: Scenario, seed: string, options: ScenarioRunOptions) => ScenarioResult | Promise<ScenarioResult>;

export interface SuiteOptions extends Pick<ScenarioRunOptions, 'plantedBug'> {
  /** Default: `runResolved`, in memory. */
  runner?: ScenarioRunner;
  /**
   * Whether a run can be replayed byte for byte (default true: in memory). Only then is one seed
   * run twice to check the trace hash; a TCP run is not replayable.
   */
  replayable?: (file: ScenarioFile) => boolean;
  /** Seeds to run beyond each scenario's listed ones. */
  extraSeeds?: number;
  /** The first of the extra seeds (they count up from it). */
  firstSeed?: number;
  /** Told before each run, and after it (in the sweep's order, whatever order runs finish in). */
  onStart?: (run: PlannedRun) => void;
  onDone?: (run: SuiteRun) => void;
  /**
   * Read after each run (the event loop gets a turn first, so a Ctrl-C handler can set it): true
   * stops the suite there. The run it cut short (the runner's to end early) is left out.
   */
  interrupted?: () => boolean;
  /** Only this machine's share of the sweep (default: all of it). */
  shard?: Shard;
  /** How many runs go at once (default 1); more only make sense with an `execute` that runs elsewhere. */
  jobs?: number;
  /** Runs one planned run (default: `runPlanned` in this thread). Its determinism rerun is judged here. */
  execute?: (run: PlannedRun) => Promise<SuiteRun>;
}

export interface PlannedRun {
  path: string;
  name: string;
  seed: string;
  /** The determinism rerun of a seed already run. */
  rerun: boolean;
  /** 1-based position among the runs this suite runs (this shard's), and their number. */
  index: number;
  total: number;
  /** 1-based position in the whole sweep, the same on every shard (`swarmlab merge` orders by it). */
  sweepIndex: number;
}

/** A run of the sweep before it is numbered among a shard's runs. */
export type SweepRun = Omit<PlannedRun, 'index' | 'total'> & {
  /** 0-based seed group: a seed's run and its determinism rerun share one, and so a shard. */
  group: number;
};

export interface SuiteRun extends PlannedRun {
  ok: boolean;
  failures: Failure[];
  traceHash?: string;
  wallMs: number;
  /** The wire checker's findings (sim/wire-checker.ts): a capped list, and how many in all. */
  violations: WireViolation[];
  violationCount: number;
  /** Set when the run was on TCP (its reproduce command says so). */
  transport?: 'tcp';
}

export interface SuiteResult {
  runs: SuiteRun[];
  /** Stopped by `interrupted` before every planned run was done. */
  interrupted: boolean;
  /** The runs planned. */
  planned: number;
  passed: number;
  failed: number;
  wallMs: number;
  /** How many runs the whole sweep has (more than `runs` on a shard). */
  sweepRuns: number;
}

/** The check reported when a run throws instead of finishing: a crash of swarmlab itself. */
export const CRASH = 'crash';
/** The check reported when a run's virtual clock stops moving (sim/scheduler.ts's guard). */
export const CLOCK_STOPPED = 'clock-stopped';
/** The check reported when the same seed gives two different trace hashes. */
export const NONDETERMINISM = 'determinism';

/** Every run of the sweep in order: each scenario's seeds, then its first seed again (when replayable). */
export function planSweep(entries: readonly SuiteEntry[], o: Pick<SuiteOptions, 'extraSeeds' | 'firstSeed' | 'replayable'> = {}): SweepRun[] {
  const sweep: SweepRun[] = [];
  let group = 0;
  for (const { path, file } of entries) {
    const seeds = seedList(file.seeds, o.extraSeeds ?? 0, o.firstSeed ?? 1);
    const firstGroup = group;
    for (const seed of seeds) sweep.push({ path, name: file.name, seed, rerun: false, sweepIndex: sweep.length + 1, group: group++ });
    if (o.replayable?.(file) ?? true) sweep.push({ path, name: file.name, seed: seeds[0], rerun: true, sweepIndex: sweep.length + 1, group: firstGroup });
  }
  return sweep;
}

export async function runSuite(entries: readonly SuiteEntry[], o: SuiteOptions = {}): Promise<SuiteResult> {
  const sweep = planSweep(entries, o);
  const mine = o.shard ? sweep.filter((r) => inShard(r.group, o.shard!)) : sweep;
  const plan: PlannedRun[] = mine.map(({ group: _, ...r }, i) => ({ ...r, index: i + 1, total: mine.length }));
  const files = new Map(entries.map((e) => [e.path, e.file]));
  const execute = o.execute ?? (async (p: PlannedRun) => runPlanned(p, files.get(p.path)!, o));
  const firstHash = new Map<string, string | undefined>();
  const runs: SuiteRun[] = [];
  const finished: (SuiteRun | undefined)[] = [];
  const started = performance.now();
  // Reports every run finished so far whose predecessors have all been reported.
  const report = () => {
    while (runs.length < plan.length && finished[runs.length]) {
      const run = finished[runs.length]!;
      const key = `${run.path}\n${run.seed}`;
      if (!run.rerun) firstHash.set(key, run.traceHash);
      else {
        // The rerun passes when it gives the first run's trace hash; its own checks were judged then.
        const before = firstHash.get(key);
        const same = run.traceHash !== undefined && run.traceHash === before;
        run.failures = same
          ? []
          : [{ check: NONDETERMINISM, message: `seed ${run.seed} gave trace ${short(before)} and then ${short(run.traceHash)}: the run is not deterministic` }];
        run.ok = same;
      }
      runs.push(run);
      o.onDone?.(run);
    }
  };
  let next = 0;
  let interrupted = false;
  const lane = async () => {
    while (next < plan.length && !interrupted) {
      const planned = plan[next++];
      o.onStart?.(planned);
      const run = await execute(planned);
      if (o.interrupted) {
        // The event loop's turn: a Ctrl-C handler may have set the flag meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (o.interrupted()) interrupted = true;
      }
      // A run cut short is left out, and with it every run after it in the sweep's order.
      if (interrupted) return;
      finished[planned.index - 1] = run;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs ?? 1, plan.length)) }, lane));
  const failed = runs.filter((r) => !r.ok).length;
  return { runs, interrupted, planned: plan.length, passed: runs.length - failed, failed, wallMs: performance.now() - started, sweepRuns: sweep.length };
}

/** Runs one planned run of `file` in this thread (what a worker of `swarmlab test --jobs N` calls too). */
export async function runPlanned(p: PlannedRun, file: ScenarioFile, o: Pick<SuiteOptions, 'runner' | 'plantedBug'>): Promise<SuiteRun> {
  const started = performance.now();
  const runner = o.runner ?? runResolved;
  let result: ScenarioResult;
  try {
    result = await runner(loadScenario(file, p.seed), p.seed, { plantedBug: o.plantedBug });
  } catch (e) {
    result = crashedRun(e, file.name, p.seed);
  }
  return suiteRunOf(p, result, performance.now() - started);
}

/** A planned run that could not be run at all (its worker process died), failed with check `crash`. */
export function crashedSuiteRun(p: PlannedRun, e: unknown, wallMs: number): SuiteRun {
  return suiteRunOf(p, crashedRun(e, p.name, p.seed), wallMs);
}

function suiteRunOf(p: PlannedRun, result: ScenarioResult, wallMs: number): SuiteRun {
  return {
    ...p,
    ok: result.ok,
    failures: result.failures,
    traceHash: result.traceHash || undefined,
    wallMs,
    violations: result.violations,
    violationCount: result.violationCount,
    ...(result.transport === 'tcp' ? { transport: 'tcp' as const } : {}),
  };
}

/**
 * Runs a scenario; if swarmlab itself throws, the run fails with check `crash` (`clock-stopped`
 * when the scheduler's guard stopped it; an empty trace hash either way) instead of taking the whole suite, or the shrinker, down with it.
 */
export function runCatchingCrash(scenario: Scenario | (() => Scenario), seed: string, options: ScenarioRunOptions = {}): ScenarioResult {
  try {
    return runResolved(typeof scenario === 'function' ? scenario() : scenario, seed, options);
  } catch (e) {
    return crashedRun(e, typeof scenario === 'function' ? '' : scenario.name, seed);
  }
}

/** The check reported when a scenario cannot run on the chosen transport. */
export const TRANSPORT = 'transport';

/** A run that threw instead of finishing, as a failed result. */
function crashedRun(e: unknown, name: string, seed: string): ScenarioResult {
  const err = e as Error;
  const at = err.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim() ?? '';
  const failure: Failure =
    err instanceof ClockStoppedError
      ? { check: CLOCK_STOPPED, t: err.time, message: err.message }
      : err instanceof TransportError
        ? { check: TRANSPORT, message: err.message }
        : { check: CRASH, message: `${err.message}${at ? ` (${at})` : ''}` };
  return { name, seed, ok: false, failures: [failure], traceHash: '', traceEvents: 0, simTime: 0, peers: [], hashFailures: 0, bans: [], violations: [], violationCount: 0, duplicateBytes: 0 };
}

const short = (hash: string | undefined) => (hash ? hash.slice(0, 12) : 'none (it crashed)');
