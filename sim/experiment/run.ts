// Runs an experiment: every sweep point under every seed, in memory on virtual time, each run's
// metrics saved as its own file under `<out>/runs/` as soon as it ends. A run whose file is already
// there (same scenario at that point, same seed, same metrics and sampling) is read back instead of
// run again: an interrupted experiment resumes where it stopped.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { inShard, type Shard } from '../scenario/shard.ts';
import { loadScenario, runResolved } from '../scenario/load.ts';
import type { Experiment, SweepPoint } from './load.ts';
import type { Swarm } from '../swarm.ts';
import { PAIR_METRICS, type RunMetrics, runMetrics } from './metrics.ts';
import { observePairs, type PairLog } from './pairs.ts';
import { type Samples, sampleSwarm } from './sampler.ts';

export interface RunRecord extends RunMetrics {
  point: number;
  label: string;
  seed: string;
  /** The scenario's own verdict (its expectations and invariants). */
  ok: boolean;
  traceHash: string;
}

export type Progress = (line: string) => void;

/**
 * Which runs this call may run: all (the default); a shard's share (`--shard I/N`: point × seed
 * slots dealt round-robin in sweep order, as `swarmlab test --shard` deals seeds), the rest left
 * out of the records; or none (`--merge`: every run must be in the folder already).
 */
export type RunSelection = { shard?: Shard; runNone?: boolean };

/** `--merge` cannot build the whole report: a folder that is not a shard's, or runs no shard holds. */
export class MergeError extends Error {}

/** Runs `--merge` needs and no shard's folder holds. */
export class MissingRunsError extends MergeError {
  constructor(readonly missing: readonly string[]) {
    super(`${missing.length} run${missing.length === 1 ? '' : 's'} of the sweep are in none of the folders merged: ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? '; …' : ''}`);
  }
}

/**
 * The run's file name: what decides its result, hashed — the point's whole scenario (so an edited
 * base runs again), the seed, the metrics and the sampling. Not the point's index, which moves
 * when a sweep gains a value.
 */
function runFile(out: string, point: SweepPoint, seed: string, experiment: Experiment): string {
  const { metrics, sampleEvery } = experiment.spec;
  const key = createHash('sha1').update(JSON.stringify([point.scenario, seed, metrics, sampleEvery])).digest('hex').slice(0, 16);
  return join(out, 'runs', `${key}.json`);
}

export function runPoint(point: SweepPoint, seed: string, experiment: Experiment): RunRecord {
  const scenario = loadScenario(point.scenario, seed);
  let samples: Samples | undefined;
  let pairs: PairLog | undefined;
  const wantsPairs = experiment.spec.metrics.some((m) => PAIR_METRICS.includes(m));
  const observe = (swarm: Swarm) => {
    samples = sampleSwarm(swarm, experiment.spec.sampleEvery);
    if (wantsPairs) pairs = observePairs(swarm);
  };
  const result = runResolved(scenario, seed, { observe });
  pairs?.close(result.simTime);
  const metrics = runMetrics(scenario, result, samples!, experiment.spec.metrics, pairs);
  return { point: point.index, label: point.label, seed, ok: result.ok, traceHash: result.traceHash, ...metrics };
}

/** Runs (or reads back) every point × seed, in sweep order; `progress` gets one line per run. */
export function runExperiment(experiment: Experiment, out: string, progress: Progress = () => {}, select: RunSelection = {}): RunRecord[] {
  const plan = planRuns(experiment, out, progress, select);
  for (const run of plan.toRun) {
    const started = performance.now();
    plan.done(run, runPoint(run.point, run.seed, experiment), started);
  }
  return plan.records();
}

/**
 * As `runExperiment`, with each run handed to `runOne` (`swarmlab experiment --jobs N`: a worker
 * process), up to as many at once as it takes; the records come back in sweep order all the same,
 * each run's file written as it ends.
 */
