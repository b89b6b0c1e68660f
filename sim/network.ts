// In-memory links with TCP's guarantees (reliable, ordered), on virtual time.
//
// Model: each host has an uplink and a downlink of fixed bandwidth. A host's uplink serves its
// connections round-robin, one batch (up to ~16 KiB of queued writes) at a time, so connections
// share it fairly. A batch then crosses the link's latency and queues, first come first served,
// at the receiver's downlink. Two events per batch, whatever the size of the swarm. Chunks are
// handed over as the same Uint8Array objects that were written: no copies.
//
// Faults are the network's own verbs (`NetworkFaults`, sim/network-faults.ts): the state they
// set lives here as layers on hosts and connection ends, so faults overlap without undoing
// each other.

import type { Connection, ConnectionHandler, Network, PeerAddress, Random } from '../engine/ports.ts';
import { addressKey } from '../engine/ports.ts';
import { Layers } from './fault-layers.ts';
import type {
  BandwidthChange,
  HoldHandle,
  HostName,
  LatencyChange,
  LinkChangeHandle,
  LinkState,
  NetworkFaults,
  OpenConnection,
  PartitionHandle,
  WriteTap,
  DeliveryTap,
} from './network-faults.ts';
import { SeededRandom } from './random.ts';
import { retransmissionDelay } from './retransmission.ts';
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
  /** One-way latency (ms) of the host's own link; a connection gets the mean of its two hosts'. Default 0. */
  latency?: number;
}

/** Largest amount of queued writes one uplink turn sends. */
const BATCH_BYTES = 16 * KiB + 64;
/**
 * What a stalled connection (a partition, a stall fault) still takes from its writer: about one TCP
 * window, sent and not acknowledged. Past it the rest waits in the writer's socket buffer, as on a
 * real socket, where the writer sees it (`bufferedBytes`) and a CANCEL can still prune what it has
 * not written yet.
 */
const STALLED_IN_FLIGHT = 64 * KiB;
/** A dial to an address nobody has ever used fails after this long. */
const UNREACHABLE_TIMEOUT = 3_000;

interface Partition {
  id: number;
  a: Set<SimHost>;
  b: Set<SimHost>;
  oneWay: boolean;
  /** The connection ends whose sending the cut holds, in the order they are released. */
  held: SimEndpoint[];
}

export class SimNetwork implements NetworkFaults {
  /** Hosts reachable at their address (a crashed host is not). */
  private readonly hosts = new Map<string, SimHost>();
  /** Every host ever added, by name, crashed or not: faults may name any of them. */
  private readonly named = new Map<HostName, SimHost>();
  private readonly taps: WriteTap<SimEndpoint>[] = [];
  /** @internal Read by SimEndpoint on each delivery. */
  readonly deliveryTaps: DeliveryTap<SimEndpoint>[] = [];
  private readonly partitions: Partition[] = [];
  private readonly holds = new Map<number, SimEndpoint[]>();
  private readonly linkChanges = new Map<number, { hosts: SimHost[]; ends: SimEndpoint[] }>();
  private nextFaultId = 1;

  constructor(
    readonly scheduler: Scheduler,
    /** One-way latency (ms) between two hosts, chosen once per connection; default: the mean of the hosts' latencies. */
    readonly latencyOf: (a: SimHost, b: SimHost) => number = (a, b) => (a.latency + b.latency) / 2,
    /** Jitter and loss are drawn from here, in the order they happen (a scenario's `faults` stream). */
    readonly random: Random = new SeededRandom('network'),
  ) {}

  addHost(o: HostOptions): SimHost {
    const key = addressKey(o.address);
    if (this.hosts.has(key)) throw new Error(`network: address ${key} is already in use`);
    if (this.named.has(o.address.host)) throw new Error(`network: host name ${o.address.host} is already in use`);
    const host = new SimHost(this, o);
    this.hosts.set(key, host);
    this.named.set(o.address.host, host);
    return host;
  }

  hostAt(address: PeerAddress): SimHost | undefined {
    return this.hosts.get(addressKey(address));
  }

  /** Adds a listener that sees every write before it is queued; returns its removal. */
  tapWrites(tap: WriteTap<SimEndpoint>): () => void {
    this.taps.push(tap);
    return () => void this.taps.splice(this.taps.indexOf(tap) >>> 0, 1);
  }

  /** Adds a listener told of every delivery (how much of the stream its reader now has); returns its removal. */
  tapDeliveries(tap: DeliveryTap<SimEndpoint>): () => void {
    this.deliveryTaps.push(tap);
    return () => void this.deliveryTaps.splice(this.deliveryTaps.indexOf(tap) >>> 0, 1);
  }

  /** @internal SimEndpoint.write calls it. */
  tapped(from: SimEndpoint, chunks: Uint8Array | readonly Uint8Array[]): void {
    for (const tap of this.taps) tap(from, chunks);
  }

