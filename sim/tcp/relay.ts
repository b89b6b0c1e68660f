// The TCP transport's fault layer (issue 10): an in-process relay that carries every connection
// of a TCP run and implements the network's fault verbs (`NetworkFaults`) on real time, with the
// in-memory network's semantics (sim/network.ts).
//
// Interception is on the listening side: each host's public address (ip:PUBLIC_PORT, what the
// tracker hands out) is the relay's listener, and its peer really listens at ip:PRIVATE_PORT.
// Every peer binds its dials to its own host IP, so an accepted socket's source IP names the
// dialer; the relay then dials the listener's private port bound to that same IP, so the
// listening peer sees the dialer's real address. Between the two sockets each direction goes
// through a shaper: latency (+ seeded jitter, order kept), loss (a retransmission time-out,
// doubling), the sender's upload and the receiver's download (token buckets per host), and
// stalls (holds and partitions, layered as in memory). The kernel accepts a dial at once, so a
// dial across a cut or to a crashed host is accepted but not forwarded: nothing flows, the
// dialer's handshake times out, unless the cut heals first — then it is dialled through.
//
// Memory is bounded whatever a peer does: per direction the relay stops reading its source
// socket once MAX_QUEUED_BYTES it read wait to be forwarded (held, delayed or rate-limited), and
// writes to the destination only while its socket takes them (backpressure: pause/resume and
// 'drain'). A connection thus holds at most 2 × (1 MiB + one read of ≤ 64 KiB + the paused
// socket's own read buffer + one slice in the destination socket's buffer) in the relay; the rest
// waits in the kernel and in the sender. The dialer's `connect` completes at once (the kernel
// answers the SYN), not after a round trip: the one timing the relay cannot copy.

import { createServer, type Server, Socket } from 'node:net';
import { addressKey, type PeerAddress, type Random } from '../../engine/ports.ts';
import { Layers } from '../fault-layers.ts';
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
} from '../network-faults.ts';
import { LINUX_RETRANSMISSION, type RetransmissionRule, retransmissionDelay } from '../retransmission.ts';
import { PRIVATE_PORT, PUBLIC_PORT } from './addresses.ts';

export interface RelayClock {
  now(): number;
  setTimer(delay: number, fn: () => void): { cancel(): void };
}

export interface RelayHostOptions {
  /** The host's IP (127.B.x.y): its public listener binds name:PUBLIC_PORT. */
  name: HostName;
  /** Bytes per second; Infinity for none. */
  upload: number;
  download: number;
  /** One-way latency (ms) of the host's own link; a connection gets the mean of its two hosts'. */
  latency: number;
}

export interface RelayConnection extends OpenConnection {
  /** The relayed connection's number; both ends share it. */
  readonly id: number;
  readonly dialer: HostName;
  readonly listener: HostName;
}

/** Sees what crosses the relay; `c` is always the dialer's end of the connection. */
export interface RelayTap {
  /** Bytes `from` wrote on the connection, as the relay read them (the sender's write, near enough). */
  sent(c: RelayConnection, from: HostName, bytes: Uint8Array, t: number): void;
  /** The relay has handed the receiver (`to`) `total` bytes of the other side's stream so far. */
  delivered(c: RelayConnection, to: HostName, total: number, t: number): void;
  opened?(c: RelayConnection, t: number): void;
  closed?(c: RelayConnection, t: number, reason: string): void;
}

