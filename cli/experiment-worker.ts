// A worker process of `swarmlab experiment --jobs N` (cli/test-pool.ts `workerPool`): runs one point of an
// experiment under one seed, as `runExperiment` would here, and hands back its record. Loaded by
// its file path, not imported (npm run build compiles it as an entry of its own: tsconfig.build.json).

import { type Experiment, loadExperimentFile } from '../sim/experiment/load.ts';
import { type RunRecord, runPoint } from '../sim/experiment/run.ts';

export interface ExperimentTask {
  /** The experiment file, read again here: a loaded experiment holds class instances, which would not survive the copy. */
  file: string;
  /** The sweep point's index. */
  point: number;
  seed: string;
}

// Ctrl-C reaches the whole process group: the parent decides what an interruption does.
process.on('SIGINT', () => {});

const experiments = new Map<string, Experiment>();

export default function runTask(task: ExperimentTask): { record: RunRecord; ms: number } {
  if (!experiments.has(task.file)) experiments.set(task.file, loadExperimentFile(task.file));
  const experiment = experiments.get(task.file)!;
  const point = experiment.points.find((p) => p.index === task.point);
  if (!point) throw new Error(`experiment worker: ${task.file} has no sweep point ${task.point}`);
  const started = performance.now();
  const record = runPoint(point, task.seed, experiment);
  return { record, ms: performance.now() - started };
}
