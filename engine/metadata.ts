// BEP 10 extension-protocol handshake and BEP 9 metadata exchange (ut_metadata): the codecs, the
// assembler that rebuilds and checks an info dictionary, and the MetadataFetcher, which resolves a
// magnet link's info-hash into the torrent's info dictionary by asking peers for it.
//
// Pure: the fetcher is driven through the engine's ports like the Client. Every fault in what a
// peer sends (bad bencoding, absurd sizes, wrong piece, wrong hash) is an ExtensionError, which
// the caller turns into a traced exit and a dropped connection.

import { asBytes, asInt, asText, BdecodeError, type BDict, bdecodePrefix, bencodeValue, isDict } from './bdecode.ts';
import { type NodeId, type OffChartPolicy, StepTracker } from './flowchart.ts';
import { sha1 } from './metainfo.ts';
import { addressKey, type AnnouncePeer, type Clock, type Connection, type Network, type PeerAddress, type TimerHandle, type TrackerPort } from './ports.ts';
import { defaultSettings } from './settings.ts';
import { TrackerClient } from './tracker-client.ts';
import type { TraceSink } from './trace.ts';
import { encodeHandshake, encodeMessage, type Handshake, type Message, WireDecoder, WireError } from './wire.ts';

/** Metadata travels in pieces of 16 KiB (BEP 9). */
export const METADATA_PIECE_SIZE = 16384;
/** The extended message id we assign to ut_metadata in our handshake. */
export const UT_METADATA_ID = 2;
/** Largest info dictionary we accept from a peer. */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024;

/** Reserved-byte bits: BEP 10 (byte 5, 0x10) and BEP 6 (byte 7, 0x04). */
export const RESERVED_EXTENSION_PROTOCOL = { byte: 5, bit: 0x10 } as const;
export const RESERVED_FAST = { byte: 7, bit: 0x04 } as const;

export function reservedBytes(o: { extensionProtocol: boolean; fast: boolean }): Uint8Array {
  const r = new Uint8Array(8);
  if (o.extensionProtocol) r[RESERVED_EXTENSION_PROTOCOL.byte] |= RESERVED_EXTENSION_PROTOCOL.bit;
  if (o.fast) r[RESERVED_FAST.byte] |= RESERVED_FAST.bit;
  return r;
}

export function supportsExtensionProtocol(reserved: Uint8Array): boolean {
  return (reserved[RESERVED_EXTENSION_PROTOCOL.byte] & RESERVED_EXTENSION_PROTOCOL.bit) !== 0;
}

export function supportsFast(reserved: Uint8Array): boolean {
  return (reserved[RESERVED_FAST.byte] & RESERVED_FAST.bit) !== 0;
}

export class ExtensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtensionError';
  }
}

// ---- BEP 10 handshake ----------------------------------------------------------------------------

export interface ExtHandshake {
  /** The remote's id for ut_metadata, when it speaks it (0 means it disabled it). */
  utMetadata?: number;
  metadataSize?: number;
  client?: string;
  /** How many outstanding requests the remote allows. */
  reqq?: number;
  /** The remote's listening port. */
  port?: number;
}

export function encodeExtHandshake(o: { metadataSize?: number; port?: number; client?: string; reqq?: number }): Uint8Array {
  const d: BDict = { m: { ut_metadata: UT_METADATA_ID } };
  if (o.metadataSize !== undefined) d.metadata_size = o.metadataSize;
  if (o.port !== undefined && o.port > 0) d.p = o.port;
  if (o.client !== undefined) d.v = new TextEncoder().encode(o.client);
  if (o.reqq !== undefined) d.reqq = o.reqq;
  return bencodeValue(d);
}

export function parseExtHandshake(payload: Uint8Array): ExtHandshake {
  const d = decodeDict(payload, 'extension handshake', false).dict;
  const out: ExtHandshake = {};
  const m = d.m;
  if (m !== undefined && !isDict(m)) throw new ExtensionError('extension handshake: "m" is not a dictionary');
  if (isDict(m)) {
    const id = asInt(m.ut_metadata);
    if (id !== undefined) {
      if (!(id >= 0 && id <= 255)) throw new ExtensionError(`extension handshake: ut_metadata id ${id} is not in 0..255`);
      out.utMetadata = id;
    }
  }
  const size = asInt(d.metadata_size);
  if (size !== undefined) {
    if (!(size > 0 && size <= MAX_METADATA_SIZE)) throw new ExtensionError(`extension handshake: metadata_size ${size} is not in 1..${MAX_METADATA_SIZE}`);
    out.metadataSize = size;
  }
  const v = asText(d.v);
  if (v !== undefined) out.client = v.slice(0, 64);
  const reqq = asInt(d.reqq);
  if (reqq !== undefined && reqq > 0) out.reqq = reqq;
  const p = asInt(d.p);
  if (p !== undefined && p > 0 && p <= 0xffff) out.port = p;
  return out;
}