export interface RelayOptions {
  /** Jitter and loss draws, in the order they happen (the run's `faults` stream). */
  random: Random;
  clock: RelayClock;
  log?: (line: string) => void;
  /** The loss fault's retransmission rule; Linux's by default (tests shorten it). */
  retransmission?: RetransmissionRule;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** Per direction, reading stops once this much read waits in the relay; it starts again below half. */
const MAX_QUEUED_BYTES = 1 * MiB;
const RESUME_BELOW = MAX_QUEUED_BYTES / 2;
/** A rate-limited direction forwards at least this much at once (or what is left of a chunk); a full bucket holds at least this. */
const SLICE_BYTES = 16 * KiB;
/** A full bucket holds this much of its rate (ms) beyond SLICE_BYTES' floor: bursts stay short. */
const BURST_MS = 20;
/** After one socket of a connection closed, the other gets its FIN after what is queued, and is cut off this long later if its peer keeps it open. */
const CLOSE_LINGER = 10_000;

interface Partition {
  id: number;
  a: Set<RelayHost>;
  b: Set<RelayHost>;
  oneWay: boolean;
  /** The directions the cut holds, released on repair. */
  held: Direction[];
}

function crosses(p: Partition, from: RelayHost, to: RelayHost): boolean {
  return (p.a.has(from) && p.b.has(to)) || (!p.oneWay && p.b.has(from) && p.a.has(to));
}

function handle<H extends { id: number }>(id: number): H {
  return { id } as H;
}

function ipOf(address: string | undefined): string {
  return address?.startsWith('::ffff:') ? address.slice(7) : (address ?? '?');
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? e.code : e instanceof Error ? e.message : String(err);
}

export class TcpRelay implements NetworkFaults {
  /** Every host, added or met as a dialer's source IP, in that order: faults may name any of them. */
  private readonly hosts = new Map<HostName, RelayHost>();
  private readonly servers: Server[] = [];
  private readonly links = new Set<Link>();
  /** Dials accepted but not forwarded (a cut, a crashed host), in the order they came. */
  private readonly pending = new Set<Link>();
  private readonly taps: RelayTap[] = [];
  private readonly partitions: Partition[] = [];
  private readonly holds = new Map<number, Direction[]>();
  private readonly linkChanges = new Map<number, { hosts: RelayHost[]; directions: Direction[] }>();
  private readonly timers = new Set<{ cancel(): void }>();
  private nextFaultId = 1;
  private nextLinkId = 1;
  private closing: Promise<void> | undefined;
  readonly random: Random;
  readonly clock: RelayClock;
  readonly retransmission: RetransmissionRule;
  private readonly logLine: (line: string) => void;

  private constructor(o: RelayOptions) {
    this.random = o.random;
    this.clock = o.clock;
    this.retransmission = o.retransmission ?? LINUX_RETRANSMISSION;
    this.logLine = o.log ?? (() => {});
  }

  static async create(o: RelayOptions): Promise<TcpRelay> {
    return new TcpRelay(o);
  }

  /** Binds the host's public listener (name:PUBLIC_PORT); rejects with the bind's error (EADDRINUSE: the block is taken). */
  async addHost(o: RelayHostOptions): Promise<void> {
    if (this.closing) throw new Error('relay: closed');
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(o.name)) throw new Error(`relay: a host is named by its 127.x.y.z address, got '${o.name}'`);
    const known = this.hosts.get(o.name);
    if (known?.server) throw new Error(`relay: host ${o.name} is already added`);
    for (const [key, value] of [['upload', o.upload], ['download', o.download], ['latency', o.latency]] as const) {
      if (!(value >= 0)) throw new Error(`relay: host ${o.name}: ${key} must be a number ≥ 0, got ${value}`);
    }
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(PUBLIC_PORT, o.name, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // A host met first as a dialer keeps its connections; it gets its rates and listener now.
    const host = known ?? new RelayHost(o.name, this.clock.now());
    host.setBase(o);
    host.server = server;
    this.hosts.set(o.name, host);
    this.servers.push(server);
    server.on('connection', (socket) => this.guard(`accepting on ${o.name}`, () => this.accept(host, socket), () => socket.destroy()));
    server.on('error', (err) => this.log(`relay: listener ${o.name}:${PUBLIC_PORT}: ${errorText(err)}`));
  }

  /** Adds a listener to what crosses the relay; returns its removal. */
  tap(t: RelayTap): () => void {
    this.taps.push(t);
    return () => void this.taps.splice(this.taps.indexOf(t) >>> 0, 1);
  }

