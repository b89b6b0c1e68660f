// `swarmlab test [files or folders]`: every scenario on its listed seeds and --seeds K more, one seed
// run twice to check determinism, a progress line as it goes, and for each failure the seed, what
// failed and the one command that reproduces it. Exit 0 when all pass, 1 on any failure, 2 when a
// file is not a valid scenario (then nothing runs).

import { closeSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { runFileStem } from '../sim/scenario/file-names.ts';
import { describeFailure, reproduceCommand } from '../sim/scenario/report.ts';
import { type PlannedRun, planSweep, runPlanned, runSuite, type SuiteRun } from '../sim/scenario/suite.ts';
import { runScenario } from '../sim/scenario/load.ts';
import { junitXml } from './junit.ts';
import { TraceFile } from './trace-file.ts';
import { writeReport } from './viz.ts';
import { jobCount, positiveInt, shardOption, transportOption } from './option-parsers.ts';
import type { Shard } from '../sim/scenario/shard.ts';
import { testPool } from './test-pool.ts';
import { suiteJson, sweepId } from './test-results.ts';
import { transportOf } from '../sim/scenario/transport.ts';
import type { Transport } from '../sim/scenario/types.ts';
import { runScenarioOnTcp } from '../sim/tcp/run.ts';
import { runResolved, runResolvedInSlices } from '../sim/scenario/load.ts';
import { interruptFlag } from './live-common.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, InputError } from './input-error.ts';
import { EXIT_BAD_FILE, loadAll, type PlantedBug, plantedBugOption } from './scenario-args.ts';

interface TestFlags {
  seeds: number;
  firstSeed: number;
  junit?: string;
  plantedBug?: string;
  transport?: Transport;
  /** Folder for a replay page per failing run, or false (--no-reports). */
  reports: string | false;
  /** One JSON object instead of the progress and summary (no replay pages). */
  json?: boolean;
  /** Runs at once, on worker processes when more than 1. */
  jobs: number;
  shard?: Shard;
  /** Where to write the JSON object of --json as well (what `swarmlab merge` reads). */
  results?: string;
}

/** At most this many failing runs get a replay page (each is run again, with its trace). */
const MAX_REPORTS = 10;

/** Failures listed per run in the summary; the reproduce command (and JUnit) show them all. */
const MAX_LISTED = 8;

const SCENARIO_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('run scenario files on their listed seeds and K more; check determinism; report failures with the command that reproduces each')
    .argument('[paths...]', 'scenario files or folders of them (default: scenarios/)')
    .option('--seeds <k>', 'run each scenario on K more seeds than it lists', positiveInt, 0)
    .option('--first-seed <n>', 'the extra seeds count up from this one', positiveInt, 1)
    .option('--junit <file>', 'also write a JUnit XML report')
    .option('--reports <dir>', 'write a replay page (trace + visualizer, one HTML file) for each failing run', 'out/reports')
    .option('--no-reports', 'write no replay pages')
    .option('--transport <memory|tcp>', "run every scenario on this transport (default: each file's, else memory); TCP runs are not run twice for determinism", transportOption)
    .option('--json', "print one JSON object — every run's seed, result, failures and wire violations — instead of the progress and summary (no replay pages)")
    .option('--jobs <n>', 'run N scenario runs at once, on worker processes (results are the same as with 1)', jobCount, 1)
    .option('--shard <i/n>', "run only this machine's share of the runs: shard I of N (seeds dealt round-robin); merge the shards' --results with swarmlab merge", shardOption)
    .option('--results <file>', 'also write the results as the JSON object --json prints (what swarmlab merge reads)')
    .addOption(plantedBugOption())
    .action((paths: string[], flags: TestFlags) => test(paths.length ? paths : ['scenarios'], flags));
}

/** Runs a failing scenario again with its trace on, and writes the trace and its replay page. */
async function writeFailureReport(run: SuiteRun, dir: string, plantedBug: string | undefined): Promise<string> {
  const base = join(dir, runFileStem(run.name, run.seed));
  mkdirSync(dir, { recursive: true });
  const trace = new TraceFile(`${base}.jsonl`);
  try {
    runScenario(run.path, run.seed, { traceOut: trace.write, plantedBug: plantedBug as PlantedBug });
  } finally {
    trace.close();
  }
  await writeReport(`${base}.jsonl`, `${base}.html`);
  return `${base}.html`;
}