// ---- BEP 9 messages ------------------------------------------------------------------------------

export type MetadataMessage =
  | { kind: 'request'; piece: number }
  | { kind: 'data'; piece: number; totalSize: number; data: Uint8Array }
  | { kind: 'reject'; piece: number };

const MSG_TYPE = { request: 0, data: 1, reject: 2 } as const;

export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  const d: BDict = { msg_type: MSG_TYPE[m.kind], piece: m.piece };
  if (m.kind === 'data') d.total_size = m.totalSize;
  const head = bencodeValue(d);
  if (m.kind !== 'data') return head;
  const out = new Uint8Array(head.length + m.data.length);
  out.set(head);
  out.set(m.data, head.length);
  return out;
}

export function parseMetadataMessage(payload: Uint8Array): MetadataMessage {
  const { dict: d, end } = decodeDict(payload, 'ut_metadata message', true);
  const type = asInt(d.msg_type);
  const piece = asInt(d.piece);
  if (piece === undefined || piece < 0 || piece > MAX_METADATA_SIZE / METADATA_PIECE_SIZE) {
    throw new ExtensionError(`ut_metadata message: piece ${String(piece)} is missing or out of range`);
  }
  if (type === 0 || type === 2) {
    if (end !== payload.length) throw new ExtensionError('ut_metadata message: trailing bytes after a request or reject');
    return { kind: type === 0 ? 'request' : 'reject', piece };
  }
  if (type === 1) {
    const totalSize = asInt(d.total_size);
    if (totalSize === undefined || totalSize <= 0 || totalSize > MAX_METADATA_SIZE) {
      throw new ExtensionError(`ut_metadata data: total_size ${String(totalSize)} is missing or not in 1..${MAX_METADATA_SIZE}`);
    }
    return { kind: 'data', piece, totalSize, data: payload.subarray(end) };
  }
  throw new ExtensionError(`ut_metadata message: unknown msg_type ${String(type)}`);
}

function decodeDict(payload: Uint8Array, what: string, prefix: boolean): { dict: BDict; end: number } {
  let decoded;
  try {
    decoded = bdecodePrefix(payload);
  } catch (err) {
    if (err instanceof BdecodeError) throw new ExtensionError(`${what}: ${err.message}`);
    throw err;
  }
  if (!isDict(decoded.value)) throw new ExtensionError(`${what}: not a dictionary`);
  if (!prefix && decoded.end !== payload.length) throw new ExtensionError(`${what}: trailing bytes after the dictionary`);
  return { dict: decoded.value, end: decoded.end };
}

/** Byte size of metadata piece `piece` of an info dictionary of `total` bytes. */
export function metadataPieceLength(total: number, piece: number): number {
  return Math.min(METADATA_PIECE_SIZE, total - piece * METADATA_PIECE_SIZE);
}

export function metadataPieceCount(total: number): number {
  return Math.ceil(total / METADATA_PIECE_SIZE);
}

/** Collects metadata pieces; checks the whole against the info-hash. */
export class MetadataAssembler {
  private readonly bytes: Uint8Array;
  private readonly got: boolean[];
  private count = 0;

  constructor(
    readonly size: number,
    private readonly infoHash: Uint8Array,
  ) {
    if (!(size > 0 && size <= MAX_METADATA_SIZE)) throw new ExtensionError(`metadata size ${size} is not in 1..${MAX_METADATA_SIZE}`);
    this.bytes = new Uint8Array(size);
    this.got = new Array(metadataPieceCount(size)).fill(false);
  }

  get pieceCount(): number {
    return this.got.length;
  }

  get complete(): boolean {
    return this.count === this.got.length;
  }

  missing(): number[] {
    const out: number[] = [];
    this.got.forEach((g, i) => !g && out.push(i));
    return out;
  }

  /** Stores a piece; throws ExtensionError when it does not fit. */
  add(piece: number, totalSize: number, data: Uint8Array): void {
    if (totalSize !== this.size) throw new ExtensionError(`metadata piece says total_size ${totalSize}, expected ${this.size}`);
    if (!(piece >= 0 && piece < this.got.length)) throw new ExtensionError(`metadata piece ${piece} is out of range 0..${this.got.length - 1}`);
    const want = metadataPieceLength(this.size, piece);
    if (data.length !== want) throw new ExtensionError(`metadata piece ${piece} is ${data.length} bytes, expected ${want}`);
    if (this.got[piece]) return;
    this.bytes.set(data, piece * METADATA_PIECE_SIZE);
    this.got[piece] = true;
    this.count++;
  }