  // --- NetworkFaults ---

  partition(a: readonly HostName[], b: readonly HostName[], options: { oneWay?: boolean } = {}): PartitionHandle {
    const p: Partition = { id: this.nextFaultId++, a: new Set(this.resolve(a)), b: new Set(this.resolve(b)), oneWay: options.oneWay ?? false, held: [] };
    this.partitions.push(p);
    // Connections across the cut stall; new dials across it time out (`isCut`).
    p.held = [...p.a, ...p.b].flatMap((h) => h.connections()).filter((e) => e.peer && crosses(p, e.host, e.peer.host));
    p.held.forEach((e) => e.stall());
    return handle(p.id);
  }

  repair(partition: PartitionHandle): void {
    const at = this.partitions.findIndex((p) => p.id === partition.id);
    if (at < 0) throw new Error(`network: partition ${partition.id} is not active`);
    const [p] = this.partitions.splice(at, 1);
    p.held.forEach((e) => e.release());
  }

  /** True while a partition cuts what `from` sends to `to`. */
  isCut(from: SimHost, to: SimHost): boolean {
    return this.partitions.some((p) => crosses(p, from, to));
  }

  hold(hosts: readonly HostName[], options: { bothWays?: boolean } = {}): HoldHandle {
    const ends = this.resolve(hosts).flatMap((h) => h.connections().flatMap((e) => (options.bothWays && e.peer ? [e, e.peer] : [e])));
    ends.forEach((e) => e.stall());
    const id = this.nextFaultId++;
    this.holds.set(id, ends);
    return handle(id);
  }

  release(hold: HoldHandle): void {
    const ends = this.holds.get(hold.id);
    if (!ends) throw new Error(`network: hold ${hold.id} is not active`);
    this.holds.delete(hold.id);
    ends.forEach((e) => e.release());
  }

  connectionsOf(hosts: readonly HostName[]): SimEndpoint[] {
    return this.resolve(hosts).flatMap((h) => h.connections());
  }

  reset(connection: OpenConnection, reason: string): void {
    if (!(connection instanceof SimEndpoint) || connection.host.net !== this) {
      throw new Error(`network: reset of a connection of ${connection.localHost} to ${addressKey(connection.remote)} that is not this network's`);
    }
    connection.reset(reason);
  }

  setLatency(hosts: readonly HostName[], change: LatencyChange): LinkChangeHandle {
    const id = this.nextFaultId++;
    const targets = this.resolve(hosts);
    const ends = targets.flatMap((h) => h.connections());
    for (const e of ends) e.addLatency(id, change);
    for (const h of targets) h.changeLatency(id, change.latency);
    this.linkChanges.set(id, { hosts: targets, ends });
    return handle(id);
  }

  setBandwidth(hosts: readonly HostName[], change: BandwidthChange): LinkChangeHandle {
    const id = this.nextFaultId++;
    const targets = this.resolve(hosts);
    for (const h of targets) h.changeRates(id, change);
    this.linkChanges.set(id, { hosts: targets, ends: [] });
    return handle(id);
  }

  setLoss(hosts: readonly HostName[], probability: number): LinkChangeHandle {
    if (!(probability >= 0 && probability <= 1)) throw new Error(`network: loss must be in [0, 1], got ${probability}`);
    const id = this.nextFaultId++;
    const targets = this.resolve(hosts);
    for (const h of targets) h.changeLoss(id, probability);
    this.linkChanges.set(id, { hosts: targets, ends: [] });
    return handle(id);
  }

  restore(change: LinkChangeHandle): void {
    const c = this.linkChanges.get(change.id);
    if (!c) throw new Error(`network: link change ${change.id} is not active`);
    this.linkChanges.delete(change.id);
    for (const e of c.ends) e.removeLatency(change.id);
    for (const h of c.hosts) h.removeChange(change.id);
  }

  crash(name: HostName): void {
    const host = this.host(name);
    host.dropAll('host gone');
    this.hosts.delete(addressKey(host.address));
  }

  restart(name: HostName): void {
    const host = this.host(name);
    this.hosts.set(addressKey(host.address), host);
  }

  linkState(from: HostName, to: HostName): LinkState {
    const a = this.host(from);
    const b = this.host(to);
    return {
      partitioned: this.isCut(a, b),
      heldConnections: a.connections().filter((e) => e.peer?.host === b && e.stalled).length,
      latency: this.latencyOf(a, b),
      upload: a.upload * 1000,
      download: b.download * 1000,
      loss: a.loss,
    };
  }

  private host(name: HostName): SimHost {
    const host = this.named.get(name);
    if (!host) throw new Error(`network: no host named '${name}'`);
    return host;
  }

