// Datagrams on virtual time (UDP's model, for the DHT): each datagram is one scheduler event that
// arrives whole after its link's latency plus a random jitter — so two datagrams may arrive out
// of the order they were sent — or is lost (the link's loss, a partition, a host that is gone).
// No bandwidth model: KRPC datagrams are a few hundred bytes. Randomness (jitter, loss) comes
// from one seeded stream, drawn in the order datagrams are sent.

import { addressKey, type DatagramPort, type PeerAddress, type Random } from '../engine/ports.ts';
import type { Scheduler } from './scheduler.ts';

export interface DatagramNetworkOptions {
  /** One-way latency (ms) from `a` to `b`; default: the mean of the two endpoints' latencies. */
  latencyOf?: (a: SimDatagramEndpoint, b: SimDatagramEndpoint) => number;
  /** Extra delay drawn uniformly in [0, jitter) per datagram (ms). Default 0. */
  jitter?: number;
  /** Probability that a datagram is lost, on every link. Default 0. */
  loss?: number;
  /**
   * What the rest of the simulation says of the path `from` → `to`: cut (a partition of the
   * swarm's network) or lossy (a loss fault on a host). Asked after the network's own loss.
   */
  path?: (from: SimDatagramEndpoint, to: SimDatagramEndpoint) => { cut: boolean; loss: number };
}

export interface DatagramStats {
  sent: number;
  delivered: number;
  lost: number;
  /** Sent to an address nobody listens on (or a host that left). */
  unreachable: number;
  /** Dropped by a partition. */
  cut: number;
}

export class SimDatagramNetwork {
  private readonly endpoints = new Map<string, SimDatagramEndpoint>();
  /** Group ids per address key; a datagram between two addresses of different groups is cut. */
  private groups: Map<string, number> | undefined;
  loss: number;
  jitter: number;
  readonly stats: DatagramStats = { sent: 0, delivered: 0, lost: 0, unreachable: 0, cut: 0 };
  private readonly latencyOf: (a: SimDatagramEndpoint, b: SimDatagramEndpoint) => number;
  private readonly path: DatagramNetworkOptions['path'];

  constructor(
    readonly scheduler: Scheduler,
    private readonly random: Random,
    options: DatagramNetworkOptions = {},
  ) {
    this.loss = options.loss ?? 0;
    this.jitter = options.jitter ?? 0;
    this.latencyOf = options.latencyOf ?? ((a, b) => (a.latency + b.latency) / 2);
    this.path = options.path;
    if (!(this.loss >= 0 && this.loss <= 1)) throw new Error(`datagrams: loss must be in [0, 1], got ${this.loss}`);
  }

  /** A new endpoint at `address` with its own one-way latency (ms). */
  bind(address: PeerAddress, latency = 0): SimDatagramEndpoint {
    const key = addressKey(address);
    if (this.endpoints.has(key)) throw new Error(`datagrams: address ${key} is already bound`);
    const e = new SimDatagramEndpoint(this, address, key, latency);
    this.endpoints.set(key, e);
    return e;
  }

  /** The endpoint goes away: datagrams to it are lost from now on, including those under way. */
  unbind(e: SimDatagramEndpoint): void {
    if (this.endpoints.get(e.key) === e) this.endpoints.delete(e.key);
    e.closed = true;
  }

  /**
   * Splits the network: each listed group of addresses reaches only its own members; an address
   * in no group forms a group of its own with the other unlisted ones. Replaces any partition.
   */
  partition(groups: readonly (readonly PeerAddress[])[]): void {
    this.groups = new Map();
    groups.forEach((g, i) => g.forEach((a) => this.groups!.set(addressKey(a), i + 1)));
  }

  repair(): void {
    this.groups = undefined;
  }

  /** @internal SimDatagramEndpoint.send calls it. */
  transmit(from: SimDatagramEndpoint, to: PeerAddress, bytes: Uint8Array): void {
    this.stats.sent++;
    const toKey = addressKey(to);
    if (this.groups !== undefined && (this.groups.get(from.key) ?? 0) !== (this.groups.get(toKey) ?? 0)) {
      this.stats.cut++;
      return;
    }
    if (this.loss > 0 && this.random.next() < this.loss) {
      this.stats.lost++;
      return;
    }
    const target = this.endpoints.get(toKey);
    if (target === undefined) {
      this.stats.unreachable++;
      return;
    }
    if (this.path) {
      const p = this.path(from, target);
      if (p.cut) {
        this.stats.cut++;
        return;
      }
      if (p.loss > 0 && this.random.next() < p.loss) {
        this.stats.lost++;
        return;
      }
    }
    const delay = this.latencyOf(from, target) + (this.jitter > 0 ? this.random.next() * this.jitter : 0);
    const source = from.address;
    this.scheduler.setTimer(delay, () => {
      if (target.closed) {
        this.stats.unreachable++;
        return;
      }
      this.stats.delivered++;
      target.deliver(source, bytes);
    });
  }
}

export class SimDatagramEndpoint implements DatagramPort {
  closed = false;
  private handler: ((from: PeerAddress, bytes: Uint8Array) => void) | undefined;

  constructor(
    private readonly net: SimDatagramNetwork,
    readonly address: PeerAddress,
    /** @internal */
    readonly key: string,
    /** One-way latency (ms) of this endpoint's own link. */
    readonly latency: number,
  ) {}

  get localAddress(): PeerAddress {
    return this.address;
  }

  send(to: PeerAddress, bytes: Uint8Array): void {
    if (this.closed) return;
    this.net.transmit(this, to, bytes);
  }

  onDatagram(handler: (from: PeerAddress, bytes: Uint8Array) => void): void {
    this.handler = handler;
  }

  /** @internal */
  deliver(from: PeerAddress, bytes: Uint8Array): void {
    this.handler?.(from, bytes);
  }
}
