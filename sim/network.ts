// In-memory links with TCP's guarantees (reliable, ordered), on virtual time.
//
// Model: each host has an uplink and a downlink of fixed bandwidth. A host's uplink serves its
// connections round-robin, one batch (up to ~16 KiB of queued writes) at a time, so connections
// share it fairly. A batch then crosses the link's latency and queues, first come first served,
// at the receiver's downlink. Two events per batch, whatever the size of the swarm. Chunks are
// handed over as the same Uint8Array objects that were written: no copies.

import type { Connection, ConnectionHandler, Network, PeerAddress } from '../engine/ports.ts';
import { addressKey } from '../engine/ports.ts';
import type { Scheduler } from './scheduler.ts';

/** Bytes per millisecond; Infinity for an unlimited link. */
export type Rate = number;

export const KiB = 1024;
export const MiB = 1024 * 1024;
/** Converts bytes per second to the network's bytes per millisecond. */
export const perSecond = (bytesPerSecond: number): Rate => bytesPerSecond / 1000;

export interface HostOptions {
  label: string;
  address: PeerAddress;
  upload: Rate;
  download: Rate;
}

/** Largest amount of queued writes one uplink turn sends. */
const BATCH_BYTES = 16 * KiB + 64;
/** A dial to an address nobody has ever used fails after this long. */
const UNREACHABLE_TIMEOUT = 3_000;

export class SimNetwork {
  private readonly hosts = new Map<string, SimHost>();
  /** While it says so, packets from one host to another are lost (a partition): dials time out. */
  blocked: ((from: SimHost, to: SimHost) => boolean) | undefined;
  /** Sees every write, before it is queued (the invariant checker's tap). */
  onWrite: ((from: SimEndpoint, chunks: Uint8Array | readonly Uint8Array[]) => void) | undefined;

  constructor(
    readonly scheduler: Scheduler,
    /** One-way latency (ms) between two hosts; called once per connection. */
    readonly latencyOf: (a: SimHost, b: SimHost) => number,
  ) {}

  addHost(o: HostOptions): SimHost {
    const key = addressKey(o.address);
    if (this.hosts.has(key)) throw new Error(`network: address ${key} is already in use`);
    const host = new SimHost(this, o);
    this.hosts.set(key, host);
    return host;
  }

  /** Removes a host: its connections break as if its machine vanished. */
  removeHost(host: SimHost): void {
    host.dropAll('host gone');
    this.hosts.delete(addressKey(host.address));
  }

  /** Puts a removed host back at its address (a crashed peer restarting). */
  restoreHost(host: SimHost): void {
    this.hosts.set(addressKey(host.address), host);
  }

  hostAt(address: PeerAddress): SimHost | undefined {
    return this.hosts.get(addressKey(address));
  }
}

export class SimHost implements Network {
  readonly label: string;
  readonly address: PeerAddress;
  upload: Rate;
  download: Rate;
  private acceptor: ((conn: Connection) => void) | undefined;
  private readonly endpoints = new Set<SimEndpoint>();
  /** Connections with queued writes, served in turn. */
  private readonly uplinkQueue: SimEndpoint[] = [];
  private uplinkBusy = false;
  /** When the downlink finishes what it has been given. */
  downlinkFreeAt = 0;
  private nextPort = 40000;
  bytesSent = 0;
  bytesReceived = 0;

  constructor(
    readonly net: SimNetwork,
    o: HostOptions,
  ) {
    this.label = o.label;
    this.address = o.address;
    this.upload = o.upload;
    this.download = o.download;
  }

  get localAddress(): PeerAddress {
    return this.address;
  }

  listen(onConnection: (conn: Connection) => void): { stop(): void } {
    this.acceptor = onConnection;
    return { stop: () => void (this.acceptor === onConnection && (this.acceptor = undefined)) };
  }

  get listening(): boolean {
    return this.acceptor !== undefined;
  }

  connect(remote: PeerAddress): Connection {
    const sched = this.net.scheduler;
    const local = new SimEndpoint(this, remote, false);
    const target = this.net.hostAt(remote);
    if (!target || this.net.blocked?.(this, target) || this.net.blocked?.(target, this)) {
      sched.setTimer(UNREACHABLE_TIMEOUT, () => local.fail('connection timed out'));
      return local;
    }
    const latency = this.net.latencyOf(this, target);
    local.latency = latency;
    // SYN reaches the target after one latency; the dialler learns the outcome a round trip later.
    sched.setTimer(latency, () => {
      if (local.isClosed) return;
      const acceptor = target.acceptor;
      if (!acceptor) {
        sched.setTimer(latency, () => local.fail('connection refused'));
        return;
      }
      const remoteEnd = new SimEndpoint(target, { host: this.address.host, port: this.nextPort++ }, true);
      remoteEnd.latency = latency;
      remoteEnd.peer = local;
      local.peer = remoteEnd;
      target.endpoints.add(remoteEnd);
      this.endpoints.add(local);
      sched.setTimer(latency, () => local.opened());
      acceptor(remoteEnd);
    });
    return local;
  }

  /** Breaks every connection of this host (crash, departure). */
  dropAll(reason: string): void {
    for (const e of [...this.endpoints]) e.reset(reason);
  }

  /** Every open connection of this host. */
  connections(): SimEndpoint[] {
    return [...this.endpoints];
  }

