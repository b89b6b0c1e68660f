// `swarmlab experiment <file>`: runs a parameter sweep (sim/experiment/) and writes its report,
// results.csv and results.json into a folder. Runs already in the folder are not run again.

import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ScenarioFileError } from '../sim/scenario/load.ts';
import { type Experiment, loadExperimentFile } from '../sim/experiment/load.ts';
import { writeResults } from '../sim/experiment/output.ts';
import { collectShardRuns, MergeError, type RunRecord, type RunSelection, runExperiment, runExperimentWith } from '../sim/experiment/run.ts';
import { formatShard, type Shard } from '../sim/scenario/shard.ts';
import type { ExperimentTask } from './experiment-worker.ts';
import { jobCount, shardOption } from './option-parsers.ts';
import { workerPool } from './test-pool.ts';
import { EXIT_BAD_FILE } from './scenario-args.ts';

export function registerExperiment(program: Command): void {
  program
    .command('experiment')
    .description('run an experiment file: a base scenario swept over values and seeds; write report.html, results.csv and results.json')
    .argument('<file>', 'the experiment file (.yaml)')
    .option('-o, --output <folder>', 'where to write the results (default: <file name>-results); runs already there are kept')
    .option('--full', "run the file's full version (its `full:` seeds, sweep and values), not the small one CI runs")
    .option('--quiet', 'no progress lines')
    .option('--check', 'exit 1 when the verdict says the claim does not reproduce')
    .option('--jobs <n>', 'run N sweep runs at once, on worker processes (results are the same as with 1)', jobCount, 1)
    .option('--shard <i/n>', "run only this machine's share of the runs (point × seed dealt round-robin) into the output folder; no report: merge the shards' folders with --merge", shardOption)
    .option('--merge <folders...>', "run nothing: gather the runs the shards' folders hold and write the whole report (an error if any run is missing)")
    .action(async (file: string, flags: { output?: string; full?: boolean; quiet?: boolean; check?: boolean; jobs: number; shard?: Shard; merge?: string[] }) => {
      let experiment: Experiment;
      try {
        experiment = loadExperimentFile(file, { full: flags.full });
      } catch (e) {
        if (!(e instanceof ScenarioFileError)) throw e;
        console.error(e.message);
        process.exitCode = EXIT_BAD_FILE;
        return;
      }
      if (flags.shard && flags.merge) {
        console.error('experiment: --shard runs one share and --merge gathers the shares: give one of them');
        process.exitCode = EXIT_BAD_FILE;
        return;
      }
      const out = flags.output ?? `${basename(file, extname(file))}${experiment.full ? '-full' : ''}-results`;
      const progress = flags.quiet ? undefined : (line: string) => console.error(line);
      const select: RunSelection = { shard: flags.shard, runNone: flags.merge !== undefined };
      let records: RunRecord[];
      try {
        if (flags.merge) collectShardRuns(out, flags.merge);
        if (flags.jobs <= 1 || flags.merge) records = runExperiment(experiment, out, progress, select);
        else {
          const pool = workerPool('experiment-worker', flags.jobs);
          try {
            const path = resolve(file);
            records = await runExperimentWith(experiment, out, (point, seed) => pool.run({ file: path, point: point.index, seed, full: experiment.full } satisfies ExperimentTask), progress, select);
          } finally {
            await pool.destroy();
          }
        }
      } catch (e) {
        if (!(e instanceof MergeError)) throw e;
        console.error(`experiment --merge: ${e.message}`);
        process.exitCode = EXIT_BAD_FILE;
        return;
      }
      if (flags.shard) {
        console.log(`${experiment.spec.name}: shard ${formatShard(flags.shard)}: ${records.length} runs in ${join(out, 'runs')}; once every shard is done: swarmlab experiment ${file} --merge <each shard's folder> -o <folder>`);
        return;
      }
      const { verdict } = writeResults(experiment, records, out);
      if (verdict) console.log(`${experiment.spec.name}: ${verdict.line}`);
      console.log(`report: ${join(out, 'report.html')}`);
      // A claim that does not reproduce is a finding, not an error, unless asked (`--check`, as in CI).
      if (flags.check && verdict && !verdict.reproduces) process.exitCode = 1;
    });
}