  /** The info dictionary when complete and its SHA1 is the info-hash; undefined otherwise. */
  verified(): Uint8Array | undefined {
    if (!this.complete) return undefined;
    const digest = sha1(this.bytes);
    for (let i = 0; i < 20; i++) if (digest[i] !== this.infoHash[i]) return undefined;
    return this.bytes;
  }
}

// ---- The fetcher ---------------------------------------------------------------------------------

export interface MetadataFetcherOptions {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  /** Our name in the trace. */
  label: string;
  clock: Clock;
  network: Network;
  tracker: TrackerPort;
  trace: TraceSink;
  /** Called once with the verified info dictionary; the fetcher has stopped by then. */
  onMetadata: (info: Uint8Array) => void;
  labelOf?: (address: PeerAddress) => string;
  /** Most connections at once (default 8). */
  maxConnections?: number;
  /** A peer that has not given us the metadata in this long is dropped (ms, default 30 s). */
  peerTimeout?: number;
  maxMessageLength?: number;
  /** A step off the flowchart: see `EngineSettings.offChartSteps` (default 'throw'; live mode 'record'). */
  offChartSteps?: OffChartPolicy;
}

/** Wait before dialling an address again after it failed. */
const FETCH_RETRY = 5_000;

/**
 * Resolves an info-hash to its info dictionary over BEP 9. Peers come from the tracker (announced
 * with `left` unknown) and from `addPeer`.
 *
 * Each peer's metadata is assembled apart, at the size that peer announced: a peer that lies about
 * `metadata_size` or sends bytes that do not hash to the info-hash spoils only its own copy. It is
 * dropped and never dialled again; the others go on. Memory: at most `maxConnections` copies of
 * at most MAX_METADATA_SIZE each.
 */
export class MetadataFetcher {
  private readonly peers = new Map<string, MetaPeer>();
  /** The peer list, bounded like the Client's (`maxPeerList`); `bad` ones sent wrong metadata. */
  private readonly known = new Map<string, { address: PeerAddress; notBefore: number; bad: boolean }>();
  private readonly tracker: TrackerClient;
  private info: Uint8Array | undefined;
  private ticker: TimerHandle | undefined;
  private running = false;
  private nextKey = 0;
  /** @internal */
  readonly labelOf: (a: PeerAddress) => string;

  constructor(readonly o: MetadataFetcherOptions) {
    this.labelOf = o.labelOf ?? addressKey;
    this.tracker = new TrackerClient({
      port: o.tracker,
      clock: o.clock,
      request: (event) => ({
        infoHash: o.infoHash,
        peerId: o.peerId,
        port: o.network.localAddress.port,
        uploaded: 0,
        downloaded: 0,
        left: 1, // unknown until the metadata is here; not zero, or we would look like a seed
        event,
        numWant: 50,
      }),
      onPeers: (peers) => this.addPeers(peers.slice(0, defaultSettings.maxPeersPerReply)),
      onResult: (event, result) => this.o.trace.emit({ t: this.o.clock.now(), peer: this.o.label, kind: 'announce', event, ...result }),
      retryDelay: 5_000,
    });
  }

  get done(): boolean {
    return !this.running && this.info !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.tracker.start();
    const tick = () => {
      this.ticker = this.o.clock.setTimer(1_000, () => {
        if (!this.running) return;
        for (const p of [...this.peers.values()]) p.tick();
        this.dialMore();
        tick();
      });
    };
    tick();
  }

  stop(reason = 'stopped'): void {
    if (!this.running) return;
    this.running = false;
    this.ticker?.cancel();
    for (const p of [...this.peers.values()]) p.close(reason);
    this.tracker.stop();
  }

  addPeer(address: PeerAddress): void {
    this.addPeers([address]);
  }

  /** Learns addresses (past `maxPeerList`, new ones are ignored: a few thousand are plenty), then dials. */
  addPeers(addresses: readonly AnnouncePeer[]): void {
    const self = addressKey(this.o.network.localAddress);
    for (const address of addresses) {
      const key = addressKey(address);
      if (key === self || this.known.has(key) || this.known.size >= defaultSettings.maxPeerList) continue;
      this.known.set(key, { address: { host: address.host, port: address.port }, notBefore: 0, bad: false });
    }
    this.dialMore();
  }