  /** Closes every socket and listener and cancels every timer; a second call returns the first's promise. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed: Promise<void>[] = [];
    for (const link of [...this.links]) closed.push(...link.destroy('relay closed'));
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    closed.push(...this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await Promise.all(closed);
  }

  // --- NetworkFaults ---

  partition(a: readonly HostName[], b: readonly HostName[], options: { oneWay?: boolean } = {}): PartitionHandle {
    const p: Partition = { id: this.nextFaultId++, a: new Set(this.resolve(a)), b: new Set(this.resolve(b)), oneWay: options.oneWay ?? false, held: [] };
    this.partitions.push(p);
    p.held = this.openDirections([...p.a, ...p.b]).filter((d) => crosses(p, d.from, d.to));
    p.held.forEach((d) => d.stall());
    return handle(p.id);
  }

  repair(partition: PartitionHandle): void {
    const at = this.partitions.findIndex((p) => p.id === partition.id);
    if (at < 0) throw new Error(`relay: partition ${partition.id} is not active`);
    const [p] = this.partitions.splice(at, 1);
    p.held.forEach((d) => d.release());
    this.openPending();
  }

  hold(hosts: readonly HostName[], options: { bothWays?: boolean } = {}): HoldHandle {
    const directions = this.resolve(hosts).flatMap((h) => [...h.ends].flatMap((e) => (options.bothWays ? [e.sending, e.receiving] : [e.sending])));
    directions.forEach((d) => d.stall());
    const id = this.nextFaultId++;
    this.holds.set(id, directions);
    return handle(id);
  }

  release(hold: HoldHandle): void {
    const directions = this.holds.get(hold.id);
    if (!directions) throw new Error(`relay: hold ${hold.id} is not active`);
    this.holds.delete(hold.id);
    directions.forEach((d) => d.release());
  }

  connectionsOf(hosts: readonly HostName[]): RelayConnection[] {
    return this.resolve(hosts).flatMap((h) => [...h.ends]);
  }

  reset(connection: OpenConnection, reason: string): void {
    if (!(connection instanceof RelayEnd) || connection.link.relay !== this) {
      throw new Error(`relay: reset of a connection of ${connection.localHost} to ${addressKey(connection.remote)} that is not this relay's`);
    }
    connection.link.reset(reason);
  }

  setLatency(hosts: readonly HostName[], change: LatencyChange): LinkChangeHandle {
    if (!(change.latency >= 0) || !((change.jitter ?? 0) >= 0)) throw new Error(`relay: latency and jitter must be ≥ 0 ms, got ${change.latency} and ${change.jitter}`);
    const id = this.nextFaultId++;
    const targets = this.resolve(hosts);
    const directions = targets.flatMap((h) => [...h.ends].map((e) => e.sending));
    for (const d of directions) d.addLatency(id, change);
    for (const h of targets) h.latencyLayers.add(id, change.latency);
    this.linkChanges.set(id, { hosts: targets, directions });
    return handle(id);
  }

  setBandwidth(hosts: readonly HostName[], change: BandwidthChange): LinkChangeHandle {
    for (const rate of [change.upload, change.download]) if (rate !== undefined && !(rate >= 0)) throw new Error(`relay: a rate must be ≥ 0 bytes/s, got ${rate}`);
    const id = this.nextFaultId++;
    const targets = this.resolve(hosts);
    for (const h of targets) h.changeRates(this.clock.now(), () => {
      if (change.upload !== undefined) h.uploadLayers.add(id, change.upload);
      if (change.download !== undefined) h.downloadLayers.add(id, change.download);
    });
    this.linkChanges.set(id, { hosts: targets, directions: [] });
    targets.forEach((h) => this.wake(h));
    return handle(id);
  }

  setLoss(hosts: readonly HostName[], probability: number): LinkChangeHandle {
    if (!(probability >= 0 && probability <= 1)) throw new Error(`relay: loss must be in [0, 1], got ${probability}`);
    const id = this.nextFaultId++;
    const targets = this.resolve(hosts);
    for (const h of targets) h.lossLayers.add(id, probability);
    this.linkChanges.set(id, { hosts: targets, directions: [] });
    return handle(id);
  }

  restore(change: LinkChangeHandle): void {
    const c = this.linkChanges.get(change.id);
    if (!c) throw new Error(`relay: link change ${change.id} is not active`);
    this.linkChanges.delete(change.id);
    for (const d of c.directions) d.removeLatency(change.id);
    for (const h of c.hosts) {
      h.changeRates(this.clock.now(), () => {
        h.latencyLayers.remove(change.id);
        h.uploadLayers.remove(change.id);
        h.downloadLayers.remove(change.id);
        h.lossLayers.remove(change.id);
      });
      this.wake(h);
    }
  }

  crash(name: HostName): void {
    const host = this.host(name);
    host.crashed = true;
    for (const e of [...host.ends]) e.link.reset('host gone');
    // Its own dials waiting to be forwarded go with it; dials to it wait for its restart.
    for (const link of [...this.pending]) if (link.dialer === host) link.reset('host gone');
  }

  restart(name: HostName): void {
    this.host(name).crashed = false;
    this.openPending();
  }

  linkState(from: HostName, to: HostName): LinkState {
    const a = this.host(from);
    const b = this.host(to);
    return {
      partitioned: this.isCut(a, b),
      heldConnections: [...a.ends].filter((e) => e.sending.to === b && e.sending.stalled).length,
      latency: (a.latency + b.latency) / 2,
      upload: a.upload,
      download: b.download,
      loss: a.loss,
    };
  }

  // --- internals, for Link and Direction ---

  /** @internal */
  now(): number {
    return this.clock.now();
  }

