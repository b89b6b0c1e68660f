// Runs one resolved scenario on the TCP transport: the same swarm options, fault schedule,
// invariants and judgement as the in-memory runner (sim/scenario/run.ts), on real loopback
// sockets in real time. The result says that it is not byte-replayable: the seed fixes the
// schedule and every swarmlab choice, not the kernel's timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultInjector } from '../scenario/faults.ts';
import { traceFailures } from '../scenario/failure-trace.ts';
import { InvariantChecker } from '../scenario/invariants.ts';
import { judge, judgeFirstCopy, judgeWire, type RunOptions, scenarioResult, swarmOptionsOf } from '../scenario/run.ts';
import { FirstCopyWatch } from '../scenario/first-copy.ts';
import { RelayWireChecks } from './wire-checks.ts';
import { TransportError } from '../scenario/transport.ts';
import type { ExternalClient, Failure, Scenario, ScenarioResult } from '../scenario/types.ts';
import type { PeerGroup } from '../swarm.ts';
import { tcpCapacity } from './addresses.ts';
import { verifyFiles } from './clients/index.ts';
import { clientName, TcpSwarm } from './swarm.ts';

export interface TcpRunOptions extends Pick<RunOptions, 'traceOut'> {
  /**
   * The run's folder: each peer's data and each other client's logs. Default: a temporary folder,
   * removed afterwards unless the run failed or `keepWorkDir`.
   */
  workDir?: string;
  keepWorkDir?: boolean;
  log?: (line: string) => void;
  /** Ends the run early (Ctrl-C): every peer, client, socket and timer is stopped all the same. */
  signal?: AbortSignal;
}

export interface TcpScenarioResult extends ScenarioResult {
  transport: 'tcp';
  /** A TCP run is not byte-replayable: the seed fixes the schedule, not the kernel's timing. */
  replayable: false;
  /** The run's loopback block: its peers were 127.<block>.x.y (sim/tcp/addresses.ts). */
  block: number;
  /** Where each peer's data and each other client's stdout/stderr were kept (if kept). */
  workDir?: string;
}

/** Why the scenario cannot run on TCP here, before anything starts. */
export function tcpProblems(s: Scenario): string[] {
  const problems: string[] = [];
  const peers = s.groups.reduce((n, g) => n + g.count, 0);
  const capacity = tcpCapacity();
  if (peers > capacity.peers) problems.push(`${peers} peers, but this machine allows at most ${capacity.peers} on TCP (${capacity.reason})`);
  if (s.webSeeds?.length) problems.push('web seeds are modelled on the memory transport only (live mode fetches real ones: swarmlab download)');
  for (const f of s.faults) if (f.kind === 'web-seed-down' || f.kind === 'web-seed-corrupt') problems.push(`fault ${f.kind} needs the memory transport's web seeds`);
  return problems;
}

export async function runScenarioOnTcp(scenario: Scenario, seed: string, o: TcpRunOptions = {}): Promise<TcpScenarioResult> {
  const problems = tcpProblems(scenario);
  if (problems.length > 0) throw new TransportError('tcp', problems);
  const { options, groups } = swarmOptionsOf(scenario, seed, { traceOut: o.traceOut });
  const clients = new Map<PeerGroup, ExternalClient>();
  for (const g of scenario.groups) if (g.client !== undefined) clients.set(groups.get(g.name)!, g.client);
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'swarmlab-tcp-'));
  const swarm = await TcpSwarm.create({ ...options, clients, workDir, log: o.log });
  let result: TcpScenarioResult | undefined;
  try {
    const faults = new FaultInjector(swarm, groups);
    faults.schedule(scenario.faults);
    const checker = new InvariantChecker(swarm);
    const wire = new RelayWireChecks(swarm, swarm.network);
    const firstCopy = scenario.expect.firstCopy ? new FirstCopyWatch(swarm, scenario.expect.firstCopy.by) : undefined;
    const stopWhen = () => swarm.scheduler.now() >= faults.lastHeal && swarm.allLeechersDone();
    const interrupted = () => o.signal?.aborted === true;
    const failures: Failure[] = [];
    let peers: TcpScenarioResult['peers'] = [];
    // The verdict is judged once everything has stopped and traced before the trace's hash line.
    const run = await swarm.run(
      () => interrupted() || stopWhen(),
      async (simTime) => {
        failures.push(...checker.violations);
        if (interrupted()) failures.push({ check: 'interrupted', t: simTime, message: 'the run was interrupted; everything it started was stopped' });
        for (const c of swarm.crashes) failures.push({ check: 'crash', message: c.message, ...(c.peer ? { peer: c.peer } : {}) });
        failures.push(...judge(scenario, swarm, faults.lastHeal, checker), ...judgeWire(scenario, swarm, wire.log), ...judgeFirstCopy(scenario, firstCopy));
        peers = await Promise.all(
          swarm.peers.map(async (p) => ({
            label: p.label,
            role: p.role,
            joinedAt: p.joinedAt,
            completedAt: p.completedAt,
            uploaded: p.client?.uploaded ?? p.sentBytes,
            downloaded: p.client?.downloaded ?? p.receivedBytes,
            duplicateBytes: p.client?.duplicateBytes ?? 0,
            // Another client's bytes are its files, hashed against the torrent once it has stopped.
            payloadMatches: p.storage ? Buffer.compare(p.storage.read(0, swarm.payload.length), swarm.payload) === 0 : p.running ? (await verifyFiles(p.dir, swarm.torrent)).complete : false,
            group: p.group.prefix,
            behaviour: p.behaviour,
            ...(p.external !== undefined ? { client: clientName(p.external) } : {}),
          })),
        );
        // Another client's leecher that says it completed must hold the right bytes.
        for (const p of peers) {
          const peer = swarm.peers.find((x) => x.label === p.label)!;
          if (peer.external !== undefined && p.role === 'leecher' && p.completedAt !== undefined && !p.payloadMatches) {
            const why = (await verifyFiles(peer.dir, swarm.torrent)).problem;
            failures.push({ check: 'payload', peer: p.label, message: `${p.label} (${clientName(peer.external)}) completed, but its files differ from the payload${why ? `: ${why}` : ''}` });
          }
        }
        traceFailures(swarm.traceSink, simTime, failures);
      },
    );
    const ok = failures.length === 0;
    // Kept when it holds something to read: other clients' logs and data.
    const keep = swarm.peers.some((p) => p.external !== undefined) && (o.keepWorkDir || o.workDir !== undefined || !ok);
    result = {
      ...scenarioResult({ scenario, seed, failures, run, peers, checker, wire: wire.log, firstCopy }),
      transport: 'tcp',
      replayable: false,
      block: swarm.block,
      ...(keep ? { workDir } : {}),
    };
    return result;
  } finally {
    await swarm.close();
    if (!result?.workDir) rmSync(workDir, { recursive: true, force: true });
  }
}
