// `swarmlab run`: one simulated swarm, its summary, and the command that reproduces it.

import { type Command, Option } from 'commander';
import { traceFileStem } from '../sim/scenario/file-names.ts';
import { traceFailures } from '../sim/scenario/failure-trace.ts';
import { interruptedFailure } from '../sim/scenario/run.ts';
import { limitNote, SCENARIO_LIMITS } from '../sim/scenario/limits.ts';
import { swarmlabCommand } from '../sim/scenario/report.ts';
import { Swarm, type SwarmResult, swarmOf } from '../sim/swarm.ts';
import { SwarmWireChecks } from '../sim/wire-checks.ts';
import type { WireViolationLog } from '../sim/wire-checker.ts';
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from './input-error.ts';
import { interruptFlag } from './live-common.ts';
import { positiveInt, seedArg, transportOption } from './option-parsers.ts';
import { RunProgress } from './run-progress.ts';
import { runScenarioFile } from './run-scenario.ts';
import { plantedBugOption } from './scenario-args.ts';
import { TraceFile } from './trace-file.ts';
import { writeReport } from './viz.ts';
import { duplicateSummary } from './run-scenario.ts';

export interface RunFlags {
  seed: string;
  seeders: number;
  peers: number;
  /** A path, undefined for the default path, or false (--no-trace). */
  trace?: string | false;
  json?: boolean;
  report?: string;
  transport?: 'memory' | 'tcp';
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a scenario file, or without one a simulated swarm (default: 1 seed, 20 leechers, 8 MiB), and print the result')
    .argument('[scenario]', 'a scenario file (YAML or JSON); see docs/scenarios.md')
    .option('--seed <n>', 'the seed every random choice derives from (a scenario: default its first listed seed)', seedArg, '1')
    .option('--seeders <n>', 'number of seeding peers (default swarm only)', positiveInt, 1)
    .option('--peers <n>', 'number of leechers (default swarm only)', positiveInt, 20)
    .option('--trace <file>', 'where to write the trace; a name ending .gz is gzip (default: out/swarm-<S>seeders-<P>peers-seed<N>.jsonl; a scenario: out/<name>-<P>peers-seed<N>.jsonl)')
    .option('--no-trace', 'write no trace file (the trace hash is still printed)')
    // `--seeds` was the seeding peers once; `swarmlab test --seeds` is a number of random seeds.
    .addOption(new Option('--seeds <n>').hideHelp())
    .option('--json', 'print one JSON object instead of the summary')
    .option('--report <file>', 'also write the replay page for the trace (one self-contained HTML file)')
    .option('--transport <memory|tcp>', "a scenario's transport: memory (virtual time, byte-replayable) or tcp (real loopback sockets, real time); default: the file's, else memory", transportOption)
    .addOption(plantedBugOption())
    .action(async (scenario: string | undefined, flags: RunFlags & { plantedBug?: string }, cmd: Command) => {
      if (cmd.getOptionValueSource('seeds') === 'cli') cmd.error('error: run has no --seeds: the number of seeding peers is --seeders (swarmlab test --seeds is a number of random seeds)', { exitCode: EXIT_BAD_INPUT });
      if (scenario !== undefined) {
        if (cmd.getOptionValueSource('seeders') === 'cli' || cmd.getOptionValueSource('peers') === 'cli') cmd.error('error: --seeders and --peers are for the default swarm; a scenario file sets its own groups', { exitCode: EXIT_BAD_INPUT });
        if (flags.trace === false && flags.report) cmd.error('error: --report needs the trace: drop --no-trace', { exitCode: EXIT_BAD_INPUT });
        const seed = cmd.getOptionValueSource('seed') === 'default' ? undefined : flags.seed;
        const run = await runScenarioFile(scenario, { ...flags, seed });
        if (run?.tracePath && flags.report) await writeReport(run.tracePath, flags.report);
        if (run && flags.report && !flags.json) console.log(`report: ${flags.report}`);
        return;
      }
      if (flags.transport === 'tcp') cmd.error('error: --transport tcp runs a scenario file; the default swarm on TCP is scenarios/default.yaml: swarmlab run scenarios/default.yaml --transport tcp', { exitCode: EXIT_BAD_INPUT });
      if (flags.trace === false && flags.report) cmd.error('error: --report needs the trace: drop --no-trace', { exitCode: EXIT_BAD_INPUT });
      const maxPeers = SCENARIO_LIMITS.peers.value;
      if (flags.seeders + flags.peers > maxPeers) {
        cmd.error(`error: --seeders ${flags.seeders} and --peers ${flags.peers} make ${flags.seeders + flags.peers} peers; at most ${maxPeers} ${limitNote('peers', maxPeers)}`, { exitCode: EXIT_BAD_INPUT });
      }
      process.exitCode = await runDefaultSwarm(flags);
    });
}