  /** @internal */
  finished(info: Uint8Array): void {
    if (!this.running) return;
    this.info = info;
    this.stop('metadata complete');
    this.o.onMetadata(info);
  }

  /** @internal The peer sent metadata that is not the torrent's: it is not dialled again. */
  spoiled(peer: MetaPeer): void {
    const k = this.known.get(addressKey(peer.conn.remote));
    if (k) k.bad = true;
  }

  /** @internal */
  gone(peer: MetaPeer): void {
    this.peers.delete(peer.key);
    const k = this.known.get(addressKey(peer.conn.remote));
    if (k) k.notBefore = this.o.clock.now() + FETCH_RETRY;
    this.dialMore();
  }

  private dialMore(): void {
    if (!this.running) return;
    const max = this.o.maxConnections ?? 8;
    const now = this.o.clock.now();
    const busy = new Set([...this.peers.values()].filter((p) => !p.conn.inbound).map((p) => addressKey(p.conn.remote)));
    for (const k of this.known.values()) {
      if (this.peers.size >= max) return;
      const key = addressKey(k.address);
      if (busy.has(key) || k.notBefore > now || k.bad) continue;
      busy.add(key);
      const peer = new MetaPeer(this, this.o.network.connect(k.address), `${key}#${this.nextKey++}`);
      if (!peer.closed) this.peers.set(peer.key, peer);
    }
  }
}

/** One connection of the fetcher: handshake, extension handshake, ut_metadata requests. */
class MetaPeer {
  private readonly decoder: WireDecoder;
  private phase: 'handshake' | 'loop' | 'closed' = 'handshake';
  private remoteId: number | undefined;
  /** This peer's copy, at the size it announced. */
  private assembler: MetadataAssembler | undefined;
  private readonly startedAt: number;
  /** Metadata requests the peer sent us; we hold no metadata, so none can be served. */
  private unserved = 0;
  readonly remoteLabel: string;
  /** Where this connection is on the flowchart (checked like a Peer process's). */
  private readonly position: StepTracker;