  private resolve(names: readonly HostName[]): SimHost[] {
    return names.map((n) => this.host(n));
  }
}

function handle<H extends { id: number }>(id: number): H {
  return { id } as H;
}

function crosses(p: Partition, from: SimHost, to: SimHost): boolean {
  return (p.a.has(from) && p.b.has(to)) || (!p.oneWay && p.b.has(from) && p.a.has(to));
}

export class SimHost implements Network {
  readonly label: string;
  readonly address: PeerAddress;
  /** Rates and loss as the active faults leave them (kept as fields: the uplink reads them per batch). */
  upload: Rate;
  download: Rate;
  loss = 0;
  private readonly base: { upload: Rate; download: Rate; latency: number };
  private readonly uploadLayers = new Layers<Rate>();
  private readonly downloadLayers = new Layers<Rate>();
  private readonly latencyLayers = new Layers<number>();
  private readonly lossLayers = new Layers<number>();
  private acceptor: ((conn: Connection) => void) | undefined;
  private readonly endpoints = new Set<SimEndpoint>();
  /** Connections with queued writes, served in turn. */
  private readonly uplinkQueue: SimEndpoint[] = [];
  private uplinkBusy = false;
  /** The batch the uplink is sending, and from which connection. */
  private sending: SimEndpoint | undefined;
  private sendingChunks: Uint8Array[] = NO_CHUNKS;
  private sendingBytes = 0;
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
    this.base = { upload: o.upload, download: o.download, latency: o.latency ?? 0 };
  }

  get localAddress(): PeerAddress {
    return this.address;
  }

  /** One-way latency (ms) of the host's own link, as the active faults leave it. */
  get latency(): number {
    return this.latencyLayers.over(this.base.latency);
  }

  changeLatency(id: number, latency: number): void {
    this.latencyLayers.add(id, latency);
  }

  changeRates(id: number, change: BandwidthChange): void {
    if (change.upload !== undefined) this.uploadLayers.add(id, perSecond(change.upload));
    if (change.download !== undefined) this.downloadLayers.add(id, perSecond(change.download));
    this.settle();
  }

  changeLoss(id: number, probability: number): void {
    this.lossLayers.add(id, probability);
    this.settle();
  }

  /** Ends fault `id`'s layers on this host. */
  removeChange(id: number): void {
    this.latencyLayers.remove(id);
    this.uploadLayers.remove(id);
    this.downloadLayers.remove(id);
    this.lossLayers.remove(id);
    this.settle();
  }

  private settle(): void {
    this.upload = this.uploadLayers.over(this.base.upload);
    this.download = this.downloadLayers.over(this.base.download);
    this.loss = this.lossLayers.over(0);
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
    if (!target || this.net.isCut(this, target) || this.net.isCut(target, this)) {
      sched.setTimer(UNREACHABLE_TIMEOUT, () => local.fail('connection timed out'));
      return local;
    }
    const latency = this.net.latencyOf(this, target);
    local.setRouteLatency(latency);
    // SYN reaches the target after one latency; the dialler learns the outcome a round trip later.
    sched.setTimer(latency, () => {
      if (local.isClosed) return;
      const acceptor = target.acceptor;
      if (!acceptor) {
        sched.setTimer(latency, () => local.fail('connection refused'));
        return;
      }
      const remoteEnd = new SimEndpoint(target, { host: this.address.host, port: this.nextPort++ }, true);
      remoteEnd.setRouteLatency(latency);
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
    if (e.inUplinkQueue || !e.sendable) return;
    e.inUplinkQueue = true;
    this.uplinkQueue.push(e);
    if (!this.uplinkBusy) this.serveUplink();
  }

  private serveUplink(): void {
    for (;;) {
      const e = this.uplinkQueue.shift();
      if (!e) {
        this.uplinkBusy = false;
        return;
      }
      e.inUplinkQueue = false;
      if (!e.sendable) continue;
      const chunks = e.takeBatch(BATCH_BYTES);
      if (chunks.length === 0) continue;
      let bytes = 0;
      for (const c of chunks) bytes += c.length;
      this.uplinkBusy = true;
      this.bytesSent += bytes;
      // One batch is on the uplink at a time: it waits in these fields, not in a closure of its own.
      this.sending = e;
      this.sendingChunks = chunks;
      this.sendingBytes = bytes;
      const sched = this.net.scheduler;
      sched.at(sched.now() + bytes / this.upload, this.uplinkDone);
      return;
    }
  }

  /** The batch on the uplink has been sent: it goes on its way, and the next connection's turn comes. */
  private readonly uplinkDone = (): void => {
    const e = this.sending!;
    const chunks = this.sendingChunks;
    this.sending = undefined;
    this.sendingChunks = NO_CHUNKS;
    e.transmitted(chunks, this.sendingBytes);
    this.wake(e);
    this.serveUplink();
  };
}

const NO_CHUNKS: Uint8Array[] = [];

export class SimEndpoint implements Connection, OpenConnection {
  peer: SimEndpoint | undefined;
  /** One-way latency (ms) of what this end sends, as the active faults leave it. */
  latency = 0;
  /** Up to this much more per batch (ms), drawn from the network's random; 0: none. */
  private jitter = 0;
  /** The latency chosen when the connection opened, and the faults' changes over it. */
  private routeLatency = 0;
  private readonly latencyLayers = new Layers<number>();
  private readonly jitterLayers = new Layers<number>();
  inUplinkQueue = false;
  private handler: ConnectionHandler | undefined;
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private closed = false;
  /** Latest delivery time scheduled towards the peer: keeps TCP's order under jitter and loss. */
  private lastDeliveryAt = 0;
  /** While stalled (by any number of faults at once), what this endpoint sends is held, in order. */
  private stalls = 0;
  private held: { chunks: Uint8Array[]; bytes: number }[] = [];
  private heldBytes = 0;
  /** Bytes of the other end's stream handed to this end's handler so far (the delivery taps' total). */
  private deliveredBytes = 0;

  constructor(
    readonly host: SimHost,
    readonly remote: PeerAddress,
    readonly inbound: boolean,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get localHost(): HostName {
    return this.host.address.host;
  }

  setRouteLatency(latency: number): void {
    this.routeLatency = latency;
    this.settleLatency();
  }

  /** A latency fault's layer; a change without jitter leaves the jitter of those below it. */
  addLatency(id: number, change: LatencyChange): void {
    this.latencyLayers.add(id, change.latency);
    if (change.jitter) this.jitterLayers.add(id, change.jitter);
    this.settleLatency();
  }

  removeLatency(id: number): void {
    this.latencyLayers.remove(id);
    this.jitterLayers.remove(id);
    this.settleLatency();
  }

  private settleLatency(): void {
    this.latency = this.latencyLayers.over(this.routeLatency);
    this.jitter = this.jitterLayers.over(0);
  }

  get hasQueued(): boolean {
    return this.queueHead < this.queue.length;
  }

  /** Has writes the uplink may take: none while a stall holds a window's worth already. */
  get sendable(): boolean {
    return this.hasQueued && !(this.stalls > 0 && this.heldBytes >= STALLED_IN_FLIGHT);
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(chunks: Uint8Array | readonly Uint8Array[]): void {
    if (this.closed) return;
    this.host.net.tapped(this, chunks);
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

  /** Takes queued writes, in order, up to `max` bytes (at least one write when any is queued). */
  takeBatch(max: number): Uint8Array[] {
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
    if (this.queuedBytes === 0 && bytes > 0 && !this.closed && (this.handler?.wantsDrain?.() ?? true)) {
      // Everything written is on the wire: the writer may queue more.
      this.host.net.scheduler.setTimer(0, () => !this.closed && this.handler?.drain());
    }
    return chunks;
  }

  /** The uplink finished sending a batch: it crosses the link, then the receiver's downlink. */
  transmitted(chunks: Uint8Array[], bytes: number): void {
    if (this.closed || !this.peer) return;
    if (this.stalls > 0) {
      this.held.push({ chunks, bytes });
      this.heldBytes += bytes;
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
    this.heldBytes = 0;
    for (const b of held) this.deliver(b.chunks, b.bytes);
    // What waited in the writer's buffer behind the window goes on now.
    if (!this.closed) this.host.wake(this);
  }

  private deliver(chunks: Uint8Array[], bytes: number): void {
    const peer = this.peer!;
    const net = this.host.net;
    const sched = net.scheduler;
    const receiver = peer.host;
    const jitter = this.jitter ? net.random.next() * this.jitter : 0;
    let retransmission = 0;
    if (this.host.loss > 0) {
      const r = retransmissionDelay(net.random, this.host.loss, this.latency);
      if (r.gaveUp) {
        sched.at(sched.now() + r.delay, () => !this.closed && this.reset('retransmission timed out'));
        return;
      }
      retransmission = r.delay;
    }
    const arrival = sched.now() + this.latency + jitter + retransmission;
    const start = Math.max(arrival, receiver.downlinkFreeAt);
    const finish = start + bytes / receiver.download;
    receiver.downlinkFreeAt = finish;
    const at = Math.max(finish, this.lastDeliveryAt);
    this.lastDeliveryAt = at;
    sched.at(at, () => {
      if (peer.closed) return;
      receiver.bytesReceived += bytes;
      const taps = net.deliveryTaps;
      for (const c of chunks) {
        if (peer.closed) return;
        peer.deliveredBytes += c.length;
        for (const tap of taps) tap(peer, peer.deliveredBytes);
        peer.handler?.data(c);
      }
    });
  }
}
