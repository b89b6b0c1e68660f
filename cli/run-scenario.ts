// `swarmlab run <scenario>`: one scenario file under one seed — its summary (or one JSON object),
// the trace file, and the command that reproduces the run. Exit 0 when every check holds, 1 if
// not, 2 if the file is not a valid scenario.

import { loadScenario, runResolvedInSlices } from '../sim/scenario/load.ts';
import { TransportError, transportOf } from '../sim/scenario/transport.ts';
import type { Transport } from '../sim/scenario/types.ts';
import { runScenarioOnTcp, type TcpScenarioResult } from '../sim/tcp/run.ts';
import { traceFileStem } from '../sim/scenario/file-names.ts';
import { INTERRUPTED } from '../sim/scenario/run.ts';
import { describeFailure, reproduceCommand } from '../sim/scenario/report.ts';
import type { Scenario, ScenarioResult } from '../sim/scenario/types.ts';
import { ClockStoppedError } from '../sim/scheduler.ts';
import { loadAll, type PlantedBug } from './scenario-args.ts';
import { TraceFile } from './trace-file.ts';
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from './input-error.ts';
import { interruptFlag, onInterrupt } from './live-common.ts';
import { RunProgress } from './run-progress.ts';

export interface ScenarioRunFlags {
  /** Undefined: the scenario's first listed seed. */
  seed?: string;
  /** A path, undefined for the default path, or false (--no-trace). */
  trace?: string | false;
  json?: boolean;
  plantedBug?: string;
  /** Overrides the file's `transport`. */
  transport?: Transport;
}

export interface ScenarioRun {
  result: ScenarioResult;
  /** Undefined with --no-trace. */
  tracePath: string | undefined;
}

/** Runs the file and prints the outcome; undefined if the file is not valid (exit code set). */
export async function runScenarioFile(path: string, flags: ScenarioRunFlags): Promise<ScenarioRun | undefined> {
  const loaded = loadAll([path]);
  if (!loaded) return undefined;
  const file = loaded[0].file;
  const seed = flags.seed !== undefined ? String(flags.seed) : file.seeds[0];
  const scenario = loadScenario(file, seed);
  const peers = scenario.groups.reduce((n, g) => n + g.count, 0);
  const stem = `out/${traceFileStem(scenario.name, peers, seed)}`;
  const tracePath = flags.trace === false ? undefined : (flags.trace ?? `${stem}.jsonl`);
  const trace = tracePath ? new TraceFile(tracePath) : undefined;
  const started = performance.now();
  const transport = transportOf(scenario, flags.transport);
  let result: ScenarioResult;
  let tcpInterrupted = false;
  try {
    if (transport === 'tcp') {
      if (flags.plantedBug) throw new TransportError('tcp', ['--planted-bug is for the in-memory transport']);
      // Other clients' logs and data are kept beside the trace.
      // Ctrl-C ends the run, and the run stops every client, socket and timer it started (a
      // second Ctrl-C exits at once).
      const abort = new AbortController();
      const stopListening = onInterrupt(() => abort.abort());
      try {
        result = await runScenarioOnTcp(scenario, seed, { traceOut: trace?.write, workDir: (tracePath?.replace(/\.jsonl(\.gz)?$/i, '') ?? stem) + '.tcp', signal: abort.signal });
      } finally {
        stopListening();
        tcpInterrupted = abort.signal.aborted;
      }
    } else {
      // Ctrl-C ends the run where it is: it fails with check `interrupted`, its trace's last event.
      const interrupt = interruptFlag();
      const progress = new RunProgress(!flags.json && process.stderr.isTTY === true);
      try {
        result = await runResolvedInSlices(scenario, seed, { traceOut: trace?.write, plantedBug: flags.plantedBug as PlantedBug }, { interrupted: interrupt.interrupted, onSlice: progress.update });
      } finally {
        interrupt.stop();
        progress.end();
      }
    }
  } catch (e) {
    if (e instanceof TransportError) {
      console.error(`swarmlab run: ${scenario.name}: ${e.message}`);
      process.exitCode = EXIT_BAD_INPUT;
      return undefined;
    }
    if (!(e instanceof ClockStoppedError)) throw e;
    console.error(`swarmlab run: ${scenario.name}, seed ${seed}: ${e.message}`);
    process.exitCode = EXIT_FAILED;
    return undefined;
  } finally {
    trace?.close();
  }
  const wallMs = performance.now() - started;
  const command = reproduceCommand(path, seed, flags.plantedBug, transport);
  if (flags.json) console.log(JSON.stringify(toJson(result, path, tracePath, command, wallMs)));
  else printSummary(scenario, path, result, tracePath, command, wallMs);
  const interrupted = tcpInterrupted || result.failures.some((f) => f.check === INTERRUPTED);
  process.exitCode = interrupted ? EXIT_INTERRUPTED : result.ok ? EXIT_OK : EXIT_FAILED;
  return { result, tracePath };
}

const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);
const mib = (b: number) => (b / 1048576).toFixed(2);