  /** @internal A timer the relay cancels on close; `fn` never throws out. */
  setTimer(delay: number, fn: () => void): { cancel(): void } {
    if (this.closing) return { cancel() {} };
    const timer = this.clock.setTimer(delay, () => {
      this.timers.delete(timer);
      this.guard('a relay timer', fn);
    });
    this.timers.add(timer);
    return {
      cancel: () => {
        timer.cancel();
        this.timers.delete(timer);
      },
    };
  }

  /** @internal */
  log(line: string): void {
    try {
      this.logLine(line);
    } catch {
      // A failing log must not break the relay.
    }
  }

  /** @internal Runs an event handler's body: an exception is logged and `recover` runs, nothing is thrown out. */
  guard(where: string, body: () => void, recover?: () => void): void {
    try {
      body();
    } catch (err) {
      this.log(`relay: internal error in ${where}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      try {
        recover?.();
      } catch {
        // Nothing more to do.
      }
    }
  }

  /** @internal */
  emit(event: (t: RelayTap) => void): void {
    for (const t of [...this.taps]) this.guard('a relay tap', () => event(t));
  }

  /** @internal A link opened: it joins its hosts' connections, and any cut it crosses holds it at once. */
  opened(link: Link): void {
    this.pending.delete(link);
    for (const p of this.partitions) {
      for (const d of [link.forward, link.back]) {
        if (crosses(p, d.from, d.to)) {
          d.stall();
          p.held.push(d);
        }
      }
    }
  }

  /** @internal */
  forget(link: Link): void {
    this.links.delete(link);
    this.pending.delete(link);
  }

  /** True while a dial between the two hosts may not be forwarded. */
  private blocked(dialer: RelayHost, listener: RelayHost): boolean {
    return dialer.crashed || listener.crashed || this.isCut(dialer, listener) || this.isCut(listener, dialer);
  }

  private isCut(from: RelayHost, to: RelayHost): boolean {
    return this.partitions.some((p) => crosses(p, from, to));
  }

  private accept(listener: RelayHost, socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const ip = ipOf(socket.remoteAddress);
    let dialer = this.hosts.get(ip);
    if (!dialer) {
      // An unknown source IP is a host named by that IP, with no limits of its own.
      dialer = new RelayHost(ip, this.now());
      this.hosts.set(ip, dialer);
    }
    const link = new Link(this, this.nextLinkId++, dialer, listener, socket);
    this.links.add(link);
    if (this.blocked(dialer, listener)) {
      this.pending.add(link);
      this.log(`relay: #${link.id} ${dialer.name} → ${listener.name} held unforwarded (cut or crashed)`);
    } else link.dial();
  }

  /** Dials through every waiting dial no fault blocks any more, in the order they came. */
  private openPending(): void {
    for (const link of [...this.pending]) {
      if (!this.blocked(link.dialer, link.listener)) {
        this.pending.delete(link);
        link.dial();
      }
    }
  }

  /** A host's rates changed: every direction it sends or receives looks at its buckets again. */
  private wake(host: RelayHost): void {
    for (const e of host.ends) e.link.kick();
  }

  private openDirections(hosts: RelayHost[]): Direction[] {
    return [...new Set(hosts.flatMap((h) => [...h.ends].map((e) => e.sending)))];
  }

  private host(name: HostName): RelayHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`relay: no host named '${name}'`);
    return host;
  }