/** The scenario files named, folders searched recursively, in a stable order. */
export function scenarioFiles(paths: string[]): string[] | undefined {
  const files: string[] = [];
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      console.error(`swarmlab test: ${path}: no such file or folder`);
      return undefined;
    }
    if (!stat.isDirectory()) files.push(path);
    else {
      const found = readdirSync(path, { recursive: true, encoding: 'utf8' }).filter((f) => SCENARIO_EXTENSIONS.has(extname(f).toLowerCase()));
      files.push(...found.sort().map((f) => join(path, f)));
    }
  }
  return files;
}

/** Fails at once, before any run, if the JUnit report could not be written at the end. */
export function checkWritable(path: string, option: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
  } catch (err) {
    throw new InputError(`${option} ${path}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

async function test(paths: string[], flags: TestFlags): Promise<void> {
  if (flags.junit) checkWritable(flags.junit, '--junit');
  const files = scenarioFiles(paths);
  if (!files) {
    process.exitCode = EXIT_BAD_FILE;
    return;
  }
  const entries = loadAll(files);
  if (!entries) return;
  if (entries.length === 0) {
    console.error(`swarmlab test: no scenario files in ${paths.join(', ')}`);
    process.exitCode = EXIT_BAD_FILE;
    return;
  }
  const progress = new Progress(process.stdout.isTTY === true && !flags.json, flags.plantedBug, flags.json === true);
  const tcpFile = (file: (typeof entries)[number]['file']) => (flags.transport ?? file.transport ?? 'memory') === 'tcp';
  const planning = { replayable: (file: (typeof entries)[number]['file']) => !tcpFile(file), extraSeeds: flags.seeds, firstSeed: flags.firstSeed };
  const sweep = { id: sweepId(planSweep(entries, planning)), shard: flags.shard, plantedBug: flags.plantedBug };
  const byPath = new Map(entries.map((e) => [e.path, e.file]));
  // Ctrl-C ends the run under way (left out) and the suite: the summary of the runs done, the
  // JUnit report of them, exit 130. A second Ctrl-C exits at once.
  const interrupt = interruptFlag();
  const runner = (scenario: Parameters<typeof runResolved>[0], seed: string, options: Parameters<typeof runResolved>[2]) =>
    transportOf(scenario, flags.transport) === 'tcp' ? runScenarioOnTcp(scenario, seed) : runResolvedInSlices(scenario, seed, options ?? {}, { interrupted: interrupt.interrupted });
  const plantedBug = flags.plantedBug as PlantedBug;
  const pool =
    flags.jobs > 1
      ? testPool({ jobs: flags.jobs, plantedBug, inThisThread: (run) => tcpFile(byPath.get(run.path)!), runHere: (run) => runPlanned(run, byPath.get(run.path)!, { runner, plantedBug }) })
      : undefined;
  const suite = await runSuite(entries, {
    ...planning,
    runner,
    plantedBug,
    shard: flags.shard,
    jobs: flags.jobs,
    execute: pool?.execute,
    onStart: (run) => progress.start(run),
    onDone: (run) => progress.done(run),
    interrupted: interrupt.interrupted,
  }).finally(() => {
    interrupt.stop();
    return pool?.close();
  });
  progress.end();
  const exitCode = suite.interrupted ? EXIT_INTERRUPTED : suite.failed > 0 ? EXIT_FAILED : EXIT_OK;
  if (flags.results) {
    mkdirSync(dirname(flags.results), { recursive: true });
    writeFileSync(flags.results, `${JSON.stringify(suiteJson(suite, sweep))}\n`);
  }

  const failed = suite.runs.filter((r) => !r.ok);
  if (flags.json) {
    if (flags.junit) {
      mkdirSync(dirname(flags.junit), { recursive: true });
      writeFileSync(flags.junit, junitXml(suite, flags.plantedBug));
    }
    console.log(JSON.stringify(suiteJson(suite, sweep)));
    process.exitCode = exitCode;
    return;
  }
  const replays = new Map<SuiteRun, string>();
  if (failed.length) {
    console.log(`\nfailures (${failed.length}):`);
    let reports = 0;
    for (const run of failed) {
      console.log(`\n  ${run.name}, ${label(run)} (${run.path})`);
      for (const f of run.failures.slice(0, MAX_LISTED)) console.log(`    ${describeFailure(f)}`);
      if (run.failures.length > MAX_LISTED) console.log(`    … and ${run.failures.length - MAX_LISTED} more (the command shows them all)`);
      if (run.traceHash) console.log(`    trace sha256: ${run.traceHash}`);
      const tcp = tcpFile(entries.find((e) => e.path === run.path)!.file);
      console.log(`    reproduce: ${reproduceCommand(run.path, run.seed, flags.plantedBug, tcp ? 'tcp' : undefined)}`);
      if (tcp) console.log('    replay: not written (a TCP run is not byte-replayable; run the command above with --report)');
      else if (suite.interrupted) console.log('    replay: not written (interrupted; run the command above with --report)');
      else if (flags.reports !== false && !run.rerun && reports < MAX_REPORTS && run.traceHash) {
        reports++;
        try {
          const page = await writeFailureReport(run, flags.reports, flags.plantedBug);
          replays.set(run, page);
          console.log(`    replay: ${page}`);
        } catch (err) {
          console.log(`    replay: not written (${(err as Error).message})`);
        }
      }
    }
  }
  if (flags.junit) {
    mkdirSync(dirname(flags.junit), { recursive: true });
    writeFileSync(flags.junit, junitXml(suite, flags.plantedBug, replays));
  }
  const interrupted = suite.interrupted ? ` (interrupted: ${suite.runs.length} of ${suite.planned} planned runs done)` : '';
  console.log(`\nswarmlab test: ${entries.length} scenario${entries.length === 1 ? '' : 's'}, ${suite.runs.length} runs in ${(suite.wallMs / 1000).toFixed(1)} s${interrupted}${flags.junit ? `; JUnit report in ${flags.junit}` : ''}`);
  console.log(`${suite.passed} passed, ${suite.failed} failed`);
  process.exitCode = exitCode;
}

const label = (run: PlannedRun) => (run.rerun ? `determinism (seed ${run.seed} twice)` : `seed ${run.seed}`);

/** One updating line on a terminal; otherwise one plain line per run. Failures always get a line. */
class Progress {
  private failed = 0;
  private readonly width: number;

  constructor(
    private readonly tty: boolean,
    private readonly plantedBug?: string,
    /** Print nothing (`--json`). */
    private readonly quiet = false,
  ) {
    this.width = Math.max(20, (process.stdout.columns || 100) - 1);
  }

  private counter(run: PlannedRun): string {
    const n = String(run.total).length;
    return `[${String(run.index).padStart(n)}/${run.total}]`;
  }

  start(run: PlannedRun): void {
    if (!this.tty) return;
    const failed = this.failed ? `  ${this.failed} failed` : '';
    this.status(`${this.counter(run)} ${run.name}, ${label(run)} …${failed}`);
  }

  done(run: SuiteRun): void {
    if (!run.ok) this.failed++;
    if (this.quiet) return;
    const time = `${(run.wallMs / 1000).toFixed(1)} s`;
    if (run.ok && this.tty) return;
    const head = `${this.counter(run)} ${run.ok ? 'ok  ' : 'FAIL'}  ${run.name.padEnd(24)} ${label(run).padEnd(14)} ${time.padStart(7)}`;
    if (this.tty) this.status('');
    console.log(run.ok ? head : `${head}  ${describeFailure(run.failures[0])}${run.failures.length > 1 ? ` (+${run.failures.length - 1} more)` : ''}`);
    if (!run.ok) console.log(`        reproduce: ${reproduceCommand(run.path, run.seed, this.plantedBug, run.transport)}`);
  }

  end(): void {
    if (this.tty) this.status('');
  }

  private status(text: string): void {
    process.stdout.write(`\r\x1b[2K${text.slice(0, this.width)}`);
  }
}
