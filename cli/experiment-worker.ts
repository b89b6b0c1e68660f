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
  /** `--full`: the file's full version. */
  full: boolean;
}

// Ctrl-C reaches the whole process group: the parent decides what an interruption does.
process.on('SIGINT', () => {});

const experiments = new Map<string, Experiment>();

export default function runTask(task: ExperimentTask): { record: RunRecord; ms: number } {
  const key = `${task.full ? 'full' : 'small'}:${task.file}`;
  if (!experiments.has(key)) experiments.set(key, loadExperimentFile(task.file, { full: task.full }));
  const experiment = experiments.get(key)!;
  const point = experiment.points.find((p) => p.index === task.point);
  if (!point) throw new Error(`experiment worker: ${task.file} has no sweep point ${task.point}`);
  const started = performance.now();
  const record = runPoint(point, task.seed, experiment);
  return { record, ms: performance.now() - started };
}
