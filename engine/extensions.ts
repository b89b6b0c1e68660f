// The Peer process's extensions: BEP 6 Fast (have-all, have-none, reject, allowed-fast, suggest)
// and BEP 10 (the extension handshake, BEP 9 ut_metadata requests served from our info
// dictionary, and BEP 11 ut_pex messages, taken and sent). Kept apart from peer.ts, which hands this class the few hooks it needs. Every step
// is traced with a node id of its own (engine/flowchart.ts).

import { MAX_ALLOWED_FAST } from './allowed-fast.ts';
import { Bitfield } from './bitfield.ts';
import {
  encodeExtHandshake,
  encodeMetadataMessage,
  ExtensionError,
  type ExtHandshake,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  metadataPieceLength,
  parseExtHandshake,
  parseMetadataMessage,
  UT_METADATA_ID,
} from './metadata.ts';
import { encodePex, parsePex, PexError, type PexMessage, type PexParsed, UT_PEX_ID } from './pex.ts';
import { reservedBytes, supportsExtensionProtocol, supportsFast } from './reserved-bits.ts';
import type { NodeId } from './flowchart.ts';
import type { BlockRef } from './piece-manager.ts';
import type { Message } from './wire.ts';

/** What the extensions need from their Peer process. */
export interface ExtensionHost {
  /** Which extensions we offer (engine settings). */
  readonly offer: { fast: boolean; extensionProtocol: boolean; pex: boolean };
  /** The info dictionary we can serve over ut_metadata, when we have it. */
  readonly metadata: Uint8Array | undefined;
  /** Our listening port, told in the extension handshake. */
  readonly listenPort: number;
  readonly pieceCount: number;
  step(node: NodeId, extra?: Record<string, unknown>): void;
  send(m: Message): void;
  exit(reason: string): void;
  /** Takes a piece set like a BITFIELD, traced at `node` instead of `bitfield`. */
  pieceSet(bits: Uint8Array, first: boolean, node: NodeId): void;
  /** The remote rejected one of our requests: true when it was outstanding (now given back). */
  rejected(r: BlockRef): boolean;
  /** Top up our requests ("Unchoke checked fill blocks"). */
  fill(): void;
  /** Send what is queued (metadata replies through `sendQueuedMetadata`, then blocks) while the network takes it. */
  pump(): void;
  /** True while the send queue is below its watermark: a reply or REJECT may be written. */
  sendRoom(): boolean;
  /** A request we could not serve (the host drops a peer that floods them). */
  unserved(): void;
  /** A request we took: the run of unserved ones is over. */
  served(): void;
  /** Most ut_metadata requests queued per peer (settings `maxMetadataRequests`). */
  readonly maxMetadataRequests: number;
  /** BEP 6: the allowed-fast set we grant this peer (engine/allowed-fast.ts; empty for none). */
  allowedFastSet(): readonly number[];
  /** PEX: the settings `pexInterval` and `maxPexPeers`. */
  readonly pexInterval: number;
  readonly maxPexPeers: number;
  now(): number;
  /** A PEX message from the remote, decoded and within its limits: the peers go to the peer list. */
  pexLearned(message: PexParsed): void;
}

/** PEX messages a peer may send in one `pexInterval` before the next are ignored (libtorrent keeps 3 arrival times). */
const PEX_BURST = 3;

/** SUGGESTs remembered per peer; more are ignored (a piece suggested twice counts once). */
const MAX_SUGGESTED = 1024;

/** Rejects in a row, without a block in between, after which we stop re-asking at once. */
const REJECT_STREAK_LIMIT = 64;

export class PeerExtensions {
  /** Both ends set the Fast bit. */
  fast = false;
  /** Both ends set the extension-protocol bit. */
  extended = false;
  remote: ExtHandshake | undefined;
  /** Pieces the remote lets us request while it chokes us (at most MAX_ALLOWED_FAST remembered). */
  readonly allowedFast = new Set<number>();
  /** Pieces we let the remote request while we choke it: the allowed-fast set we sent. */
  granted: ReadonlySet<number> = new Set<number>();
  readonly suggested = new Set<number>();
  private rejectStreak = 0;
  /** ut_metadata pieces the remote asked for, waiting for the network to take our replies. */
  private metadataQueue: number[] = [];
  /** When the remote's last `PEX_BURST` PEX messages arrived (ms), oldest first. */
  private pexArrivals: number[] = [];

  constructor(private readonly host: ExtensionHost) {}

  /** The reserved bytes of our handshake. */
  reserved(): Uint8Array {
    return reservedBytes(this.host.offer);
  }

  /** Learns what the remote supports from its handshake. */
  remoteHandshake(reserved: Uint8Array): void {
    this.fast = this.host.offer.fast && supportsFast(reserved);
    this.extended = this.host.offer.extensionProtocol && supportsExtensionProtocol(reserved);
  }

