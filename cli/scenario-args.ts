// What the scenario commands (run, test, shrink) share: reading files with errors a person can
// act on, and the test-only switch that plants a known engine bug.

import { Option } from 'commander';
import { PLANTED_BUGS } from '../engine/test-hooks.ts';
import { loadScenarioFile, type ScenarioFile, ScenarioFileError, type ScenarioRunOptions, warningsOf } from '../sim/scenario/load.ts';

/** Exit code for a scenario file that is not valid (nothing ran). 1 is for a run that failed. */
export const EXIT_BAD_FILE = 2;

export type PlantedBug = ScenarioRunOptions['plantedBug'];

/** `--planted-bug <name>`: TEST ONLY, hidden from help; see engine/test-hooks.ts. */
export function plantedBugOption(): Option {
  return new Option('--planted-bug <name>', 'TEST ONLY: plant a known engine bug').choices(Object.keys(PLANTED_BUGS)).hideHelp();
}

/** Loads each file (printing its warnings on stderr), or prints every problem of every bad file and returns undefined. */
export function loadAll(paths: string[]): { path: string; file: ScenarioFile }[] | undefined {
  const loaded: { path: string; file: ScenarioFile }[] = [];
  let bad = false;
  for (const path of paths) {
    try {
      const file = loadScenarioFile(path);
      for (const w of warningsOf(file)) console.error(w);
      loaded.push({ path, file });
    } catch (e) {
      if (!(e instanceof ScenarioFileError)) throw e;
      console.error(e.message);
      bad = true;
    }
  }
  if (!bad) return loaded;
  process.exitCode = EXIT_BAD_FILE;
  return undefined;
}