  forget(e: SimEndpoint): void {
    this.endpoints.delete(e);
  }

  /** An endpoint has new writes: serve it in its turn. */
  wake(e: SimEndpoint): void {
    if (e.inUplinkQueue) return;
    e.inUplinkQueue = true;
    this.uplinkQueue.push(e);
    if (!this.uplinkBusy) this.serveUplink();
  }

  private serveUplink(): void {
    const e = this.uplinkQueue.shift();
    if (!e) {
      this.uplinkBusy = false;
      return;
    }
    e.inUplinkQueue = false;
    const batch = e.takeBatch(BATCH_BYTES);
    if (batch.bytes === 0) return this.serveUplink();
    this.uplinkBusy = true;
    this.bytesSent += batch.bytes;
    const sched = this.net.scheduler;
    const done = sched.now() + batch.bytes / this.upload;
    sched.at(done, () => {
      e.transmitted(batch.chunks, batch.bytes);
      if (e.hasQueued) this.wake(e);
      this.serveUplink();
    });
  }
}

export class SimEndpoint implements Connection {
  peer: SimEndpoint | undefined;
  latency = 0;
  inUplinkQueue = false;
  private handler: ConnectionHandler | undefined;
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private closed = false;
  /** Latest delivery time scheduled towards the peer: keeps TCP's order under jitter. */
  private lastDeliveryAt = 0;
  /** Extra one-way delay drawn per batch (jitter fault); 0 by default. */
  jitter: () => number = () => 0;
  /** While stalled (by any number of faults at once), what this endpoint sends is held, in order. */
  private stalls = 0;
  private held: { chunks: Uint8Array[]; bytes: number }[] = [];

  constructor(
    readonly host: SimHost,
    readonly remote: PeerAddress,
    readonly inbound: boolean,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get hasQueued(): boolean {
    return this.queueHead < this.queue.length;
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(chunks: Uint8Array | readonly Uint8Array[]): void {
    if (this.closed) return;
    this.host.net.onWrite?.(this, chunks);
    if (chunks instanceof Uint8Array) {
      this.queue.push(chunks);
      this.queuedBytes += chunks.length;
    } else {
      for (const c of chunks) {
        this.queue.push(c);
        this.queuedBytes += c.length;
      }
    }
    if (this.peer) this.host.wake(this);
  }

  bufferedBytes(): number {
    return this.queuedBytes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.forget(this);
    const peer = this.peer;
    if (peer && !peer.closed) {
      // The FIN follows the data already on its way.
      const at = Math.max(this.host.net.scheduler.now() + this.latency, this.lastDeliveryAt);
      this.host.net.scheduler.at(at, () => peer.fail('closed by remote'));
    }
  }

  /** Breaks the connection now, both ends (reset, crash). */
  reset(reason: string): void {
    const peer = this.peer;
    this.fail(reason);
    if (peer && !peer.closed) {
      const at = this.host.net.scheduler.now() + this.latency;
      this.host.net.scheduler.at(at, () => peer.fail(`connection reset: ${reason}`));
    }
  }

  /** The connection ends without our asking: tell the handler. */
  fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.host.forget(this);
    this.handler?.close(reason);
  }

  opened(): void {
    if (this.closed) return;
    this.handler?.open();
    if (this.hasQueued) this.host.wake(this);
  }

  takeBatch(max: number): { chunks: Uint8Array[]; bytes: number } {
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    while (this.queueHead < this.queue.length && (bytes === 0 || bytes + this.queue[this.queueHead].length <= max)) {
      const c = this.queue[this.queueHead++];
      chunks.push(c);
      bytes += c.length;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
    this.queuedBytes -= bytes;
    if (this.queuedBytes === 0 && bytes > 0 && !this.closed) {
      // Everything written is on the wire: the writer may queue more.
      this.host.net.scheduler.setTimer(0, () => !this.closed && this.handler?.drain());
    }
    return { chunks, bytes };
  }

  /** The uplink finished sending a batch: it crosses the link, then the receiver's downlink. */
  transmitted(chunks: Uint8Array[], bytes: number): void {
    if (this.closed || !this.peer) return;
    if (this.stalls > 0) {
      this.held.push({ chunks, bytes });
      return;
    }
    this.deliver(chunks, bytes);
  }

  get stalled(): boolean {
    return this.stalls > 0;
  }

  /** Holds what this endpoint sends until a matching `release`. */
  stall(): void {
    this.stalls++;
  }

  /** Ends one stall; when none is left, held batches go on, in order. */
  release(): void {
    if (this.stalls === 0 || --this.stalls > 0) return;
    const held = this.held;
    this.held = [];
    for (const b of held) this.deliver(b.chunks, b.bytes);
  }

  private deliver(chunks: Uint8Array[], bytes: number): void {
    const peer = this.peer!;
    const sched = this.host.net.scheduler;
    const receiver = peer.host;
    const arrival = sched.now() + this.latency + this.jitter();
    const start = Math.max(arrival, receiver.downlinkFreeAt);
    const finish = start + bytes / receiver.download;
    receiver.downlinkFreeAt = finish;
    const at = Math.max(finish, this.lastDeliveryAt);
    this.lastDeliveryAt = at;
    sched.at(at, () => {
      if (peer.closed) return;
      receiver.bytesReceived += bytes;
      for (const c of chunks) {
        if (peer.closed) return;
        peer.handler?.data(c);
      }
    });
  }
}
