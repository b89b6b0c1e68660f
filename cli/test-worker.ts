// A worker process of `swarmlab test --jobs N` (cli/test-pool.ts): runs one planned in-memory run,
// as the suite would in its own thread, and hands back its result. Loaded by its file path, not
// imported (npm run build compiles it as an entry of its own: tsconfig.build.json).

import { loadScenarioFile, type ScenarioFile } from '../sim/scenario/load.ts';
import { type PlannedRun, runPlanned, type SuiteRun } from '../sim/scenario/suite.ts';
import type { PlantedBug } from './scenario-args.ts';

export interface WorkerTask {
  /** The file is read again here, by its path: a parsed scenario holds class instances, which would not survive the copy to this process. */
  run: PlannedRun;
  plantedBug?: PlantedBug;
}

// Ctrl-C in a terminal reaches every process of the group: the parent decides what an
// interruption does (the summary of the runs done, then it ends this pool), not each worker.
process.on('SIGINT', () => {});

/** This process's scenario files, read once each. The parent read them all before any run started. */
const files = new Map<string, ScenarioFile>();

export default function runTask(task: WorkerTask): Promise<SuiteRun> {
  const { path } = task.run;
  if (!files.has(path)) files.set(path, loadScenarioFile(path));
  return runPlanned(task.run, files.get(path)!, { plantedBug: task.plantedBug });
}