function printSummary(s: Scenario, path: string, r: ScenarioResult, tracePath: string | undefined, command: string, wallMs: number): void {
  const t = s.torrent;
  const pieces = Math.ceil(t.size / t.pieceLength);
  console.log(
    `swarmlab run ${s.name} (${path}) — seed ${r.seed}: ${r.peers.length} peers, ${mib(t.size)} MiB in ${pieces} pieces of ${t.pieceLength / 1024} KiB` +
      (t.files > 1 ? `, ${t.files} files` : '') +
      (s.faults.length ? `, ${s.faults.length} fault${s.faults.length > 1 ? 's' : ''}` : ''),
  );
  console.log('');
  const width = Math.max(6, ...r.peers.map((p) => p.label.length + 1));
  console.log(`${'peer'.padEnd(width)} ${'role'.padEnd(8)} ${'behaviour'.padEnd(13)} ${'completed'.padStart(10)} ${'up MiB'.padStart(9)} ${'down MiB'.padStart(9)}  payload`);
  for (const p of r.peers) {
    const done = p.role === 'seed' ? 'seed' : secs(p.completedAt);
    console.log(
      `${p.label.padEnd(width)} ${p.role.padEnd(8)} ${(p.client ?? p.behaviour).padEnd(13)} ${done.padStart(10)} ${mib(p.uploaded).padStart(9)} ${mib(p.downloaded).padStart(9)}  ${p.payloadMatches ? 'ok' : p.behaviour === 'honest' ? 'MISMATCH' : '-'}`,
    );
  }
  const leechers = r.peers.filter((p) => p.role === 'leecher' && p.behaviour === 'honest');
  const done = leechers.filter((p) => p.completedAt !== undefined).length;
  const banned = [...new Set(r.bans.map((b) => b.banned))];
  console.log('');
  const tcp = (r as Partial<TcpScenarioResult>).transport === 'tcp';
  console.log(`swarm: ${done}/${leechers.length} honest leechers complete; stopped at ${secs(r.simTime)} of ${tcp ? 'real time on TCP' : 'virtual time'}`);
  console.log(`duplicate bytes: ${duplicateSummary(r.peers, t.size)}${r.firstCopy ? `; first full copy outside ${s.expect.firstCopy?.by} at ${secs(r.firstCopy.t)}, after it uploaded ${(r.firstCopy.uploaded / t.size).toFixed(2)}× the payload` : ''}`);
  console.log(`checks: ${r.hashFailures} hash failure${r.hashFailures === 1 ? '' : 's'}; banned: ${banned.length ? banned.join(', ') : 'none'}; wire violations: ${wireSummary(r)}`);
  if (r.failures.length) {
    console.log(`failures (${r.failures.length}):`);
    for (const f of r.failures) console.log(`  ${describeFailure(f)}`);
  }
  console.log(`trace: ${tracePath ?? 'not written (--no-trace)'} (${r.traceEvents} events; ${wallMs.toFixed(0)} ms of wall time)`);
  console.log(`trace sha256: ${r.traceHash}${tcp ? ' (a TCP run is not byte-replayable: the seed fixes the schedule and every choice of swarmlab, not the kernel\'s timing)' : ''}`);
  if (tcp && (r as TcpScenarioResult).workDir) console.log(`peers' data and other clients' logs: ${(r as TcpScenarioResult).workDir}`);
  console.log(`reproduce: ${command}`);
  console.log(r.ok ? 'result: OK' : r.failures.some((f) => f.check === INTERRUPTED) ? 'result: INTERRUPTED (the run and its trace are partial)' : 'result: FAILED');
}

/** Duplicate bytes received, in all and as a share of the payload: `0`, or `49152 (0.29 % of the payload; L3 32768, L7 16384)`. */
export function duplicateSummary(peers: readonly { label: string; duplicateBytes: number }[], payload: number): string {
  const total = peers.reduce((sum, p) => sum + p.duplicateBytes, 0);
  if (total === 0) return '0';
  const most = peers.filter((p) => p.duplicateBytes > 0).sort((a, b) => b.duplicateBytes - a.duplicateBytes).slice(0, 3);
  return `${total} (${((100 * total) / payload).toFixed(2)} % of the payload; ${most.map((p) => `${p.label} ${p.duplicateBytes}`).join(', ')})`;
}

/** `none`, or how many and by whom: `312 (X0 290, X1 22)`. */
function wireSummary(r: ScenarioResult): string {
  if (r.violationCount === 0) return 'none';
  const peers = [...new Set(r.violations.map((v) => v.peer))];
  return `${r.violationCount} (${r.violations.length < r.violationCount ? `the first ${r.violations.length}, ` : ''}from ${peers.join(', ')}, are in --json and the trace)`;
}

function toJson(r: ScenarioResult, path: string, tracePath: string | undefined, command: string, wallMs: number) {
  return {
    scenario: r.name,
    file: path,
    seed: r.seed,
    ok: r.ok,
    failures: r.failures,
    traceHash: r.traceHash,
    trace: tracePath ?? null,
    interrupted: r.failures.some((f) => f.check === INTERRUPTED),
    reproduce: command,
    simTime: r.simTime,
    wallMs: Math.round(wallMs),
    traceEvents: r.traceEvents,
    hashFailures: r.hashFailures,
    bans: r.bans,
    violations: r.violations,
    violationCount: r.violationCount,
    duplicateBytes: r.duplicateBytes,
    ...(r.firstCopy !== undefined ? { firstCopy: r.firstCopy } : {}),
    peers: r.peers.map((p) => ({ ...p, completedAt: p.completedAt ?? null })),
    transport: (r as Partial<TcpScenarioResult>).transport ?? 'memory',
    replayable: (r as Partial<TcpScenarioResult>).replayable ?? true,
    ...((r as Partial<TcpScenarioResult>).workDir ? { workDir: (r as TcpScenarioResult).workDir } : {}),
  };
}
