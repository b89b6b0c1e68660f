// The fault injector: turns a scenario's fault schedule into scheduled events on a built swarm.
// Every choice it makes (which peer crashes, which connection resets, when a random fault
// strikes) is drawn from its own named stream of the seed. Each fault is traced as a `fault`
// event, and each one that ends (`until`, `duration`) is traced again when it heals.
//
// Link faults are the network's verbs (`NetworkFaults`), storage faults those of each peer's
// `FaultyStorage`: each returns a handle, and the heal ends that handle alone, so overlapping
// faults never undo each other.

import type { PeerAddress, TimerHandle } from '../../engine/ports.ts';
import type { TraceSink } from '../../engine/trace.ts';
import type { HostName, NetworkFaults } from '../network-faults.ts';
import type { SeededRandom } from '../random.ts';
import type { FaultyStorage } from '../storage-faults.ts';
import type { SimWebSeeds } from '../web-seed-host.ts';
import type { PeerGroup } from '../swarm.ts';
import type { FaultSpec, RandomFault } from './types.ts';

/** A peer as the injector sees it, on either transport. */
export interface FaultablePeer {
  readonly label: string;
  readonly group: PeerGroup;
  readonly host: { readonly address: PeerAddress };
  readonly down: boolean;
  readonly leftAt?: number;
  readonly joinedAt: number;
  /** Its storage's fault verbs; absent for another client, whose storage swarmlab does not hold. */
  readonly storageFaults?: FaultyStorage;
  /** Its engine (pause-torrent); absent for another client and a malicious peer. */
  readonly client?: { pause(): void; resume(): void; readonly paused: boolean };
  /** Its part in the swarm's DHT (memory transport): a paused torrent looks nothing up. */
  readonly dht?: { readonly tracking: { pause(): void; resume(): void } };
}

/**
 * What the injector drives: the in-memory `Swarm` (sim/swarm.ts) on virtual time, or the TCP
 * transport's swarm (sim/tcp/) on real time. The same schedule, the same verbs, the same stream.
 */
export interface FaultTarget<P extends FaultablePeer = FaultablePeer> {
  readonly scheduler: { now(): number; at(time: number, fn: () => void): TimerHandle };
  readonly peers: readonly P[];
  readonly network: NetworkFaults;
  readonly tracker: { failure: string | undefined; empty: boolean; delay: number };
  readonly traceSink: TraceSink;
  /** The `faults` stream: the injector's choices (and, in memory, the network's jitter and loss). */
  readonly faultRandom: SeededRandom;
  crash(peer: P, restartAfter?: number): void;
  leave(peer: P, reason: string): void;
  addPeer(group: PeerGroup, joinAt?: number): P;
  /** The modelled web seeds (memory transport), when the scenario has any. */
  readonly webSeeds?: SimWebSeeds;
  /** The swarm's DHT (memory transport), when it has one. */
  readonly dht?: { churn(): void };
}

const SIM = 'sim';

export class FaultInjector<P extends FaultablePeer = FaultablePeer> {
  private readonly random: SeededRandom;
  /** When the last fault ends; liveness is judged from here. */
  lastHeal = 0;
  private readonly network: NetworkFaults;

  constructor(
    private readonly swarm: FaultTarget<P>,
    private readonly groupsByName: Map<string, PeerGroup>,
  ) {
    // Shared with the network, which draws jitter from it as batches go.
    this.random = swarm.faultRandom;
    this.network = swarm.network;
  }

  schedule(faults: readonly FaultSpec[]): void {
    for (const f of faults) {
      if (f.kind === 'random') this.scheduleRandom(f.rate, f.from, f.until, f.fault);
      else this.swarm.scheduler.at(f.at, () => this.apply(f));
      this.lastHeal = Math.max(this.lastHeal, healTime(f));
    }
  }