  /** Announces our pieces (sendBitfield), then sends our extension handshake (sendExtHandshake). */
  sendPieces(have: Bitfield): void {
    const message = this.fast && have.complete ? 'have-all' : this.fast && have.empty ? 'have-none' : have.empty ? 'none' : 'bitfield';
    this.host.step('sendBitfield', { pieces: have.count, ...(this.host.offer.fast ? { message } : {}) });
    if (message === 'bitfield') this.host.send({ type: 'bitfield', bits: have.bytes.slice() });
    else if (message === 'have-all' || message === 'have-none') this.host.send({ type: message });
    this.sendAllowedFast();
    if (!this.extended) return;
    const metadata = this.host.metadata;
    this.host.step('sendExtHandshake', { metadataSize: metadata?.length });
    this.host.send({
      type: 'extended',
      id: 0,
      payload: encodeExtHandshake({ metadataSize: metadata?.length, port: this.host.listenPort, client: 'swarmlab', reqq: 250, pex: this.host.offer.pex }),
    });
  }

  /**
   * BEP 6: every peer starts choked, so the allowed-fast set goes with our piece set. Like
   * libtorrent, the whole set is sent, also pieces we do not have yet (their requests are rejected
   * until we do); a seed could send only what it has, but it has everything.
   */
  private sendAllowedFast(): void {
    if (!this.fast) return;
    const set = this.host.allowedFastSet();
    if (set.length === 0) return;
    this.granted = new Set(set);
    this.host.step('oallowedFast', { pieces: [...set] });
    for (const index of set) this.host.send({ type: 'allowed-fast', index });
  }

  /** Handles a Fast or extended message; caseMsg has been traced. */
  onMessage(m: Message, first: boolean): void {
    const h = this.host;
    if (m.type === 'extended') return this.onExtended(m.id, m.payload);
    if (!this.fast) return h.exit(`unexpected ${m.type} message: the Fast extension was not agreed in the handshake`);
    switch (m.type) {
      case 'have-all':
        return h.pieceSet(Bitfield.full(h.pieceCount).bytes, first, 'haveAll');
      case 'have-none':
        return h.pieceSet(new Uint8Array(Math.ceil(h.pieceCount / 8)), first, 'haveNone');
      case 'reject': {
        const ok = h.rejected(m);
        h.step('reject', { piece: m.index, begin: m.begin, length: m.length, ok });
        if (!ok) return h.step('loop');
        // A peer that keeps rejecting what we ask is not asked again until something changes.
        if (++this.rejectStreak > REJECT_STREAK_LIMIT) return h.step('loop');
        return h.fill();
      }
      case 'allowed-fast': {
        // A new piece we may request while choked: fill (the Peer process asks only for pieces it has and we lack).
        const fresh = Number.isInteger(m.index) && m.index >= 0 && m.index < h.pieceCount && !this.allowedFast.has(m.index) && this.allowedFast.size < MAX_ALLOWED_FAST;
        h.step('allowedFast', { piece: m.index, ...(fresh ? {} : { ignored: true }) });
        if (!fresh) return h.step('loop');
        this.allowedFast.add(m.index);
        return h.fill();
      }
      case 'suggest':
        h.step('suggest', { piece: m.index });
        if (Number.isInteger(m.index) && m.index >= 0 && m.index < h.pieceCount && this.suggested.size < MAX_SUGGESTED) this.suggested.add(m.index);
        return h.step('loop');
      default:
        return h.exit(`unexpected ${m.type} message`);
    }
  }

  /** A block arrived from the remote: it is serving again. */
  blockArrived(): void {
    this.rejectStreak = 0;
  }

  /** A request we will not serve: with Fast, the remote is told (oreject). */
  rejectRequests(requests: readonly BlockRef[]): void {
    if (!this.fast || requests.length === 0) return;
    this.host.step('oreject', { count: requests.length });
    for (const r of requests) this.host.send({ type: 'reject', index: r.index, begin: r.begin, length: r.length });
  }

  private onExtended(id: number, payload: Uint8Array): void {
    const h = this.host;
    h.step('extended', { id });
    if (!this.extended) return h.exit('extended message, but the extension protocol was not agreed in the handshake');
    if (id === 0) {
      try {
        this.remote = parseExtHandshake(payload);
      } catch (err) {
        h.step('extHandshake', { ok: false, reason: (err as Error).message });
        return h.exit((err as Error).message);
      }
      h.step('extHandshake', { ok: true, client: this.remote.client, utMetadata: this.remote.utMetadata ?? 0, metadataSize: this.remote.metadataSize, ...(this.remote.utPex ? { utPex: this.remote.utPex } : {}) });
      return h.step('loop');
    }
    if (id === UT_METADATA_ID) {
      let m;
      try {
        m = parseMetadataMessage(payload);
      } catch (err) {
        if (!(err instanceof ExtensionError)) throw err;
        return h.exit(err.message);
      }
      if (m.kind === 'request') return this.serveMetadata(m.piece);
    }
    if (id === UT_PEX_ID && h.offer.pex) return this.onPex(payload);
    // Metadata we did not ask for, or an extension we never announced: ignored.
    h.step('loop');
  }

