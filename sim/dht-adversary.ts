// DHT nodes that misbehave (a scenario's `dht: { bogus, sybil, flood }`). Each is an engine DhtNode
// that joins and answers like any other, so it sits in honest routing tables, with its datagrams
// rewritten on the way out:
//   bogus — its id is near the info-hash (BOGUS_PREFIX_BITS), so lookups for the torrent ask it,
//           and every get_peers answer carries BOGUS_PEERS made-up peers (TEST-NET-1 addresses
//           nobody listens on) beside the true ones: a client dials them and waits out each failure;
//   sybil — its id shares SYBIL_PREFIX_BITS leading bits with the torrent's info-hash, so it is
//           among the closest nodes a lookup or an announce meets; it answers get_peers with no
//           peers and only its fellow Sybils as nodes, and drops every announce (a black hole
//           around the info-hash);
//   flood — every FLOOD_EVERY ms it sends FLOOD_BURST get_peers queries for random info-hashes
//           to the peers' nodes it knows of, a load their bounded state must absorb.

import { encodeKrpc, decodeKrpc, type KrpcMessage, type NodeInfo } from '../engine/dht/krpc.ts';
import { type NodeId, randomId, randomIdWithPrefix } from '../engine/dht/node-id.ts';
import type { DatagramPort, PeerAddress } from '../engine/ports.ts';
import type { SeededRandom as Random } from './random.ts';
import type { Scheduler } from './scheduler.ts';

export const DHT_ADVERSARIES = ['bogus', 'sybil', 'flood'] as const;
export type DhtAdversaryKind = (typeof DHT_ADVERSARIES)[number];

/** Made-up peers in each answer of a bogus node. */
export const BOGUS_PEERS = 8;
/** How close a Sybil's id is to the info-hash: past every honest node of a DHT of up to ~10^7. */
export const SYBIL_PREFIX_BITS = 24;
export const FLOOD_EVERY = 100;
export const FLOOD_BURST = 20;

/** What a misbehaving node needs to know of the swarm. */
export interface AdversaryContext {
  infoHash: NodeId;
  /** The Sybils' contact info, as they give it to each other. */
  sybils: NodeInfo[];
  /** Where the peers' own DHT nodes listen (a flood's targets). */
  peerNodes: () => readonly PeerAddress[];
}

/**
 * A bogus node's id shares this many leading bits with the info-hash: closer than any honest node
 * of a DHT of up to ~65,000, so lookups for the torrent ask it (as an attacker places its nodes),
 * yet behind the Sybils.
 */
export const BOGUS_PREFIX_BITS = 16;

/** An id for a node of this kind: a Sybil's or a bogus node's near the info-hash, a flooder's random. */
export function adversaryId(kind: DhtAdversaryKind, random: Random, infoHash: NodeId): NodeId {
  if (kind === 'sybil') return randomIdWithPrefix(random, infoHash, SYBIL_PREFIX_BITS);
  if (kind === 'bogus') return randomIdWithPrefix(random, infoHash, BOGUS_PREFIX_BITS);
  return randomId(random);
}

/**
 * The datagram port a misbehaving node is given: its node's answers to get_peers (recognised by
 * the transaction ids of the queries it received) and its announces are rewritten or dropped.
 */
export class LyingDatagrams implements DatagramPort {
  /** Transaction ids of get_peers queries received, per sender, until our node answers. */
  private readonly pending = new Map<string, 'get_peers'>();
  private handler: ((from: PeerAddress, bytes: Uint8Array) => void) | undefined;
  /** Answers rewritten, and announces swallowed, so far. */
  lies = 0;

  constructor(
    private readonly inner: DatagramPort,
    private readonly kind: DhtAdversaryKind,
    private readonly random: Random,
    private readonly ctx: AdversaryContext,
    /** The id its node answers with. */
    private readonly id: NodeId,
  ) {
    inner.onDatagram((from, bytes) => this.received(from, bytes));
  }

  get localAddress(): PeerAddress {
    return this.inner.localAddress;
  }

  onDatagram(handler: (from: PeerAddress, bytes: Uint8Array) => void): void {
    this.handler = handler;
  }

  send(to: PeerAddress, bytes: Uint8Array): void {
    const m = decode(bytes);
    if (m?.y === 'r') {
      const key = pendingKey(to, m.t);
      const answering = this.pending.get(key);
      this.pending.delete(key);
      if (answering !== undefined) {
        this.lies++;
        return this.inner.send(to, encodeKrpc(this.lie(m)));
      }
    }
    this.inner.send(to, bytes);
  }

  private received(from: PeerAddress, bytes: Uint8Array): void {
    const m = decode(bytes);
    if (m?.y === 'q' && m.query.method === 'announce_peer' && this.kind === 'sybil') {
      // A Sybil forgets announces: its node never sees them, but the sender gets its "ok".
      this.lies++;
      this.inner.send(from, encodeKrpc({ t: m.t, y: 'r', response: { id: this.id } }));
      return;
    }
    if (m?.y === 'q' && m.query.method === 'get_peers') {
      // Oldest first out: queries our node never answered cannot fill the map for good.
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      this.pending.set(pendingKey(from, m.t), 'get_peers');
    }
    this.handler?.(from, bytes);
  }

  private lie(m: Extract<KrpcMessage, { y: 'r' }>): KrpcMessage {
    const r = m.response;
    if (this.kind === 'bogus') {
      const values = Array.from({ length: BOGUS_PEERS }, () => ({ host: `192.0.2.${this.random.int(1, 254)}`, port: this.random.int(1024, 65535) }));
      return { ...m, response: { ...r, values: [...(r.values ?? []), ...values] } };
    }
    if (this.kind === 'sybil') return { ...m, response: { id: r.id, token: r.token, nodes: this.ctx.sybils.slice(0, 8) } };
    return m;
  }
}

/** A flooding node's burst every FLOOD_EVERY ms, from `from`, until `stop()`. */
export function startFlood(scheduler: Scheduler, from: DatagramPort, random: Random, ctx: AdversaryContext): { stop(): void } {
  let stopped = false;
  let seq = 0;
  const id = randomId(random);
  const burst = () => {
    if (stopped) return;
    const targets = ctx.peerNodes();
    for (let i = 0; i < FLOOD_BURST && targets.length > 0; i++) {
      const to = targets[random.int(0, targets.length - 1)];
      const t = Uint8Array.of((seq >> 8) & 0xff, seq++ & 0xff);
      from.send(to, encodeKrpc({ t, y: 'q', query: { method: 'get_peers', id, infoHash: randomId(random) } }));
    }
    scheduler.setTimer(FLOOD_EVERY, burst);
  };
  scheduler.setTimer(FLOOD_EVERY, burst);
  return { stop: () => void (stopped = true) };
}

/** Queries waiting for our node's answer, at most: a flood of queries cannot grow it. */
const MAX_PENDING = 4_096;

function pendingKey(peer: PeerAddress, t: Uint8Array): string {
  return `${peer.host}:${peer.port}/${Buffer.from(t).toString('hex')}`;
}

function decode(bytes: Uint8Array): KrpcMessage | undefined {
  try {
    return decodeKrpc(bytes);
  } catch {
    return undefined;
  }
}