export async function runExperimentWith(
  experiment: Experiment,
  out: string,
  runOne: (point: SweepPoint, seed: string) => Promise<{ record: RunRecord; ms: number }>,
  progress: Progress = () => {},
  select: RunSelection = {},
): Promise<RunRecord[]> {
  const plan = planRuns(experiment, out, progress, select);
  await Promise.all(
    plan.toRun.map(async (run) => {
      // `ms`: the run's own time in its worker, not its wait in the pool's queue.
      const { record, ms } = await runOne(run.point, run.seed);
      plan.done(run, record, performance.now() - ms);
    }),
  );
  return plan.records();
}

interface PlannedExperimentRun {
  /** Its place in sweep order. */
  slot: number;
  point: SweepPoint;
  seed: string;
  file: string;
}

/**
 * A run's file read back as the run it holds. JSON writes a NaN (a median of no completions) as
 * null; it is NaN again here, so a run read back writes the same results as the run itself.
 */
function readRunFile(file: string): RunRecord {
  return JSON.parse(readFileSync(file, 'utf8'), (_key, value: unknown) => (value === null ? NaN : value)) as RunRecord;
}

/**
 * Every point × seed of the selection: those already in `out` read back (and told), the others to
 * run. The records are in sweep order; a shard's leave out the other shards' runs.
 */
function planRuns(experiment: Experiment, out: string, progress: Progress, select: RunSelection) {
  mkdirSync(join(out, 'runs'), { recursive: true });
  const all = experiment.points.length * experiment.spec.seeds.length;
  const mine = (slot: number) => !select.shard || inShard(slot, select.shard);
  const total = select.shard ? Array.from({ length: all }, (_, i) => i).filter(mine).length : all;
  const slots: (RunRecord | undefined)[] = [];
  const toRun: PlannedExperimentRun[] = [];
  const missing: string[] = [];
  let finished = 0;
  let order = 0;
  for (const point of experiment.points) {
    for (const seed of experiment.spec.seeds) {
      if (!mine(order++)) continue;
      const file = runFile(out, point, seed, experiment);
      const slot = slots.length;
      slots.push(undefined);
      if (existsSync(file)) {
        slots[slot] = { ...readRunFile(file), point: point.index };
        progress(`[${++finished}/${total}] ${point.label} seed ${seed}: already done`);
        continue;
      }
      if (select.runNone) missing.push(`${point.label} seed ${seed}`);
      toRun.push({ slot, point, seed, file });
    }
  }
  if (missing.length > 0) throw new MissingRunsError(missing);
  return {
    toRun,
    done(run: PlannedExperimentRun, record: RunRecord, started: number): void {
      // Written whole, then renamed: an interrupted write leaves no half file to read back.
      writeFileSync(`${run.file}.part`, JSON.stringify(record));
      renameSync(`${run.file}.part`, run.file);
      slots[run.slot] = record;
      progress(`[${++finished}/${total}] ${run.point.label} seed ${run.seed}: ${record.values.completed}/${record.values.leechers} complete, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    },
    records: (): RunRecord[] => slots.map((r) => r!),
  };
}

/**
 * `swarmlab experiment --merge`: copies into `out/runs/` the run files the shards wrote in their
 * own folders (a run's file name is the hash of what decides it, so the same run has the same name
 * on every machine, and a file of another experiment is never read). Returns how many it copied.
 */
export function collectShardRuns(out: string, folders: readonly string[]): number {
  mkdirSync(join(out, 'runs'), { recursive: true });
  let copied = 0;
  for (const folder of folders) {
    const runs = join(folder, 'runs');
    if (!existsSync(runs)) throw new MergeError(`${folder} holds no runs/ folder (is it the output of experiment --shard?)`);
    for (const name of readdirSync(runs)) {
      if (!/^[0-9a-f]{16}\.json$/.test(name)) continue;
      const to = join(out, 'runs', basename(name));
      if (existsSync(to)) continue;
      copyFileSync(join(runs, name), to);
      copied++;
    }
  }
  return copied;
}