  private resolve(names: readonly HostName[]): RelayHost[] {
    return names.map((n) => this.host(n));
  }
}

/** Bytes per second a host may send or receive, refilled continuously; Infinity passes everything. */
class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: () => number,
    now: number,
  ) {
    this.at = now;
    this.tokens = this.capacity(rate());
  }

  private capacity(rate: number): number {
    return Math.max(SLICE_BYTES, (rate * BURST_MS) / 1000);
  }

  /** Brings the bucket up to `now` at the current rate (called before the rate changes too). */
  refill(now: number): void {
    const rate = this.rate();
    if (rate !== Infinity) this.tokens = Math.min(this.capacity(rate), this.tokens + ((now - this.at) * rate) / 1000);
    this.at = now;
  }

  /** Whole bytes only: the tokens refill in fractions, but a slice of a stream cannot be cut in one. */
  available(now: number): number {
    if (this.rate() === Infinity) return Infinity;
    this.refill(now);
    return Math.floor(this.tokens);
  }

  take(bytes: number): void {
    if (this.rate() !== Infinity) this.tokens -= bytes;
  }

  /** Ms until `bytes` are available; Infinity at rate 0 (a rate change wakes the waiters). */
  waitFor(bytes: number): number {
    const rate = this.rate();
    if (rate === Infinity || this.tokens >= bytes) return 0;
    return rate === 0 ? Infinity : ((bytes - this.tokens) * 1000) / rate;
  }
}

class RelayHost {
  server: Server | undefined;
  crashed = false;
  private base = { upload: Infinity, download: Infinity, latency: 0 };
  readonly uploadLayers = new Layers<number>();
  readonly downloadLayers = new Layers<number>();
  readonly latencyLayers = new Layers<number>();
  readonly lossLayers = new Layers<number>();
  /** The host's ends of open connections, in the order they opened. */
  readonly ends = new Set<RelayEnd>();
  readonly uplink: TokenBucket;
  readonly downlink: TokenBucket;

  constructor(
    readonly name: HostName,
    now: number,
  ) {
    this.uplink = new TokenBucket(() => this.upload, now);
    this.downlink = new TokenBucket(() => this.download, now);
  }

  setBase(o: RelayHostOptions): void {
    this.base = { upload: o.upload, download: o.download, latency: o.latency };
  }

  get upload(): number {
    return this.uploadLayers.over(this.base.upload);
  }

  get download(): number {
    return this.downloadLayers.over(this.base.download);
  }

  get latency(): number {
    return this.latencyLayers.over(this.base.latency);
  }

  get loss(): number {
    return this.lossLayers.over(0);
  }

  /** Changes the layers in `change`, the buckets first brought up to `now` at the old rates. */
  changeRates(now: number, change: () => void): void {
    this.uplink.refill(now);
    this.downlink.refill(now);
    change();
  }
}

class RelayEnd implements RelayConnection {
  readonly id: number;
  readonly dialer: HostName;
  readonly listener: HostName;

  constructor(
    readonly link: Link,
    readonly localHost: HostName,
    readonly remote: PeerAddress,
    /** What this end sends, and what it receives. */
    readonly sending: Direction,
    readonly receiving: Direction,
  ) {
    this.id = link.id;
    this.dialer = link.dialer.name;
    this.listener = link.listener.name;
  }
}

