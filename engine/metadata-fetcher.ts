// The MetadataFetcher: resolves a magnet link's info-hash into the torrent's info dictionary by
// asking peers for it over BEP 9 (ut_metadata), one MetaPeer per connection — connections it dials
// and connections it accepts (a seed that dials us, having found us on the tracker, can deliver it).
//
// Pure: driven through the engine's ports like the Client.

import type { NodeId, OffChartPolicy } from './flowchart.ts';
import { ExtensionError, type ExtHandshake, encodeExtHandshake, encodeMetadataMessage, MetadataAssembler, type MetadataMessage, parseExtHandshake, parseMetadataMessage, UT_METADATA_ID } from './metadata.ts';
import { PeerKey } from './peer-key.ts';
import { PeerWire } from './peer-wire.ts';
import { dialFromList } from './peer-manager.ts';
import { PeerList } from './peer-list.ts';
import { addressKey, type AnnouncePeer, type Clock, type Connection, type Network, type PeerAddress, type TimerHandle, type TrackerPort } from './ports.ts';
import { reservedBytes, supportsExtensionProtocol } from './reserved-bits.ts';
import { defaultSettings } from './settings.ts';
import { TrackerClient } from './tracker-client.ts';
import type { TraceSink } from './trace.ts';
import { encodeMessage, type Handshake, type Message } from './wire.ts';

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

/** Wait before dialling an address again after it failed, times its failures in a row (at most 6: 30 s). */
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
  private readonly peers = new Map<PeerKey, MetaPeer>();
  /**
   * Where peers that dialled us listen (their address's host, the port of their BEP 10 handshake),
   * so the download that follows can dial them back; bounded like one tracker reply (`maxPeersPerReply`).
   */
  private readonly listening = new Map<string, PeerAddress>();
  /** The peer list, bounded like the Client's (`maxPeerList`); retired addresses sent wrong metadata. */
  private readonly known = new PeerList({ maxSize: defaultSettings.maxPeerList, backoff: (failures) => FETCH_RETRY * Math.min(failures, 6), countFrom: 'dial-end' });
  private readonly tracker: TrackerClient;
  private info: Uint8Array | undefined;
  private ticker: TimerHandle | undefined;
  private listener: { stop(): void } | undefined;
  private running = false;
  private nextKey = 0;
  /** @internal */
  readonly labelOf: (a: PeerAddress) => string;
  /** Who an address is for the per-IP limit: its host, as the Client's default. */
  private readonly banKeyOf = (a: PeerAddress): string => a.host;

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
    this.listener = this.o.network.listen((conn) => this.accept(conn));
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
    this.listener?.stop();
    this.listener = undefined;
    for (const p of [...this.peers.values()]) p.close(reason);
    this.tracker.stop();
  }

  addPeer(address: PeerAddress): void {
    this.addPeers([address]);
  }

  /** Learns addresses (past `maxPeerList`, one not in use is forgotten, as the Peer Manager does), then dials. */
  addPeers(addresses: readonly AnnouncePeer[]): void {
    const self = addressKey(this.o.network.localAddress);
    for (const address of addresses) {
      if (addressKey(address) === self || this.known.has(address)) continue;
      if (this.known.full && !this.known.forgetOne(this.dialledAddresses())) continue;
      this.known.add(address);
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

  /** Connections that finished their handshake: a fetch with none has nobody to ask. */
  get connectionCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.handshaken) n++;
    return n;
  }

  /** Peers that dialled us and told their listening port: for the download to dial once the metadata is here. */
  get inboundPeers(): PeerAddress[] {
    return [...this.listening.values()];
  }

  /** @internal An inbound peer's listening address, from its extension handshake. */
  heardOf(address: PeerAddress): void {
    if (this.listening.size < defaultSettings.maxPeersPerReply) this.listening.set(addressKey(address), address);
  }

  /** @internal The peer sent metadata that is not the torrent's: it is not dialled again. */
  spoiled(peer: MetaPeer): void {
    if (!peer.conn.inbound) this.known.retire(peer.conn.remote);
  }

  /** @internal */
  gone(peer: MetaPeer): void {
    this.peers.delete(peer.key);
    if (!peer.conn.inbound) this.known.dialEnded(peer.conn.remote, peer.handshaken, this.o.clock.now());
    this.dialMore();
  }

  /**
   * An inbound connection: taken while fetching, within the connection limit (shared with our
   * dials) and the per-IP limit, as the Peer Manager takes them; otherwise closed at once.
   */
  private accept(conn: Connection): void {
    const banKey = this.banKeyOf(conn.remote);
    let sameIp = 0;
    for (const p of this.peers.values()) if (p.key.banKey === banKey) sameIp++;
    if (!this.running || this.peers.size >= (this.o.maxConnections ?? 8) || sameIp >= defaultSettings.maxConnectionsPerIp) {
      conn.close();
      return;
    }
    const peer = new MetaPeer(this, conn, new PeerKey(this.labelOf(conn.remote), banKey, this.nextKey++));
    if (!peer.closed) this.peers.set(peer.key, peer);
  }

  /** Addresses we are connected or connecting to: never forgotten. */
  private dialledAddresses(): Set<string> {
    return new Set([...this.peers.values()].map((p) => addressKey(p.conn.remote)));
  }

  /** The Peer Manager's dial loop, with the fetcher's own connection limit. */
  private dialMore(): void {
    if (!this.running) return;
    const max = this.o.maxConnections ?? 8;
    dialFromList(this.known, {
      now: this.o.clock.now(),
      connections: [...this.peers.values()].map((p) => ({ label: p.key.label, banKey: p.key.banKey })),
      maxPerIp: defaultSettings.maxConnectionsPerIp,
      labelOf: this.labelOf,
      banKeyOf: this.banKeyOf,
      isBanned: () => false,
      room: () => this.peers.size < max,
      dial: (address) => {
        const peer = new MetaPeer(this, this.o.network.connect(address), new PeerKey(this.labelOf(address), this.banKeyOf(address), this.nextKey++));
        if (!peer.closed) this.peers.set(peer.key, peer);
      },
    });
  }
}