  /** True when both ends offered ut_pex: we may send PEX messages. */
  get pex(): boolean {
    return this.host.offer.pex && this.remote?.utPex !== undefined;
  }

  /**
   * A ut_pex message (BEP 11). Never ends the connection: a message sooner than the rate allows,
   * one that is not a bencoded dictionary, or a malformed field is ignored with the reason traced;
   * at most `maxPexPeers` added and dropped are taken, the rest counted as ignored.
   */
  private onPex(payload: Uint8Array): void {
    const h = this.host;
    const now = h.now();
    if (this.pexArrivals.length >= PEX_BURST && now - this.pexArrivals[0] < h.pexInterval) {
      h.step('pex', { ok: false, reason: `too frequent: ${PEX_BURST} PEX messages already within ${h.pexInterval} ms` });
      return h.step('loop');
    }
    this.pexArrivals.push(now);
    if (this.pexArrivals.length > PEX_BURST) this.pexArrivals.shift();
    let parsed: PexParsed;
    try {
      parsed = parsePex(payload, h.maxPexPeers);
    } catch (err) {
      if (!(err instanceof PexError)) throw err;
      h.step('pex', { ok: false, reason: err.message });
      return h.step('loop');
    }
    const { added, dropped, ignored, problems } = parsed;
    h.step('pex', { ok: true, added: added.length, dropped: dropped.length, ...(ignored > 0 ? { ignored } : {}), ...(problems.length > 0 ? { problems: problems.slice(0, 4) } : {}) });
    h.pexLearned(parsed);
    h.step('loop');
  }

  /** Sends a PEX message (the caller made sure both ends offered ut_pex and the interval passed). */
  sendPex(m: PexMessage): void {
    const theirId = this.remote?.utPex;
    if (!theirId) return;
    this.host.step('opex', { added: m.added.length, dropped: m.dropped.length });
    this.host.send({ type: 'extended', id: theirId, payload: encodePex(m) });
  }

  /**
   * A ut_metadata request: queued (served by the pump as the network takes our writes, like a
   * REQUEST), rejected when we cannot serve that piece or the queue is full. A REJECT is written
   * only while the send queue has room; an unserved request counts towards the flood limit.
   */
  private serveMetadata(piece: number): void {
    const h = this.host;
    const info = h.metadata;
    const theirId = this.remote?.utMetadata;
    const valid = info !== undefined && piece < metadataPieceCount(info.length);
    const full = this.metadataQueue.length >= h.maxMetadataRequests;
    if (valid && !full && theirId) {
      this.metadataQueue.push(piece);
      h.step('metadataRequest', { piece, served: true, queued: this.metadataQueue.length });
      h.served();
      h.pump();
      return h.step('loop');
    }
    const room = h.sendRoom();
    const reason = !valid ? undefined : full ? 'metadata request queue full' : undefined;
    h.step('metadataRequest', { piece, served: false, ...(reason ? { reason } : {}), ...(room ? {} : { dropped: 'send queue full' }) });
    if (theirId && room) h.send({ type: 'extended', id: theirId, payload: encodeMetadataMessage({ kind: 'reject', piece }) });
    h.step('loop');
    h.unserved();
  }

  /** Writes queued ut_metadata replies while `room()` says the network takes more (the pump calls it). */
  /** ut_metadata replies wait to be sent (the pump asks before it builds a `room` test for them). */
  get metadataQueued(): boolean {
    return this.metadataQueue.length > 0;
  }

  sendQueuedMetadata(room: () => boolean): void {
    const info = this.host.metadata;
    const theirId = this.remote?.utMetadata;
    if (!info || !theirId) return;
    let sent = 0;
    while (sent < this.metadataQueue.length && room()) {
      const piece = this.metadataQueue[sent++];
      const start = piece * METADATA_PIECE_SIZE;
      const data = info.subarray(start, start + metadataPieceLength(info.length, piece));
      this.host.send({ type: 'extended', id: theirId, payload: encodeMetadataMessage({ kind: 'data', piece, totalSize: info.length, data }) });
    }
    if (sent > 0) this.metadataQueue = this.metadataQueue.slice(sent);
  }
}