interface QueuedChunk {
  bytes: Uint8Array;
  /** How much of it has been forwarded. */
  offset: number;
  /** Not before this time (latency, jitter, retransmissions; never before the chunk ahead). */
  readyAt: number;
  /** TCP gave up on this chunk (loss): the connection resets when it comes up. */
  givesUp: boolean;
}

/** One direction of a relayed connection: what `src` sends, shaped, written to `dst`. */
class Direction {
  /** Read from; the back direction's is the relay's dial, made when the dial is forwarded. */
  src: Socket | undefined;
  dst: Socket | undefined;
  /** What was read before the connection opened, told to the taps when it does (they hear of a connection first). */
  private untapped: { bytes: Uint8Array; t: number }[] = [];
  private queue: QueuedChunk[] = [];
  private head = 0;
  private queuedBytes = 0;
  private lastReadyAt = 0;
  private delivered = 0;
  private stalls = 0;
  private routeLatency: number;
  private readonly latencyLayers = new Layers<number>();
  private readonly jitterLayers = new Layers<number>();
  private timer: { cancel(): void } | undefined;
  private waitingDrain = false;
  private readPaused = false;
  private srcEnded = false;
  private finSent = false;

  constructor(
    private readonly link: Link,
    readonly from: RelayHost,
    readonly to: RelayHost,
  ) {
    this.routeLatency = (from.latency + to.latency) / 2;
  }

  private get relay(): TcpRelay {
    return this.link.relay;
  }

  get latency(): number {
    return this.latencyLayers.over(this.routeLatency);
  }

  get stalled(): boolean {
    return this.stalls > 0;
  }

  /** The destination socket is connected: forwarding may start. */
  attach(dst: Socket): void {
    this.dst = dst;
    const untapped = this.untapped;
    this.untapped = [];
    for (const { bytes, t } of untapped) this.relay.emit((tap) => tap.sent(this.link.dialerEnd, this.from.name, bytes, t));
    dst.on('drain', () =>
      this.relay.guard('drain', () => {
        if (!this.waitingDrain) return;
        this.waitingDrain = false;
        this.pump();
      }),
    );
    this.pump();
  }

  addLatency(id: number, change: LatencyChange): void {
    this.latencyLayers.add(id, change.latency);
    if (change.jitter) this.jitterLayers.add(id, change.jitter);
  }

  removeLatency(id: number): void {
    this.latencyLayers.remove(id);
    this.jitterLayers.remove(id);
  }

  /** The relay read `buf` from `src`. */
  read(buf: Buffer): void {
    const relay = this.relay;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    const t = relay.now();
    if (this.link.isOpen) relay.emit((tap) => tap.sent(this.link.dialerEnd, this.from.name, bytes, t));
    else this.untapped.push({ bytes, t });
    // The same draws, in the same order, as the in-memory network's per batch.
    const jitter = this.jitterLayers.over(0);
    let delay = this.latency + (jitter ? relay.random.next() * jitter : 0);
    let givesUp = false;
    if (this.from.loss > 0) {
      const r = retransmissionDelay(relay.random, this.from.loss, this.latency, relay.retransmission);
      delay += r.delay;
      givesUp = r.gaveUp;
    }
    const readyAt = Math.max(t + delay, this.lastReadyAt);
    this.lastReadyAt = readyAt;
    this.queue.push({ bytes, offset: 0, readyAt, givesUp });
    this.queuedBytes += bytes.length;
    if (this.queuedBytes >= MAX_QUEUED_BYTES && !this.readPaused) {
      this.readPaused = true;
      this.src?.pause();
    }
    this.pump();
  }

  /** `src` sent its FIN: it follows what is queued. */
  ended(): void {
    this.srcEnded = true;
    this.pump();
  }

  /** The destination is gone: what is queued for it is dropped. */
  drop(): void {
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.cancelTimer();
  }

  stall(): void {
    this.stalls++;
    this.cancelTimer();
  }

  /** Ends one stall; when none is left, what was held goes on, one latency from now (as in memory), in order. */
  release(): void {
    if (this.stalls === 0 || --this.stalls > 0) return;
    const at = this.relay.now() + this.latency;
    for (let i = this.head; i < this.queue.length; i++) this.queue[i].readyAt = Math.max(this.queue[i].readyAt, at);
    if (this.head < this.queue.length) this.lastReadyAt = Math.max(this.lastReadyAt, at);
    this.pump();
  }