  constructor(
    private readonly f: MetadataFetcher,
    readonly conn: Connection,
    readonly key: string,
  ) {
    this.remoteLabel = f.labelOf(conn.remote);
    this.position = new StepTracker(
      f.o.offChartSteps ?? defaultSettings.offChartSteps,
      () => `metadata fetcher ${f.o.label}, connection to ${this.remoteLabel}`,
      (error) => f.o.trace.emit({ t: f.o.clock.now(), peer: f.o.label, remote: this.remoteLabel, kind: 'violation', check: 'flowchart', detail: error.message }),
    );
    this.decoder = new WireDecoder({ maxMessageLength: f.o.maxMessageLength });
    this.startedAt = f.o.clock.now();
    conn.setHandler({
      open: () => this.write(encodeHandshake({ infoHash: f.o.infoHash, peerId: f.o.peerId, reserved: reservedBytes({ extensionProtocol: true, fast: false }) })),
      data: (bytes) => this.onData(bytes),
      drain: () => {},
      close: (reason) => this.exit(reason ?? 'closed by remote'),
    });
    this.step('connect', { inbound: conn.inbound });
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  tick(): void {
    if (this.phase === 'closed' || this.f.o.clock.now() - this.startedAt <= (this.f.o.peerTimeout ?? 30_000)) return;
    if (this.phase === 'loop') {
      this.step('tick');
      this.step('idleTimeout', { silentFor: this.f.o.clock.now() - this.startedAt });
    }
    this.exit('no metadata in time');
  }

  close(reason: string): void {
    this.exit(reason);
  }

  private onData(bytes: Uint8Array): void {
    if (this.phase === 'closed') return;
    let items;
    try {
      items = this.decoder.push(bytes);
    } catch (err) {
      const reason = err instanceof WireError ? err.message : String(err);
      if (this.phase === 'handshake') {
        this.step('handshake', { ok: false, reason: `bad handshake: ${reason}` });
      } else this.step('caseMsg', { error: reason });
      return this.exit(`malformed message: ${reason}`);
    }
    for (const item of items) {
      if (this.closed) return;
      if (item.kind === 'handshake') this.onHandshake(item.handshake);
      else this.onMessage(item.message);
    }
  }

  private onHandshake(h: Handshake): void {
    const fault = !equal(h.infoHash, this.f.o.infoHash)
      ? 'info-hash is not ours'
      : equal(h.peerId, this.f.o.peerId)
        ? 'connected to ourselves'
        : !supportsExtensionProtocol(h.reserved)
          ? 'the peer does not speak the extension protocol (BEP 10), so it cannot send metadata'
          : undefined;
    this.step('handshake', fault ? { ok: false, reason: fault } : { ok: true });
    if (fault) return this.exit(fault);
    this.phase = 'loop';
    this.step('sendExtHandshake');
    this.send({ type: 'extended', id: 0, payload: encodeExtHandshake({ client: 'swarmlab', port: this.f.o.network.localAddress.port }) });
    this.step('loop');
  }

  private onMessage(m: Message): void {
    this.step('caseMsg');
    if (m.type !== 'extended') {
      this.step('ignored', { type: m.type });
      return this.step('loop');
    }
    this.step('extended', { id: m.id });
    try {
      if (m.id === 0) return this.onExtHandshake(m.payload);
      if (m.id === UT_METADATA_ID) return this.onMetadataMessage(m.payload);
    } catch (err) {
      if (!(err instanceof ExtensionError)) throw err;
      return this.exit(err.message);
    }
    this.step('loop');
  }

  private onExtHandshake(payload: Uint8Array): void {
    let h: ExtHandshake;
    try {
      h = parseExtHandshake(payload);
    } catch (err) {
      this.step('extHandshake', { ok: false, reason: (err as Error).message });
      return this.exit((err as Error).message);
    }
    const fault = !h.utMetadata ? 'the peer does not offer ut_metadata' : h.metadataSize === undefined ? 'the peer gave no metadata_size' : undefined;
    this.step('extHandshake', { ok: !fault, ...(fault ? { reason: fault } : {}), metadataSize: h.metadataSize, client: h.client });
    if (fault) return this.exit(fault);
    this.remoteId = h.utMetadata;
    this.assembler ??= new MetadataAssembler(h.metadataSize!, this.f.o.infoHash);
    const pieces = this.assembler.missing();
    this.step('requestMetadata', { pieces: pieces.length });
    for (const piece of pieces) this.sendMetadata({ kind: 'request', piece });
    this.step('loop');
  }

  private onMetadataMessage(payload: Uint8Array): void {
    const m = parseMetadataMessage(payload);
    if (m.kind === 'request') {
      // We have nothing to give yet: a REJECT each, while the peer reads them, and a peer that
      // keeps asking is dropped — its requests must not grow our send queue (issue 8).
      this.unserved++;
      const room = this.conn.bufferedBytes() < defaultSettings.sendQueueWatermark;
      this.step('metadataRequest', { piece: m.piece, served: false, ...(room ? {} : { dropped: 'send queue full' }) });
      if (this.unserved > defaultSettings.maxUnservedRequests) {
        this.step('loop');
        return this.exit(`request flood: ${this.unserved} metadata requests while we have no metadata`);
      }
      if (room) this.sendMetadata({ kind: 'reject', piece: m.piece });
      return this.step('loop');
    }
    if (m.kind === 'reject') {
      this.step('metadataReject', { piece: m.piece });
      return this.exit(`the peer rejected metadata piece ${m.piece}`);
    }
    this.step('metadataData', { piece: m.piece, length: m.data.length });
    const assembler = this.assembler;
    if (this.remoteId === undefined || !assembler) throw new ExtensionError('ut_metadata data before the extension handshake');
    try {
      // A total_size other than the peer's own metadata_size, a piece of the wrong length: it lies.
      assembler.add(m.piece, m.totalSize, m.data);
    } catch (err) {
      this.f.spoiled(this);
      throw err;
    }
    if (!assembler.complete) return this.step('loop');
    const info = assembler.verified();
    this.step('metadataCheck', { ok: info !== undefined });
    if (!info) {
      this.f.spoiled(this);
      return this.exit('metadata does not match the info-hash');
    }
    this.f.finished(info.slice());
  }

  private sendMetadata(m: MetadataMessage): void {
    if (this.remoteId) this.send({ type: 'extended', id: this.remoteId, payload: encodeMetadataMessage(m) });
  }

  private send(m: Message): void {
    this.write(encodeMessage(m));
  }

  private write(bytes: Uint8Array | Uint8Array[]): void {
    if (this.phase !== 'closed') this.conn.write(bytes);
  }

  private exit(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.step('exit', { reason });
    this.step('cleanup', { given: 0 });
    this.conn.close();
    this.f.o.trace.emit({ t: this.f.o.clock.now(), peer: this.f.o.label, remote: this.remoteLabel, kind: 'disconnect', reason });
    this.f.gone(this);
  }

  private step(node: NodeId, extra?: Record<string, unknown>): void {
    this.position.enter(node);
    this.f.o.trace.emit({ t: this.f.o.clock.now(), peer: this.f.o.label, remote: this.remoteLabel, kind: 'step', node, ...extra });
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
