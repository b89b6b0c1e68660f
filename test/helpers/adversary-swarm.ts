// A small swarm of honest engine clients plus one malicious peer (sim/adversary.ts), built by
// sim/swarm.ts's Swarm and run on virtual time while a probe samples what the honest peers hold
// in memory for each connection.

import type { Client } from '../../engine/client.ts';
import type { PeerProcess } from '../../engine/peer.ts';
import type { EngineSettings } from '../../engine/settings.ts';
import type { TraceEvent } from '../../engine/trace.ts';
import type { WireDecoder } from '../../engine/wire.ts';
import { type AdversaryBehaviour, adversaryContextOf, startAdversary } from '../../sim/adversary.ts';
import { KiB, MiB } from '../../sim/network.ts';
import { Swarm, type SwarmResult } from '../../sim/swarm.ts';
import { memoryTrace } from '../../engine/trace-writer.ts';

/** The adversary's label (and host name) in every run. */
export const ADVERSARY = 'X0';

export interface AdversaryRunOptions {
  behaviour: AdversaryBehaviour;
  seed?: string;
  seeds?: number;
  leechers?: number;
  size?: number;
  pieceLength?: number;
  /** Engine settings of every honest peer. */
  settings?: Partial<EngineSettings>;
  /** Virtual ms after which the run stops, complete or not. */
  timeLimit?: number;
  /** Keep running at least this long (virtual ms), even once every leecher is complete. */
  runAtLeast?: number;
  corruptFraction?: number;
}

/** The largest values the probe saw over the run, across all honest peers. */
export interface HonestMemory {
  /** A remote's requests queued at an honest peer (PeerProcess.queuedRequests). */
  queuedRequests: number;
  /** Bytes an honest peer's decoder held waiting for the rest of a message. */
  decoderBytes: number;
  /** Bytes an honest peer had written to the adversary and the network had not yet taken. */
  bufferedToAdversary: number;
  /** Open connections of one honest host, handshaken or not. */
  hostConnections: number;
  /** Connections with the adversary that an honest client kept waiting for a handshake. */
  pendingWithAdversary: number;
}

export interface AdversaryRun {
  swarm: Swarm;
  result: SwarmResult;
  /** Every trace event of the run, in order. */
  events: TraceEvent[];
  memory: HonestMemory;
  /** Connections the adversary made or accepted. */
  adversaryConnections: number;
}

/** The probe's period (virtual ms). */
const PROBE_PERIOD = 50;

export function runWithAdversary(o: AdversaryRunOptions): AdversaryRun {
  const trace = memoryTrace();
  let adversaryConnections = 0;
  const swarm = new Swarm(
    {
      seed: o.seed ?? '1',
      groups: [
        // Slow honest uploads, so the download takes a while and the adversary gets its chance.
        { prefix: 'S', count: o.seeds ?? 1, role: 'seed', upload: 128 * KiB, download: MiB },
        { prefix: 'L', count: o.leechers ?? 3, role: 'leecher', upload: 64 * KiB, download: MiB },
        // Joins once the honest peers have announced, so its first announce already finds them.
        { prefix: 'X', count: 1, role: 'seed', upload: MiB, download: MiB, joinAt: 500, behaviour: o.behaviour },
      ],
      size: o.size ?? 1 * MiB,
      pieceLength: o.pieceLength ?? 32 * KiB,
      latency: [10, 60],
      settings: o.settings,
      timeLimit: o.timeLimit ?? 1_800_000,
      // Short, so that honest peers learn of the adversary from the tracker and dial it too.
      trackerInterval: 5_000,
      storage: 'copy',
      traceOut: trace.out,
    },
    (behaviour, peer, swarm) => {
      const adversary = startAdversary(behaviour as AdversaryBehaviour, { ...adversaryContextOf(peer, swarm), corruptFraction: o.corruptFraction });
      return {
        stop: () => {
          adversaryConnections = adversary.connectionsMade;
          adversary.stop('run ended');
        },
      };
    },
  );

  const memory: HonestMemory = { queuedRequests: 0, decoderBytes: 0, bufferedToAdversary: 0, hostConnections: 0, pendingWithAdversary: 0 };
  const probe = () => {
    for (const p of swarm.peers) {
      if (p.label === ADVERSARY) continue;
      memory.hostConnections = Math.max(memory.hostConnections, p.host.connections().length);
      if (p.client) memory.pendingWithAdversary = Math.max(memory.pendingWithAdversary, pendingWithAdversary(p.client));
      for (const c of p.client?.connections() ?? []) {
        memory.queuedRequests = Math.max(memory.queuedRequests, c.queuedRequests);
        memory.decoderBytes = Math.max(memory.decoderBytes, decoderOf(c).bufferedBytes);
        if (c.remoteLabel === ADVERSARY) memory.bufferedToAdversary = Math.max(memory.bufferedToAdversary, c.conn.bufferedBytes());
      }
    }
    swarm.scheduler.setTimer(PROBE_PERIOD, probe);
  };
  swarm.scheduler.setTimer(0, probe);

  const runAtLeast = o.runAtLeast ?? 0;
  const result = swarm.run(() => swarm.scheduler.now() >= runAtLeast && swarm.activeLeechers.every((p) => p.completedAt !== undefined));
  return { swarm, result, events: trace.lines.slice(1).map((l) => JSON.parse(l) as TraceEvent), memory, adversaryConnections };
}

/** A client's connections with the adversary still in their handshake. */
function pendingWithAdversary(client: Client): number {
  let n = 0;
  for (const p of client.pendingConnections()) if (p.remoteLabel === ADVERSARY) n++;
  return n;
}

/** The decoder a Peer process reads with: private to the engine, read here to bound its buffer. */
function decoderOf(peer: PeerProcess): WireDecoder {
  return peer['wire'].decoder;
}

/** The honest leechers' reports. */
export function honestLeechers(run: AdversaryRun) {
  return run.result.peers.filter((p) => p.role === 'leecher');
}

/** Events of `kind` that honest peers traced about the adversary. */
export function aboutAdversary(run: AdversaryRun, kind: string): TraceEvent[] {
  return run.events.filter((e) => e.kind === kind && e.remote === ADVERSARY);
}

/** Steps honest peers took at `node` on connections with the adversary. */
export function stepsWithAdversary(run: AdversaryRun, node: string): TraceEvent[] {
  return run.events.filter((e) => e.kind === 'step' && e.node === node && e.remote === ADVERSARY);
}
