// The network's fault verbs, as one interface: partition and repair, hold and release, reset,
// latency, bandwidth and loss, crash and restart of a host — after turmoil's `Sim`. The scenario
// fault injector speaks only these. The in-memory network (`sim/network.ts`) implements them on
// virtual time; a TCP transport implements the same verbs over a loopback relay, so nothing here
// is in-memory-only: hosts are named by their address, connections by their two ends, rates are
// bytes per second and times milliseconds.
//
// Every verb that starts a lasting fault returns a handle, and only that handle ends it: faults
// are layers, so several may be active on one link at once (a latency change and a hold, two
// partitions), and healing one never undoes another. For a value (latency, bandwidth, loss) the
// layer applied last wins while it lasts; a partition or a hold lasts while any layer holds it.

import type { PeerAddress } from '../engine/ports.ts';

/** A host, named by the host part of its address (a label in memory; a 127.x.y.z address on TCP). */
export type HostName = string;

/** One end of an open connection, as `connectionsOf` lists it and `reset` takes it. */
export interface OpenConnection {
  /** The host whose end this is. */
  readonly localHost: HostName;
  /** The other end's address. */
  readonly remote: PeerAddress;
}

declare const faultBrand: unique symbol;
/** An active fault, as the verb that started it returned it. */
type Handle<Verb extends string> = { readonly id: number; readonly [faultBrand]: Verb };
export type PartitionHandle = Handle<'partition'>;
export type HoldHandle = Handle<'hold'>;
/** A latency, bandwidth or loss change. */
export type LinkChangeHandle = Handle<'link-change'>;

export interface LatencyChange {
  /** One-way delay (ms) of what the hosts send on their open connections. */
  latency: number;
  /** Up to this much more (ms), drawn per batch of bytes from the seed; order is kept. 0 or absent: none. */
  jitter?: number;
}

/** Bytes per second; absent: that direction is left as it is. */
export interface BandwidthChange {
  upload?: number;
  download?: number;
}

/** What one direction of a link is now, for tests and for a transport mirroring the state. */
export interface LinkState {
  /** Nothing goes from → to (a partition, either one-way or both ways). */
  partitioned: boolean;
  /** Open connections from → to whose sending is held (by a hold or a partition). */
  heldConnections: number;
  /** One-way latency (ms) a connection opened now from → to would get. */
  latency: number;
  /** The sending host's upload and the receiving host's download, bytes per second. */
  upload: number;
  download: number;
  /** Share of what the sending host sends that is lost and sent again. */
  loss: number;
}

export interface NetworkFaults {
  /**
   * Cuts `a` from `b` (and `b` from `a`, unless `oneWay`): what open connections send across the
   * cut is held until `repair`; dials across it time out (a one-way cut blocks dials both ways, as
   * TCP's handshake needs both). Connections already dialling when the cut comes still open.
   */
  partition(a: readonly HostName[], b: readonly HostName[], options?: { oneWay?: boolean }): PartitionHandle;
  repair(partition: PartitionHandle): void;
  /**
   * Holds what the hosts' connections open now send (with `bothWays`, what they receive too),
   * in order, until `release`; then it goes on. Connections opened later are not held.
   */
  hold(hosts: readonly HostName[], options?: { bothWays?: boolean }): HoldHandle;
  release(hold: HoldHandle): void;
  /** Every open connection of the hosts, host by host, each host's in the order they opened. */
  connectionsOf(hosts: readonly HostName[]): OpenConnection[];
  /** Breaks a connection now, both ends (a TCP RST): each side's handler hears `reason`. */
  reset(connection: OpenConnection, reason: string): void;
  /**
   * The hosts' latency: their open connections carry what they send with exactly `latency` (plus
   * jitter); a connection they open meanwhile gets the mean of its two hosts' latencies, as every
   * new connection does, and keeps it.
   */
  setLatency(hosts: readonly HostName[], change: LatencyChange): LinkChangeHandle;
  /** The hosts' upload and/or download rate. */
  setBandwidth(hosts: readonly HostName[], change: BandwidthChange): LinkChangeHandle;
  /**
   * A share (0..1) of what the hosts send is lost and sent again after a retransmission time-out
   * (doubling per loss); a batch lost too often in a row resets its connection, as TCP gives up.
   */
  setLoss(hosts: readonly HostName[], probability: number): LinkChangeHandle;
  /** Ends a latency, bandwidth or loss change; what other changes set stays. */
  restore(change: LinkChangeHandle): void;
  /** The host's machine is gone: its connections break, dials to it time out. */
  crash(host: HostName): void;
  /** The host is back at its address (its software is started by whoever runs it). */
  restart(host: HostName): void;
  /** One direction of the link between two hosts, as the active faults leave it. */
  linkState(from: HostName, to: HostName): LinkState;
}

/** Sees every write before the network queues it (the invariant checker's tap); several may listen. */
export type WriteTap<C extends OpenConnection = OpenConnection> = (from: C, chunks: Uint8Array | readonly Uint8Array[]) => void;

/** Told when the network hands bytes to `to`'s reader, before it reads them: `total` bytes of the other side's stream so far (the wire checker's tap). */
export type DeliveryTap<C extends OpenConnection = OpenConnection> = (to: C, total: number) => void;
