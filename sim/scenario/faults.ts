// The fault injector: turns a scenario's fault schedule into scheduled events on a built swarm.
// Every choice it makes (which peer crashes, which connection resets, when a random fault
// strikes) is drawn from its own named stream of the seed. Each fault is traced as a `fault`
// event, and each one that ends (`until`, `duration`) is traced again when it heals.

import type { Storage } from '../../engine/ports.ts';
import { perSecond, type SimEndpoint, type SimHost } from '../network.ts';
import type { SeededRandom } from '../random.ts';
import type { PeerGroup, SimPeer, Swarm } from '../swarm.ts';
import type { FaultSpec, RandomFault } from './types.ts';

const SIM = 'sim';

export class FaultInjector {
  private readonly random: SeededRandom;
  /** When the last fault ends; liveness is judged from here. */
  lastHeal = 0;
  private readonly diskFull = new Set<SimPeer>();
  private readonly corruptReads = new Map<SimPeer, number>();
  private readonly partitions: { a: Set<SimHost>; b: Set<SimHost>; oneWay: boolean }[] = [];

  constructor(
    private readonly swarm: Swarm,
    private readonly groupsByName: Map<string, PeerGroup>,
  ) {
    this.random = swarm.root.stream('faults');
    swarm.storageWrapper = (peer, storage) => this.faultyStorage(peer, storage);
    swarm.network.blocked = (from, to) => this.partitions.some((p) => crosses(p, from, to));
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
    this.trace(SIM, { ...f });
    switch (f.kind) {
      case 'latency': {
        const hosts = this.hosts(f.group);
        const jitterStream = this.random;
        const saved = new Map<SimEndpoint, [number, () => number]>();
        for (const h of hosts) {
          for (const e of h.connections()) {
            saved.set(e, [e.latency, e.jitter]);
            e.latency = f.latency;
            if (f.jitter) e.jitter = () => jitterStream.next() * f.jitter!;
          }
        }
        const savedBase = hosts.map((h) => [h, s.baseLatency.get(h)!] as const);
        for (const h of hosts) s.baseLatency.set(h, f.latency);
        this.heal(f.until, 'latency', () => {
          for (const [e, [latency, jitter]] of saved) {
            e.latency = latency;
            e.jitter = jitter;
          }
          for (const [h, base] of savedBase) s.baseLatency.set(h, base);
        });
        return;
      }
      case 'bandwidth': {
        const hosts = this.hosts(f.group);
        const saved = hosts.map((h) => [h, h.upload, h.download] as const);
        for (const h of hosts) {
          if (f.upload !== undefined) h.upload = perSecond(f.upload);
          if (f.download !== undefined) h.download = perSecond(f.download);
        }
        this.heal(f.until, 'bandwidth', () => saved.forEach(([h, up, down]) => ((h.upload = up), (h.download = down))));
        return;
      }
      case 'stall': {
        const eps = this.hosts(f.group).flatMap((h) => h.connections());
        eps.forEach((e) => e.stall());
        this.heal(f.at + f.duration, 'stall', () => eps.forEach((e) => e.release()));
        return;
      }
      case 'reset': {
        const eps = this.hosts(f.group).flatMap((h) => h.connections());
        for (const e of this.random.sample(eps, f.count ?? 1)) e.reset('injected reset');
        return;
      }
      case 'partition': {
        const p = { a: new Set(this.hosts(f.between[0])), b: new Set(this.hosts(f.between[1])), oneWay: f.oneWay ?? false };
        this.partitions.push(p);
        // Connections across the cut stall; new dials across it time out.
        const held = [...p.a, ...p.b].flatMap((h) => h.connections()).filter((e) => e.peer && crosses(p, e.host, e.peer.host));
        held.forEach((e) => e.stall());
        this.heal(f.until, 'partition', () => {
          this.partitions.splice(this.partitions.indexOf(p), 1);
          held.forEach((e) => e.release());
        });
        return;
      }
      case 'crash':
        for (const peer of this.pickUp(f.group, f.count ?? 1)) s.crash(peer, f.restartAfter);
        return;
      case 'pause': {
        const eps = this.pickUp(f.group, f.count ?? 1).flatMap((p) => p.host.connections().flatMap((e) => (e.peer ? [e, e.peer] : [e])));
        eps.forEach((e) => e.stall());
        this.heal(f.at + f.duration, 'pause', () => eps.forEach((e) => e.release()));
        return;
      }
      case 'disk-full': {
        const peers = this.peersOf(f.group);
        peers.forEach((p) => this.diskFull.add(p));
        this.heal(f.until, 'disk-full', () => peers.forEach((p) => this.diskFull.delete(p)));
        return;
      }
      case 'corrupt-read': {
        const peers = this.peersOf(f.group);
        peers.forEach((p) => this.corruptReads.set(p, f.probability));
        this.heal(f.until, 'corrupt-read', () => peers.forEach((p) => this.corruptReads.delete(p)));
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
    }
  }

  /** Storage that fails or lies while a storage fault is on. */
  private faultyStorage(peer: SimPeer, inner: Storage): Storage {
    return {
      read: (offset, length) => {
        const bytes = inner.read(offset, length);
        const p = this.corruptReads.get(peer);
        if (p === undefined || this.random.next() >= p || length === 0) return bytes;
        const bad = bytes.slice();
        bad[Math.floor(this.random.next() * length)] ^= 0xff;
        return bad;
      },
      write: (offset, bytes) => {
        if (this.diskFull.has(peer)) throw new Error('ENOSPC: no space left on device');
        inner.write(offset, bytes);
      },
      flush: () => inner.flush(),
      // While reads may lie, the digest must come from what a read returns.
      knownDigest: (offset, length) => (this.corruptReads.has(peer) ? undefined : inner.knownDigest?.(offset, length)),
    };
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

  private peersOf(group: string | undefined): SimPeer[] {
    if (group !== undefined) this.group(group);
    return this.swarm.peers.filter((p) => group === undefined || p.group === this.groupsByName.get(group));
  }

  private hosts(group: string | undefined): SimHost[] {
    return this.peersOf(group).map((p) => p.host);
  }

  /** `count` peers of the group that are up now, chosen from the seed. */
  private pickUp(group: string, count: number): SimPeer[] {
    const up = this.peersOf(group).filter((p) => !p.down && p.leftAt === undefined && p.joinedAt <= this.swarm.scheduler.now());
    return this.random.sample(up, count);
  }

  private trace(peer: string, fields: Record<string, unknown>): void {
    // A fault spec's own `kind` becomes the event's `fault` field.
    const { kind, ...rest } = fields as { kind?: string; fault?: string };
    this.swarm.traceSink.emit({ t: this.swarm.scheduler.now(), peer, kind: 'fault', ...rest, fault: kind ?? rest.fault });
  }
}

function crosses(p: { a: Set<SimHost>; b: Set<SimHost>; oneWay: boolean }, from: SimHost, to: SimHost): boolean {
  return (p.a.has(from) && p.b.has(to)) || (!p.oneWay && p.b.has(from) && p.a.has(to));
}

/** When a fault is over (its start, for an instant fault). */
export function healTime(f: FaultSpec): number {
  switch (f.kind) {
    case 'random':
      return f.until;
    case 'stall':
    case 'pause':
      return f.at + f.duration;
    case 'crash':
      return f.at + (f.restartAfter ?? 0);
    default:
      return 'until' in f && f.until !== undefined ? f.until : f.at;
  }
}
