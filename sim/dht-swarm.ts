// A simulated DHT: N nodes of the engine's DhtNode (engine/dht/node.ts) on virtual time, talking
// through SimDatagramNetwork. Every random choice comes from a named stream of one seed root:
// `dht/node/<i>` for node i (its id, transaction ids, tokens), `dht/datagrams` for jitter and loss,
// `dht/latency` for each node's link latency, `dht/swarm` for the swarm's own picks (who looks
// up what, who leaves). Nodes get IPv4 addresses (10.x.y.z:6881) because KRPC's compact node
// info carries IPv4 only.

import type { DatagramPort, PeerAddress } from '../engine/ports.ts';
import type { LookupResult } from '../engine/dht/lookup.ts';
import { type LookupDone, DhtNode } from '../engine/dht/node.ts';
import { compareDistance, type NodeId } from '../engine/dht/node-id.ts';
import type { DhtSettings } from '../engine/dht/settings.ts';
import type { TraceSink } from '../engine/trace.ts';
import { type DatagramNetworkOptions, SimDatagramNetwork, type SimDatagramEndpoint } from './datagrams.ts';
import { SeedRoot, type SeededRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';

export const DHT_PORT = 6881;

export interface DhtSwarmOptions {
  seed: string;
  /** One-way link latency of each node, drawn uniformly in [lo, hi] ms. Default [5, 50]. */
  latency?: [number, number];
  /** Per-datagram extra delay in [0, jitter) ms: datagrams overtake each other. Default 10. */
  jitter?: number;
  /** Datagram loss on every link. Default 0. */
  loss?: number;
  settings?: Partial<DhtSettings>;
  trace?: TraceSink;
  /** Run on this scheduler and draw from this seed root (a swarm's: sim/swarm-dht.ts) instead of its own. */
  scheduler?: Scheduler;
  root?: SeedRoot;
  /** See `DatagramNetworkOptions.path`. */
  path?: DatagramNetworkOptions['path'];
}

export interface LookupRequest {
  from: SimDhtNode;
  target: NodeId;
  kind: 'find_node' | 'get_peers';
  /** get_peers only: announce this port to the closest nodes once the lookup ends. */
  announcePort?: number;
}

export interface SimDhtNode {
  index: number;
  node: DhtNode;
  endpoint: SimDatagramEndpoint;
  alive: boolean;
}

export class DhtSwarm {
  readonly scheduler: Scheduler;
  readonly net: SimDatagramNetwork;
  readonly nodes: SimDhtNode[] = [];
  readonly random: SeededRandom;
  private readonly root: SeedRoot;
  private readonly latencyRandom: SeededRandom;

  constructor(readonly options: DhtSwarmOptions) {
    this.scheduler = options.scheduler ?? new Scheduler();
    this.root = options.root ?? new SeedRoot(options.seed);
    this.random = this.root.stream('dht/swarm');
    this.latencyRandom = this.root.stream('dht/latency');
    this.net = new SimDatagramNetwork(this.scheduler, this.root.stream('dht/datagrams'), { jitter: options.jitter ?? 10, loss: options.loss ?? 0, path: options.path });
  }

  /** The address of node `index`: 10.0.0.1 onwards. */
  static addressOf(index: number): PeerAddress {
    const n = index + 1;
    return { host: `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`, port: DHT_PORT };
  }

  /**
   * A new node (not yet bootstrapped). `as`: a misbehaving one (sim/dht-adversary.ts): its id, and
   * the datagram port its node is given around its endpoint.
   */
  addNode(as?: { id: (random: SeededRandom) => NodeId; datagrams: (endpoint: SimDatagramEndpoint, random: SeededRandom, id: NodeId) => DatagramPort }): SimDhtNode {
    const index = this.nodes.length;
    const [lo, hi] = this.options.latency ?? [5, 50];
    const endpoint = this.net.bind(DhtSwarm.addressOf(index), this.latencyRandom.range(lo, hi));
    const label = `D${index}`;
    const random = this.root.stream(`dht/node/${index}`);
    const id = as?.id(random);
    const datagrams = as && id ? as.datagrams(endpoint, random, id) : endpoint;
    const node = new DhtNode({ clock: this.scheduler.clockFor(label), random, datagrams, ...(id ? { id } : {}), settings: this.options.settings, trace: this.options.trace, label });
    const sim = { index, node, endpoint, alive: true };
    this.nodes.push(sim);
    return sim;
  }

  /**
   * Builds `count` nodes joining one every `interval` ms, each bootstrapping through node 0 (the
   * first joins alone) and a random earlier node; runs until every bootstrap lookup has ended.
   */
  grow(count: number, interval: number): void {
    let pending = 0;
    this.growLater(count, interval, () => pending--, () => pending++);
    this.scheduler.run(Infinity, () => pending === 0);
  }

  /** As `grow`, but only scheduled: the caller runs the scheduler (a swarm's nodes join as it runs). */
  growLater(count: number, interval: number, joined: () => void = () => {}, scheduled: () => void = () => {}): void {
    const first = this.nodes.length;
    for (let i = 0; i < count; i++) {
      const sim = this.addNode();
      if (sim.index === 0) continue;
      const via = this.joinVia(sim.index, 1);
      scheduled();
      this.scheduler.setTimer((i + (first === 0 ? 0 : 1)) * interval, () => sim.node.bootstrap(via, joined));
    }
  }

  /**
   * Where a node joins: node 0 (the router) and up to `others` random nodes among 1..`before` − 1
   * (drawn from `random`, the swarm's stream, one draw each).
   */
  joinVia(before: number, others: number): PeerAddress[] {
    const via = [DhtSwarm.addressOf(0)];
    for (let i = 0; i < others && i + 1 < before; i++) via.push(DhtSwarm.addressOf(this.random.int(1, before - 1)));
    return via;
  }

  /** Runs a lookup from `from` to its end; returns its result. */
  lookup(from: SimDhtNode, target: NodeId, kind: 'find_node' | 'get_peers', announcePort?: number): LookupResult | { error: string } {
    return this.lookups([{ from, target, kind, announcePort }])[0];
  }

  /**
   * Starts every lookup at once and runs until all have ended (and the announces after a
   * get_peers with `announcePort` have had time to land); results in the order asked.
   */
  lookups(requests: readonly LookupRequest[]): (LookupResult | { error: string })[] {
    const results: (LookupResult | { error: string } | undefined)[] = requests.map(() => undefined);
    let left = requests.length;
    requests.forEach(({ from, target, kind, announcePort }, i) => {
      const done: LookupDone = (r) => {
        results[i] = r;
        left--;
      };
      if (kind === 'find_node') from.node.findNode(target, done);
      else from.node.getPeers(target, done, announcePort);
    });
    this.scheduler.run(Infinity, () => left === 0);
    if (requests.some((r) => r.announcePort !== undefined)) this.scheduler.run(this.scheduler.now() + requests[0].from.node.settings.queryTimeout);
    return results.map((r) => r ?? { error: 'the lookup never ended' });
  }

  /** Node `sim` leaves without a word: its endpoint is gone, its timers stopped. */
  kill(sim: SimDhtNode): void {
    sim.alive = false;
    sim.node.stop();
    this.net.unbind(sim.endpoint);
  }

  live(): SimDhtNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** The `k` live nodes closest to `target`, by brute force: the truth a lookup is judged against. */
  closestTo(target: NodeId, k: number): SimDhtNode[] {
    return this.live()
      .sort((a, b) => compareDistance(a.node.id, b.node.id, target))
      .slice(0, k);
  }
}
