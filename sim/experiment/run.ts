// Runs an experiment: every sweep point under every seed, in memory on virtual time, each run's
// metrics saved as its own file under `<out>/runs/` as soon as it ends. A run whose file is already
// there (same scenario at that point, same seed, same metrics and sampling) is read back instead of
// run again: an interrupted experiment resumes where it stopped.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, runResolved } from '../scenario/load.ts';
import type { Experiment, SweepPoint } from './load.ts';
import { type RunMetrics, runMetrics } from './metrics.ts';
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
  const result = runResolved(scenario, seed, { observe: (swarm) => (samples = sampleSwarm(swarm, experiment.spec.sampleEvery)) });
  const metrics = runMetrics(scenario, result, samples!, experiment.spec.metrics);
  return { point: point.index, label: point.label, seed, ok: result.ok, traceHash: result.traceHash, ...metrics };
}

/** Runs (or reads back) every point × seed, in sweep order; `progress` gets one line per run. */
export function runExperiment(experiment: Experiment, out: string, progress: Progress = () => {}): RunRecord[] {
  const plan = planRuns(experiment, out, progress);
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
export async function runExperimentWith(experiment: Experiment, out: string, runOne: (point: SweepPoint, seed: string) => Promise<{ record: RunRecord; ms: number }>, progress: Progress = () => {}): Promise<RunRecord[]> {
  const plan = planRuns(experiment, out, progress);
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

/** Every point × seed: those already in `out` read back (and told), the others to run. */
function planRuns(experiment: Experiment, out: string, progress: Progress) {
  mkdirSync(join(out, 'runs'), { recursive: true });
  const total = experiment.points.length * experiment.spec.seeds.length;
  const slots: (RunRecord | undefined)[] = [];
  const toRun: PlannedExperimentRun[] = [];
  let finished = 0;
  for (const point of experiment.points) {
    for (const seed of experiment.spec.seeds) {
      const file = runFile(out, point, seed, experiment);
      const slot = slots.length;
      slots.push(undefined);
      if (existsSync(file)) {
        slots[slot] = { ...(JSON.parse(readFileSync(file, 'utf8')) as RunRecord), point: point.index };
        progress(`[${++finished}/${total}] ${point.label} seed ${seed}: already done`);
        continue;
      }
      toRun.push({ slot, point, seed, file });
    }
  }
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
