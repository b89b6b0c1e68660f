// The DHT of a simulated swarm (BEP 5): DHT-only nodes (a scenario's `dht: { nodes }`, sim/
// dht-swarm.ts) and a DhtNode for every peer of a `dht: true` group, all on the swarm's scheduler
// and seed root, talking through one datagram network. A peer tracks the torrent with the same
// loop as live mode (engine/dht/tracking.ts) and gives what it finds to its client.
//
// KRPC's compact peer and node info carry IPv4 addresses, and the swarm's hosts are names (`L3`),
// so each DHT peer's node has an IPv4 alias (172.16.0.1 onwards) that stands for its host: what
// the DHT hands out is mapped back to the host's name before a client sees it. Datagrams between
// two peers obey the swarm's faults: a partition between their hosts cuts them, a loss fault on
// the sender drops them. The DHT-only nodes stand for the rest of the Internet: no fault reaches them.

import { DhtNode } from '../engine/dht/node.ts';
import { DhtTracking } from '../engine/dht/tracking.ts';
import { addressKey, type PeerAddress } from '../engine/ports.ts';
import type { TraceSink } from '../engine/trace.ts';
import type { SimDatagramEndpoint } from './datagrams.ts';
import { DHT_PORT, DhtSwarm } from './dht-swarm.ts';
import { type AdversaryContext, adversaryId, DHT_ADVERSARIES, type DhtAdversaryKind, LyingDatagrams, startFlood } from './dht-adversary.ts';
import type { NodeInfo } from '../engine/dht/krpc.ts';
import type { SimHost, SimNetwork } from './network.ts';
import type { SeedRoot } from './random.ts';
import type { Scheduler } from './scheduler.ts';

/** DHT-only nodes join one every this many ms from t = 0 (1,000 in a second), each through node 0 and an earlier one. */
const NODE_JOIN_INTERVAL = 1;
/** A peer's node bootstraps through this many DHT-only nodes (or, without them, earlier peers). */
const BOOTSTRAP_NODES = 3;
/** A DHT peer looks up its torrent again after this long when it found nobody (ms): doubles up to the interval. */
const RETRY = 2_000;
/** Addresses a peer's DHT part remembers for its client (as a peer list's bound). */
const MAX_KNOWN = 1_000;

export interface SwarmDhtOptions {
  scheduler: Scheduler;
  root: SeedRoot;
  network: SimNetwork;
  /** DHT-only nodes (a scenario's `dht: { nodes }`). */
  nodes: number;
  /** Their one-way latency, drawn per node (ms). */
  latency: [number, number];
  /** Re-announce interval of the peers' tracking (ms). */
  interval: number;
  trace: TraceSink;
  /** The torrent's: Sybils gather around it. */
  infoHash: Uint8Array;
  /** Misbehaving DHT-only nodes of each kind (sim/dht-adversary.ts), beside the `nodes` honest ones. */
  adversaries?: Partial<Record<DhtAdversaryKind, number>>;
}

/** A peer's part in the DHT while it runs. */
export interface DhtMember {
  readonly node: DhtNode;
  readonly tracking: DhtTracking;
  /** Every swarm address found so far (at most MAX_KNOWN): a client that starts after a metadata fetch gets them. */
  readonly known: PeerAddress[];
  /** The peer leaves or crashes: its node stops and its address goes away. */
  leave(): void;
}

export class SwarmDht {
  readonly dht: DhtSwarm;
  /** Alias host (IPv4) → the swarm host it stands for; and back. */
  private readonly hostOfAlias = new Map<string, SimHost>();
  private readonly aliasOfHost = new Map<SimHost, string>();
  /** Addresses of the peers' nodes that joined so far, to bootstrap through when there are no DHT-only nodes. */
  private readonly joinedPeers: PeerAddress[] = [];
  /** The misbehaving nodes' ports, by kind: what each has done (`lies`). */
  readonly liars: { kind: DhtAdversaryKind; liar: LyingDatagrams }[] = [];

  constructor(private readonly o: SwarmDhtOptions) {
    this.dht = new DhtSwarm({
      seed: '',
      scheduler: o.scheduler,
      root: o.root,
      latency: o.latency,
      path: (from, to) => this.path(from, to),
    });
    if (o.nodes > 0) this.dht.growLater(o.nodes, NODE_JOIN_INTERVAL);
    this.addAdversaries();
  }

