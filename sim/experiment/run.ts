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
  mkdirSync(join(out, 'runs'), { recursive: true });
  const total = experiment.points.length * experiment.spec.seeds.length;
  const records: RunRecord[] = [];
  for (const point of experiment.points) {
    for (const seed of experiment.spec.seeds) {
      const file = runFile(out, point, seed, experiment);
      const n = `[${records.length + 1}/${total}]`;
      if (existsSync(file)) {
        records.push({ ...(JSON.parse(readFileSync(file, 'utf8')) as RunRecord), point: point.index });
        progress(`${n} ${point.label} seed ${seed}: already done`);
        continue;
      }
      const started = performance.now();
      const record = runPoint(point, seed, experiment);
      // Written whole, then renamed: an interrupted write leaves no half file to read back.
      writeFileSync(`${file}.part`, JSON.stringify(record));
      renameSync(`${file}.part`, file);
      records.push(record);
      progress(`${n} ${point.label} seed ${seed}: ${record.values.completed}/${record.values.leechers} complete, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  return records;
}