  private apply(f: Exclude<FaultSpec, { kind: 'random' }>): void {
    const s = this.swarm;
    const net = this.network;
    this.trace(SIM, { ...f });
    switch (f.kind) {
      case 'latency': {
        const change = net.setLatency(this.hosts(f.group), { latency: f.latency, jitter: f.jitter });
        this.heal(f.until, 'latency', () => net.restore(change));
        return;
      }
      case 'bandwidth': {
        const change = net.setBandwidth(this.hosts(f.group), { upload: f.upload, download: f.download });
        this.heal(f.until, 'bandwidth', () => net.restore(change));
        return;
      }
      case 'loss': {
        const change = net.setLoss(this.hosts(f.group), f.probability);
        this.heal(f.until, 'loss', () => net.restore(change));
        return;
      }
      case 'stall': {
        const hold = net.hold(this.hosts(f.group));
        this.heal(f.at + f.duration, 'stall', () => net.release(hold));
        return;
      }
      case 'reset': {
        const connections = net.connectionsOf(this.hosts(f.group));
        for (const c of this.random.sample(connections, f.count ?? 1)) net.reset(c, 'injected reset');
        return;
      }
      case 'partition': {
        const cut = net.partition(this.hosts(f.between[0]), this.hosts(f.between[1]), { oneWay: f.oneWay });
        this.heal(f.until, 'partition', () => net.repair(cut));
        return;
      }
      case 'crash':
        for (const peer of this.pickUp(f.group, f.count ?? 1)) s.crash(peer, f.restartAfter);
        return;
      case 'pause': {
        // A paused process neither reads nor writes: its connections are held both ways.
        const hold = net.hold(this.names(this.pickUp(f.group, f.count ?? 1)), { bothWays: true });
        this.heal(f.at + f.duration, 'pause', () => net.release(hold));
        return;
      }
      case 'pause-torrent': {
        // The torrent pauses in its engine (tracker told `stopped`); the process runs on.
        const paused = this.pickUp(f.group, f.count ?? 1).filter((p) => p.client && !p.client.paused);
        for (const p of paused) {
          p.client!.pause();
          p.dht?.tracking.pause();
        }
        this.heal(f.at + f.duration, 'pause-torrent', () =>
          paused.forEach((p) => {
            p.client?.resume();
            p.dht?.tracking.resume();
          }),
        );
        return;
      }
      case 'web-seed-down':
      case 'web-seed-corrupt': {
        const hosts = (s.webSeeds?.hosts ?? []).filter((_, i) => f.seed === undefined || i === f.seed);
        const handles = hosts.map((h) => [h, h.fault(f.kind === 'web-seed-down' ? 'down' : 'corrupt')] as const);
        this.heal(f.until, f.kind, () => handles.forEach(([h, handle]) => h.heal(handle)));
        return;
      }
      case 'disk-full': {
        const faults = this.storagesOf(f.group).map((storage) => [storage, storage.fillDisk()] as const);
        this.heal(f.until, 'disk-full', () => faults.forEach(([storage, fault]) => storage.heal(fault)));
        return;
      }
      case 'corrupt-read': {
        const faults = this.storagesOf(f.group).map((storage) => [storage, storage.corruptReads(f.probability)] as const);
        this.heal(f.until, 'corrupt-read', () => faults.forEach(([storage, fault]) => storage.heal(fault)));
        return;
      }
      case 'tracker-down':
      case 'tracker-error':
        s.tracker.failure = f.kind === 'tracker-down' ? 'tracker unreachable' : (f.message ?? 'tracker error');
        this.heal(f.until, f.kind, () => (s.tracker.failure = undefined));
        return;
      case 'tracker-empty':
        s.tracker.empty = true;
        this.heal(f.until, f.kind, () => (s.tracker.empty = false));
        return;
      case 'tracker-slow': {
        const before = s.tracker.delay;
        s.tracker.delay = f.delay;
        this.heal(f.until, f.kind, () => (s.tracker.delay = before));
        return;
      }
    }
  }

  /** A Poisson process of `rate` events per minute between `from` and `until`. */
  private scheduleRandom(rate: number, from: number, until: number, fault: RandomFault): void {
    if (rate <= 0) return;
    const meanGap = 60_000 / rate;
    for (let t = from - Math.log(1 - this.random.next()) * meanGap; t < until; t -= Math.log(1 - this.random.next()) * meanGap) {
      const at = t;
      this.swarm.scheduler.at(at, () => this.applyRandom(fault, at));
    }
  }

  private applyRandom(fault: RandomFault, at: number): void {
    switch (fault.kind) {
      case 'reset':
        return this.apply({ kind: 'reset', at, group: fault.group });
      case 'crash':
        return this.apply({ kind: 'crash', at, group: fault.group, restartAfter: fault.restartAfter });
      case 'stall':
        return this.apply({ kind: 'stall', at, group: fault.group, duration: fault.duration });
      case 'churn': {
        // One peer of the group leaves; a fresh one joins in its place.
        const group = this.group(fault.group);
        const [gone] = this.pickUp(fault.group, 1);
        this.trace(gone?.label ?? SIM, { fault: 'churn', group: fault.group });
        if (gone) this.swarm.leave(gone, 'churn');
        this.swarm.addPeer(group, at);
        return;
      }
      case 'dht-churn':
        this.swarm.dht?.churn();
        this.trace(SIM, { fault: 'dht-churn' });
        return;
    }
  }

  private heal(until: number | undefined, fault: string, undo: () => void): void {
    if (until === undefined) return;
    this.swarm.scheduler.at(until, () => {
      undo();
      this.trace(SIM, { fault: `${fault}-healed` });
    });
  }

  private group(name: string): PeerGroup {
    const g = this.groupsByName.get(name);
    if (!g) throw new Error(`fault: no group named '${name}'`);
    return g;
  }

  private peersOf(group: string | undefined): P[] {
    if (group !== undefined) this.group(group);
    return this.swarm.peers.filter((p) => group === undefined || p.group === this.groupsByName.get(group));
  }

  /** The storage fault verbs of the group's peers (other clients have none: the schema refuses such a fault). */
  private storagesOf(group: string): FaultyStorage[] {
    return this.peersOf(group).flatMap((p) => (p.storageFaults ? [p.storageFaults] : []));
  }

  private hosts(group: string | undefined): HostName[] {
    return this.names(this.peersOf(group));
  }

  private names(peers: readonly P[]): HostName[] {
    return peers.map((p) => p.host.address.host);
  }

  /** `count` peers of the group that are up now, chosen from the seed. */
  private pickUp(group: string, count: number): P[] {
    const up = this.peersOf(group).filter((p) => !p.down && p.leftAt === undefined && p.joinedAt <= this.swarm.scheduler.now());
    return this.random.sample(up, count);
  }

  private trace(peer: string, fields: Record<string, unknown>): void {
    // A fault spec's own `kind` becomes the event's `fault` field.
    const { kind, ...rest } = fields as { kind?: string; fault?: string };
    this.swarm.traceSink.emit({ t: this.swarm.scheduler.now(), peer, kind: 'fault', ...rest, fault: kind ?? rest.fault });
  }
}

/** When a fault is over (its start, for an instant fault). */
export function healTime(f: FaultSpec): number {
  switch (f.kind) {
    case 'random':
      return f.until;
    case 'stall':
    case 'pause':
    case 'pause-torrent':
      return f.at + f.duration;
    case 'crash':
      return f.at + (f.restartAfter ?? 0);
    default:
      return 'until' in f && f.until !== undefined ? f.until : f.at;
  }
}