  /** The misbehaving nodes join after the honest ones, each through node 0 and a random honest node. */
  private addAdversaries(): void {
    const sybils: NodeInfo[] = [];
    const ctx: AdversaryContext = { infoHash: this.o.infoHash, sybils, peerNodes: () => this.joinedPeers };
    let at = this.o.nodes * NODE_JOIN_INTERVAL;
    for (const kind of DHT_ADVERSARIES) {
      for (let i = 0; i < (this.o.adversaries?.[kind] ?? 0); i++) {
        const sim = this.dht.addNode({
          id: (random) => adversaryId(kind, random, this.o.infoHash),
          datagrams: (endpoint, random, id) => {
            const liar = new LyingDatagrams(endpoint, kind, random, ctx, id);
            this.liars.push({ kind, liar });
            return liar;
          },
        });
        if (kind === 'sybil') sybils.push({ id: sim.node.id, address: sim.endpoint.address });
        if (kind === 'flood') startFlood(this.o.scheduler, sim.endpoint, this.o.root.stream(`dht/flood/${sim.index}`), ctx);
        const via = this.dht.joinVia(this.o.nodes, 1);
        if (sim.index > 0) this.o.scheduler.setTimer(at++, () => sim.node.bootstrap(via));
      }
    }
  }

  /**
   * Churn: one honest DHT-only node (never node 0, the router) leaves without a word, and a fresh
   * one joins through node 0 and a random live node, as nodes come and go in the real DHT.
   */
  churn(): void {
    const honest = this.dht.nodes.filter((n) => n.alive && n.index > 0 && n.index < this.o.nodes);
    if (honest.length > 0) this.dht.kill(honest[this.dht.random.int(0, honest.length - 1)]);
    const fresh = this.dht.addNode();
    const live = this.dht.live().filter((n) => n !== fresh);
    const via = [DhtSwarm.addressOf(0), ...(live.length > 1 ? [live[this.dht.random.int(1, live.length - 1)].endpoint.address] : [])];
    fresh.node.bootstrap(via);
  }

  /** The IPv4 alias of `host` in the DHT (given on the host's first join, kept across restarts). */
  aliasOf(host: SimHost): string {
    let alias = this.aliasOfHost.get(host);
    if (alias === undefined) {
      const n = this.aliasOfHost.size + 1;
      alias = `172.${16 + ((n >> 16) & 0x0f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
      this.aliasOfHost.set(host, alias);
      this.hostOfAlias.set(alias, host);
    }
    return alias;
  }

  /**
   * `host`'s peer joins the DHT: its node bootstraps and then tracks `infoHash`, announcing
   * `announcePort` (its listening port); `onPeers` gets the swarm addresses it finds (never its own).
   */
  join(label: string, host: SimHost, infoHash: Uint8Array, announcePort: number, onPeers: (peers: PeerAddress[]) => void, satisfied: () => boolean): DhtMember {
    const address = { host: this.aliasOf(host), port: DHT_PORT };
    const endpoint = this.dht.net.bind(address, host.latency);
    const node = new DhtNode({ clock: this.o.scheduler.clockFor(label), random: this.o.root.stream(`dht/peer/${label}`), datagrams: endpoint, trace: this.o.trace, label });
    const known: PeerAddress[] = [];
    const seen = new Set<string>();
    const tracking = new DhtTracking(
      node,
      this.o.scheduler,
      infoHash,
      (found) => {
        const peers = this.toSwarm(found).filter((p) => p.host !== host.address.host);
        for (const p of peers) if (known.length < MAX_KNOWN && !seen.has(addressKey(p)) && seen.add(addressKey(p))) known.push(p);
        if (peers.length > 0) onPeers(peers);
      },
      { announcePort, interval: this.o.interval, retry: RETRY, satisfied },
    );
    const via = this.bootstrapVia();
    this.joinedPeers.push(address);
    if (via.length === 0) tracking.start();
    else node.bootstrap(via, () => tracking.start());
    return {
      node,
      tracking,
      known,
      leave: () => {
        tracking.stop();
        node.stop();
        this.dht.net.unbind(endpoint);
        const at = this.joinedPeers.findIndex((a) => a.host === address.host);
        if (at >= 0) this.joinedPeers.splice(at, 1);
      },
    };
  }

  /**
   * Swarm addresses for DHT ones: aliases become their hosts' names; any other address (a bogus
   * node's made-up peer) is kept as it is, and a client's dial to it fails as one to nowhere does.
   */
  private toSwarm(found: readonly PeerAddress[]): PeerAddress[] {
    return found.map((a) => {
      const host = this.hostOfAlias.get(a.host);
      return host ? { host: host.address.host, port: a.port } : a;
    });
  }

  /** Through honest DHT-only nodes (node 0, the router, and random others), else the last peers that joined. */
  private bootstrapVia(): PeerAddress[] {
    const nodes = this.o.nodes;
    if (nodes > 0) return this.dht.joinVia(nodes, BOOTSTRAP_NODES - 1);
    return this.joinedPeers.slice(-BOOTSTRAP_NODES);
  }

  private path(from: SimDatagramEndpoint, to: SimDatagramEndpoint): { cut: boolean; loss: number } {
    const a = this.hostOfAlias.get(from.address.host);
    const b = this.hostOfAlias.get(to.address.host);
    return { cut: a !== undefined && b !== undefined && this.o.network.isCut(a, b), loss: a?.loss ?? 0 };
  }
}
