// `swarmlab experiment <file>`: runs a parameter sweep (sim/experiment/) and writes its report,
// results.csv and results.json into a folder. Runs already in the folder are not run again.

import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ScenarioFileError } from '../sim/scenario/load.ts';
import { type Experiment, loadExperimentFile } from '../sim/experiment/load.ts';
import { writeResults } from '../sim/experiment/output.ts';
import { type RunRecord, runExperiment, runExperimentWith } from '../sim/experiment/run.ts';
import type { ExperimentTask } from './experiment-worker.ts';
import { jobCount } from './option-parsers.ts';
import { workerPool } from './test-pool.ts';
import { EXIT_BAD_FILE } from './scenario-args.ts';

export function registerExperiment(program: Command): void {
  program
    .command('experiment')
    .description('run an experiment file: a base scenario swept over values and seeds; write report.html, results.csv and results.json')
    .argument('<file>', 'the experiment file (.yaml)')
    .option('-o, --output <folder>', 'where to write the results (default: <file name>-results); runs already there are kept')
    .option('--quiet', 'no progress lines')
    .option('--check', 'exit 1 when the verdict says the claim does not reproduce')
    .option('--jobs <n>', 'run N sweep runs at once, on worker processes (results are the same as with 1)', jobCount, 1)
    .action(async (file: string, flags: { output?: string; quiet?: boolean; check?: boolean; jobs: number }) => {
      let experiment: Experiment;
      try {
        experiment = loadExperimentFile(file);
      } catch (e) {
        if (!(e instanceof ScenarioFileError)) throw e;
        console.error(e.message);
        process.exitCode = EXIT_BAD_FILE;
        return;
      }
      const out = flags.output ?? `${basename(file, extname(file))}-results`;
      const progress = flags.quiet ? undefined : (line: string) => console.error(line);
      let records: RunRecord[];
      if (flags.jobs <= 1) records = runExperiment(experiment, out, progress);
      else {
        const pool = workerPool('experiment-worker', flags.jobs);
        try {
          const path = resolve(file);
          records = await runExperimentWith(experiment, out, (point, seed) => pool.run({ file: path, point: point.index, seed } satisfies ExperimentTask), progress);
        } finally {
          await pool.destroy();
        }
      }
      const { verdict } = writeResults(experiment, records, out);
      if (verdict) console.log(`${experiment.spec.name}: ${verdict.line}`);
      console.log(`report: ${join(out, 'report.html')}`);
      // A claim that does not reproduce is a finding, not an error, unless asked (`--check`, as in CI).
      if (flags.check && verdict && !verdict.reproduces) process.exitCode = 1;
    });
}