/** One connection of the fetcher: handshake, extension handshake, ut_metadata requests. */
class MetaPeer {
  /** The Peer process's decoder, handshake checks, step trace and exit sequence (engine/peer-wire.ts). */
  private readonly wire: PeerWire;
  private phase: 'handshake' | 'loop' | 'closed' = 'handshake';
  private remoteId: number | undefined;
  /** This peer's copy, at the size it announced. */
  private assembler: MetadataAssembler | undefined;
  private readonly startedAt: number;
  /** Metadata requests the peer sent us; we hold no metadata, so none can be served. */
  private unserved = 0;
  readonly remoteLabel: string;

  constructor(
    private readonly f: MetadataFetcher,
    readonly conn: Connection,
    readonly key: PeerKey,
  ) {
    this.remoteLabel = key.label;
    this.wire = new PeerWire(f.o, conn, key.label, f.o.maxMessageLength, f.o.offChartSteps ?? defaultSettings.offChartSteps, `metadata fetcher ${f.o.label}`);
    this.startedAt = f.o.clock.now();
    conn.setHandler({
      open: () => this.sendHandshake(),
      data: (bytes) => this.onData(bytes),
      drain: () => {},
      close: (reason) => this.exit(reason ?? 'closed by remote'),
    });
    this.step('connect', { inbound: conn.inbound });
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  /** Ours: on open for a dial, after theirs for a connection we accepted. */
  private sendHandshake(): void {
    this.write(this.wire.handshake(reservedBytes({ extensionProtocol: true, fast: false })));
  }

  /** The BEP 3 handshake went through. */
  get handshaken(): boolean {
    return this.phase === 'loop';
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
    this.wire.receive(bytes);
    while (!this.closed) {
      const item = this.wire.next(this.phase === 'handshake');
      if (item === undefined) return;
      if (typeof item === 'string') return this.exit(item);
      if (item.kind === 'handshake') this.onHandshake(item.handshake);
      else this.onMessage(item.message);
    }
  }

  private onHandshake(h: Handshake): void {
    const fault =
      this.wire.handshakeFault(h) ??
      (!supportsExtensionProtocol(h.reserved) ? 'the peer does not speak the extension protocol (BEP 10), so it cannot send metadata' : undefined);
    this.step('handshake', fault ? { ok: false, reason: fault } : { ok: true });
    if (fault) return this.exit(fault);
    this.phase = 'loop';
    if (this.conn.inbound) this.sendHandshake();
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
    if (this.conn.inbound && h.port !== undefined) this.f.heardOf({ host: this.conn.remote.host, port: h.port });
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
    // BEP 9/10: a msg_type we do not know is ignored, not a reason to close.
    if (m.kind === 'unknown') return this.step('loop');
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
    // Nothing to give back; the fetcher forgets the connection after the disconnect event.
    this.wire.finish(reason, () => 0, () => {});
    this.f.gone(this);
  }

  private step(node: NodeId, extra?: Record<string, unknown>): void {
    this.wire.step(node, extra);
  }
}