  /** Looks at the queue again now (a rate changed). */
  kick(): void {
    this.cancelTimer();
    this.pump();
  }

  cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private wait(delay: number): void {
    if (delay === Infinity) return; // rate 0: a rate change kicks us
    this.timer = this.relay.setTimer(delay, () => {
      this.timer = undefined;
      this.pump();
    });
  }

  /** Past the head chunk; forwarded chunks are let go of as the queue moves, not only when it empties (a busy stream may never empty it). */
  private advance(): void {
    this.head++;
    if (this.head >= 64 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Forwards what is due, as fast as the buckets and the destination socket allow. */
  pump(): void {
    const dst = this.dst;
    if (!dst || this.link.closed || this.stalls > 0 || this.timer || this.waitingDrain) return;
    const relay = this.relay;
    while (this.head < this.queue.length) {
      const chunk = this.queue[this.head];
      const now = relay.now();
      if (chunk.readyAt > now) return this.wait(chunk.readyAt - now);
      if (chunk.givesUp) return this.link.reset('retransmission timed out');
      const left = chunk.bytes.length - chunk.offset;
      const allowed = Math.min(left, this.from.uplink.available(now), this.to.downlink.available(now));
      const least = Math.min(left, SLICE_BYTES);
      if (allowed < least) return this.wait(Math.max(this.from.uplink.waitFor(least), this.to.downlink.waitFor(least)));
      this.from.uplink.take(allowed);
      this.to.downlink.take(allowed);
      const slice = chunk.bytes.subarray(chunk.offset, chunk.offset + allowed);
      chunk.offset += allowed;
      if (chunk.offset === chunk.bytes.length) this.advance();
      this.queuedBytes -= allowed;
      this.delivered += allowed;
      const room = dst.write(slice);
      const total = this.delivered;
      relay.emit((tap) => tap.delivered(this.link.dialerEnd, this.to.name, total, now));
      if (this.readPaused && this.queuedBytes < RESUME_BELOW) {
        this.readPaused = false;
        this.src?.resume();
      }
      if (this.link.closed) return; // a tap or the write closed it
      if (!room) {
        this.waitingDrain = true;
        return;
      }
    }
    this.queue = [];
    this.head = 0;
    if (this.srcEnded && !this.finSent) {
      this.finSent = true;
      dst.end();
    }
  }
}

/** One relayed connection: the dialer's socket (accepted on the listener's public port) and the relay's own to the listener's private port. */
class Link {
  readonly dialerEnd: RelayEnd;
  listenerEnd: RelayEnd | undefined;
  readonly forward: Direction;
  readonly back: Direction;
  private outbound: Socket | undefined;
  private state: 'waiting' | 'dialling' | 'open' | 'closed' = 'waiting';
  private linger: { cancel(): void } | undefined;

  constructor(
    readonly relay: TcpRelay,
    readonly id: number,
    readonly dialer: RelayHost,
    readonly listener: RelayHost,
    private readonly inbound: Socket,
  ) {
    this.forward = new Direction(this, dialer, listener);
    this.back = new Direction(this, listener, dialer);
    this.forward.src = inbound;
    this.dialerEnd = new RelayEnd(this, dialer.name, { host: listener.name, port: PUBLIC_PORT }, this.forward, this.back);
    inbound.setNoDelay(true);
    this.watch(inbound, this.forward, this.back);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  private get label(): string {
    return `#${this.id} ${this.dialer.name} → ${this.listener.name}`;
  }

  /** Forwards the dial: the relay dials the listener's private port from the dialer's IP. */
  dial(): void {
    if (this.state !== 'waiting') return;
    this.state = 'dialling';
    const outbound = new Socket({ allowHalfOpen: true });
    this.outbound = outbound;
    this.back.src = outbound;
    outbound.setNoDelay(true);
    this.watch(outbound, this.back, this.forward);
    outbound.once('connect', () => this.relay.guard(`${this.label} connect`, () => this.opened(outbound), () => this.fail('internal error')));
    outbound.connect({ host: this.listener.name, port: PRIVATE_PORT, localAddress: this.dialer.name });
  }

  private opened(outbound: Socket): void {
    if (this.state !== 'dialling') return;
    this.state = 'open';
    this.listenerEnd = new RelayEnd(this, this.listener.name, { host: this.dialer.name, port: outbound.localPort ?? 0 }, this.back, this.forward);
    this.dialer.ends.add(this.dialerEnd);
    this.listener.ends.add(this.listenerEnd);
    this.relay.opened(this);
    const t = this.relay.now();
    this.relay.emit((tap) => tap.opened?.(this.dialerEnd, t));
    if (this.dialer.crashed || this.listener.crashed) return this.reset('host gone');
    this.forward.attach(outbound);
    this.back.attach(this.inbound);
  }

  /** Event handlers of one socket: `out` is what it sends, `into` what it receives. */
  private watch(socket: Socket, out: Direction, into: Direction): void {
    const relay = this.relay;
    const fail = () => this.fail('internal error');
    socket.on('data', (buf: Buffer) => relay.guard(`${this.label} data`, () => out.read(buf), fail));
    socket.on('end', () =>
      relay.guard(
        `${this.label} end`,
        () => {
          // A dialer that gives up before its dial was forwarded: nothing to carry on.
          if (this.state === 'waiting' || this.state === 'dialling') this.destroy('dialer closed before the dial was forwarded');
          else out.ended();
        },
        fail,
      ),
    );
    socket.on('error', (err) =>
      relay.guard(`${this.label} error`, () => {
        const side = socket === this.inbound ? this.dialer.name : this.listener.name;
        relay.log(`relay: ${this.label}: ${side}'s socket: ${errorText(err)}`);
        this.fail(socket === this.outbound && this.state === 'dialling' ? `dial failed: ${errorText(err)}` : `${side}: ${errorText(err)}`);
      }),
    );
    socket.on('close', () =>
      relay.guard(
        `${this.label} close`,
        () => {
          into.drop();
          this.socketClosed();
          // Its FIN (or its end) follows what it sent; the other side is cut off if its peer lingers.
          out.ended();
          if (!this.closed && !this.linger) this.linger = relay.setTimer(CLOSE_LINGER, () => this.destroy('closed by the other side'));
        },
        fail,
      ),
    );
  }

  private sockets(): Socket[] {
    return this.outbound ? [this.inbound, this.outbound] : [this.inbound];
  }

  private socketClosed(): void {
    if (this.sockets().every((s) => s.destroyed) && (this.state !== 'waiting' || this.inbound.destroyed)) this.finish('closed');
  }

  /** A real RST on both sockets now (reset, crash, TCP giving up). */
  reset(reason: string): void {
    if (this.closed) return;
    this.relay.log(`relay: ${this.label} reset: ${reason}`);
    for (const s of this.sockets()) {
      if (s.destroyed) continue;
      if (s.connecting) s.destroy();
      else s.resetAndDestroy();
    }
    this.finish(reason);
  }

  /** One socket failed: the other gets a RST, so both ends hear it. */
  private fail(reason: string): void {
    this.reset(reason);
  }

  /** Closes both sockets now (relay closing, a dial given up); resolves when they are closed. */
  destroy(reason: string): Promise<void>[] {
    const closing = this.sockets().map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve()))));
    for (const s of this.sockets()) s.destroy();
    this.finish(reason);
    return closing;
  }

  private finish(reason: string): void {
    if (this.closed) return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.forward.cancelTimer();
    this.back.cancelTimer();
    this.linger?.cancel();
    this.dialer.ends.delete(this.dialerEnd);
    if (this.listenerEnd) this.listener.ends.delete(this.listenerEnd);
    this.relay.forget(this);
    if (wasOpen) {
      const t = this.relay.now();
      this.relay.emit((tap) => tap.closed?.(this.dialerEnd, t, reason));
    }
  }

  /** Both directions look at their queues again. */
  kick(): void {
    this.forward.kick();
    this.back.kick();
  }
}