/** The default swarm: its summary (or JSON), the trace, and exit 0, 1, or 130 on Ctrl-C. */
async function runDefaultSwarm(flags: RunFlags): Promise<number> {
  const tracePath = flags.trace === false ? undefined : (flags.trace ?? `out/${traceFileStem(`swarm-${flags.seeders}seeders`, flags.peers, flags.seed)}.jsonl`);
  const file = tracePath ? new TraceFile(tracePath) : undefined;
  const started = performance.now();
  const swarm = new Swarm(swarmOf(String(flags.seed), flags.seeders, flags.peers, { traceOut: file?.write }));
  const wire = new SwarmWireChecks(swarm);
  const interrupt = interruptFlag();
  const progress = new RunProgress(!flags.json && process.stderr.isTTY === true);
  let result: SwarmResult;
  try {
    // Ctrl-C ends the run where it is; its trace ends with a `failure` event, check `interrupted`.
    const markPartial = () => interrupt.interrupted() && traceFailures(swarm.traceSink, swarm.scheduler.now(), [interruptedFailure(swarm.scheduler.now())]);
    result = await swarm.runInSlices(undefined, markPartial, { interrupted: interrupt.interrupted, onSlice: progress.update });
  } finally {
    interrupt.stop();
    progress.end();
    file?.close();
  }
  const interrupted = interrupt.interrupted();
  const wallMs = performance.now() - started;
  if (flags.report && tracePath) await writeReport(tracePath, flags.report);
  const command = reproduceCommand(flags);
  if (flags.json) console.log(JSON.stringify(toJson(result, wire.log, tracePath, command, wallMs, interrupted)));
  else printSummary(result, wire.log, tracePath, command, wallMs, interrupted);
  if (flags.report && !flags.json) console.log(`report: ${flags.report}`);
  return interrupted ? EXIT_INTERRUPTED : result.complete ? EXIT_OK : EXIT_FAILED;
}

export function reproduceCommand(f: RunFlags): string {
  const parts = [`${swarmlabCommand()} run`, `--seed ${f.seed}`];
  if (f.seeders !== 1) parts.push(`--seeders ${f.seeders}`);
  if (f.peers !== 20) parts.push(`--peers ${f.peers}`);
  return parts.join(' ');
}

const secs = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2) + ' s');
const mib = (b: number) => (b / 1048576).toFixed(2);

function printSummary(r: SwarmResult, wire: WireViolationLog, tracePath: string | undefined, command: string, wallMs: number, interrupted: boolean): void {
  const t = r.torrent;
  console.log(`swarmlab run — seed ${r.seed}: ${r.peers.length} peers, ${mib(t.length)} MiB in ${t.pieceCount} pieces of ${t.pieceLength / 1024} KiB`);
  console.log('');
  console.log('peer   role      completed     up MiB   down MiB  payload');
  for (const p of r.peers) {
    console.log(
      `${p.label.padEnd(6)} ${p.role.padEnd(8)} ${(p.role === 'seed' ? 'seed' : secs(p.completedAt)).padStart(10)} ${mib(p.uploaded).padStart(10)} ${mib(p.downloaded).padStart(10)}  ${p.payloadMatches ? 'ok' : 'MISMATCH'}`,
    );
  }
  const leechers = r.peers.filter((p) => p.role === 'leecher');
  const done = leechers.filter((p) => p.completedAt !== undefined).length;
  console.log('');
  console.log(`swarm: ${done}/${leechers.length} leechers complete, ${r.complete ? `all by ${secs(r.simTime)}` : `stopped at ${secs(r.simTime)}`} of virtual time`);
  console.log(`events: ${r.events} scheduled, ${r.traceEvents} traced; ${wallMs.toFixed(0)} ms of wall time`);
  console.log(`duplicate bytes: ${duplicateSummary(r.peers, t.length)}`);
  console.log(`wire violations: ${wire.count === 0 ? 'none' : `${wire.count} (from ${[...wire.byPeer.keys()].join(', ')}; --json lists them)`}`);
  console.log(`trace: ${tracePath ?? 'not written (--no-trace)'}${interrupted && tracePath ? ' (partial: it ends with a failure event, check interrupted)' : ''}`);
  console.log(`trace sha256: ${r.traceHash}`);
  console.log(`reproduce: ${command}`);
  console.log(interrupted ? 'result: INTERRUPTED' : r.complete ? 'result: OK' : 'result: INCOMPLETE');
}

function toJson(r: SwarmResult, wire: WireViolationLog, tracePath: string | undefined, command: string, wallMs: number, interrupted: boolean) {
  return {
    seed: r.seed,
    complete: r.complete,
    ok: r.complete && !interrupted,
    interrupted,
    simTime: r.simTime,
    wallMs: Math.round(wallMs),
    traceHash: r.traceHash,
    trace: tracePath ?? null,
    reproduce: command,
    events: r.events,
    traceEvents: r.traceEvents,
    torrent: r.torrent,
    violations: wire.list,
    violationCount: wire.count,
    duplicateBytes: r.peers.reduce((sum, p) => sum + p.duplicateBytes, 0),
    peers: r.peers.map((p) => ({ ...p, completedAt: p.completedAt ?? null })),
  };
}
