// `swarmlab run`: one simulated swarm, its summary, and the command that reproduces it.

import type { Command } from 'commander';
import { runFileStem } from '../sim/scenario/file-names.ts';
import { limitNote, SCENARIO_LIMITS } from '../sim/scenario/limits.ts';
import { swarmlabCommand } from '../sim/scenario/report.ts';
import { Swarm, type SwarmResult, swarmOf } from '../sim/swarm.ts';
import { SwarmWireChecks } from '../sim/wire-checks.ts';
import type { WireViolationLog } from '../sim/wire-checker.ts';
import { positiveInt, transportOption } from './option-parsers.ts';
import { runScenarioFile } from './run-scenario.ts';
import { plantedBugOption } from './scenario-args.ts';
import { TraceFile } from './trace-file.ts';
import { writeReport } from './viz.ts';
import { duplicateSummary } from './run-scenario.ts';

export interface RunFlags {
  seed: string;
  seeds: number;
  peers: number;
  trace?: string;
  json?: boolean;
  report?: string;
  transport?: 'memory' | 'tcp';
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a scenario file, or without one a simulated swarm (default: 1 seed, 20 leechers, 8 MiB), and print the result')
    .argument('[scenario]', 'a scenario file (YAML or JSON); see docs/scenarios.md')
    .option('--seed <n>', 'the seed every random choice derives from (a scenario: default its first listed seed)', '1')
    .option('--seeds <n>', 'number of seeds (default swarm only)', positiveInt, 1)
    .option('--peers <n>', 'number of leechers (default swarm only)', positiveInt, 20)
    .option('--trace <file>', 'where to write the trace (default: out/trace-seed<N>.jsonl; a scenario: out/<name>-seed<N>.jsonl)')
    .option('--json', 'print one JSON object instead of the summary')
    .option('--report <file>', 'also write the replay page for the trace (one self-contained HTML file)')
    .option('--transport <memory|tcp>', "a scenario's transport: memory (virtual time, byte-replayable) or tcp (real loopback sockets, real time); default: the file's, else memory", transportOption)
    .addOption(plantedBugOption())
    .action(async (scenario: string | undefined, flags: RunFlags & { plantedBug?: string }, cmd: Command) => {
      if (scenario !== undefined) {
        if (cmd.getOptionValueSource('seeds') === 'cli' || cmd.getOptionValueSource('peers') === 'cli') cmd.error('error: --seeds and --peers are for the default swarm; a scenario file sets its own groups');
        const seed = cmd.getOptionValueSource('seed') === 'default' ? undefined : flags.seed;
        const run = await runScenarioFile(scenario, { ...flags, seed });
        if (run && flags.report) await writeReport(run.tracePath, flags.report);
        if (run && flags.report && !flags.json) console.log(`report: ${flags.report}`);
        return;
      }
      if (flags.transport === 'tcp') cmd.error('error: --transport tcp runs a scenario file; the default swarm on TCP is scenarios/default.yaml: swarmlab run scenarios/default.yaml --transport tcp', { exitCode: 2 });
      const maxPeers = SCENARIO_LIMITS.peers.value;
      if (flags.seeds + flags.peers > maxPeers) {
        cmd.error(`error: --seeds ${flags.seeds} and --peers ${flags.peers} make ${flags.seeds + flags.peers} peers; at most ${maxPeers} ${limitNote('peers', maxPeers)}`, { exitCode: 2 });
      }
      const tracePath = flags.trace ?? `out/${runFileStem('trace', flags.seed)}.jsonl`;
      const file = new TraceFile(tracePath);
      const started = performance.now();
      const swarm = new Swarm(swarmOf(String(flags.seed), flags.seeds, flags.peers, { traceOut: file.write }));
      const wire = new SwarmWireChecks(swarm);
      const result = swarm.run();
      file.close();
      const wallMs = performance.now() - started;
      if (flags.report) await writeReport(tracePath, flags.report);
      const command = reproduceCommand(flags);
      if (flags.json) console.log(JSON.stringify(toJson(result, wire.log, tracePath, command, wallMs)));
      else printSummary(result, wire.log, tracePath, command, wallMs);
      if (flags.report && !flags.json) console.log(`report: ${flags.report}`);
      process.exitCode = result.complete ? 0 : 1;
    });
}

export function reproduceCommand(f: RunFlags): string {
  const parts = [`${swarmlabCommand()} run`, `--seed ${f.seed}`];
  if (f.seeds !== 1) parts.push(`--seeds ${f.seeds}`);
  if (f.peers !== 20) parts.push(`--peers ${f.peers}`);
  return parts.join(' ');
}

const secs = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2) + ' s');
const mib = (b: number) => (b / 1048576).toFixed(2);

function printSummary(r: SwarmResult, wire: WireViolationLog, tracePath: string, command: string, wallMs: number): void {
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
  console.log(`trace: ${tracePath}`);
  console.log(`trace sha256: ${r.traceHash}`);
  console.log(`reproduce: ${command}`);
  console.log(r.complete ? 'result: OK' : 'result: INCOMPLETE');
}

function toJson(r: SwarmResult, wire: WireViolationLog, tracePath: string, command: string, wallMs: number) {
  return {
    seed: r.seed,
    complete: r.complete,
    ok: r.complete,
    simTime: r.simTime,
    wallMs: Math.round(wallMs),
    traceHash: r.traceHash,
    trace: tracePath,
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
