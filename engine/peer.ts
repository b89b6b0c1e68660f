// The Peer process: one per connection, the state machine of shared/design/peer-flowchart.md.
// Every step it takes is traced with the flowchart's node id, so a run can be replayed on the
// diagram. Inbound bytes, Peer Manager messages and timer ticks drive it; it never blocks.

import { allowedFastInput, allowedFastSet } from './allowed-fast.ts';
import { Bitfield } from './bitfield.ts';
import { bytesEqual } from './bytes.ts';
import { assertCounterEquals, assertCounterInRange, CounterError, countAndNot } from './counters.ts';
import { type ExtensionHost, PeerExtensions } from './extensions.ts';
import type { NodeId } from './flowchart.ts';
import type { PeerKey } from './peer-key.ts';
import { PeerWire, SELF_CONNECTION } from './peer-wire.ts';
import type { BlockRef, BlockResult, PieceManager } from './piece-manager.ts';
import { isBlockInPiece } from './piece-shape.ts';
import type { PexMessage, PexParsed } from './pex.ts';
import { addressKey, type Clock, type Connection, type ConnectionHandler, type PeerAddress, type Storage, type TimerHandle } from './ports.ts';
import type { EngineSettings } from './settings.ts';
import type { TraceSink } from './trace.ts';
import { BLOCK_SIZE, encodeMessage, type Handshake, type Message } from './wire.ts';

/** What a Peer process needs from the client that owns it: the Peer Manager's side of the diagram. */
export interface PeerOwner {
  readonly label: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly trace: TraceSink;
  readonly pieces: PieceManager<PeerKey>;
  readonly storage: Storage;
  /** The info dictionary, served to peers over BEP 9 when the extension protocol is on. */
  readonly metadata?: Uint8Array;
  /** Our listening port, told in the BEP 10 handshake. */
  readonly listenPort?: number;
  /** Admits the handshaken peer, or returns why not (duplicate, ourselves, full). */
  register(peer: PeerProcess): string | undefined;
  unregister(peer: PeerProcess): void;
  /** The remote peer's interest in us changed: the choke manager may act. */
  interestChanged(peer: PeerProcess): void;
  /** A block from `peer` went to the Piece Manager: route endgame cancels, verified pieces. */
  blockStored(peer: PeerProcess, result: BlockResult<PeerKey>): void;
  /** A block went out to `peer`. */
  blockSent(peer: PeerProcess, bytes: number): void;
  /** `peer` sent a PEX message (BEP 11): its peers go to the peer list. */
  pexLearned?(peer: PeerProcess, message: PexParsed): void;
  /** A block arrived from `peer` that we held already (endgame's second copy, a late answer to a CANCEL). */
  duplicateReceived(peer: PeerProcess, bytes: number): void;
  /** BEP 16: we super-seed on connections made now (settings' `superSeed`, and we are complete). */
  readonly superSeeding: boolean;
  /** BEP 6 SUGGEST: `count` pieces `remote` lacks that we should offer it (we are a seed). */
  suggestionsFor(remote: Bitfield, count: number): number[];
  /** Established connections of the torrent: the picker's bound on partial pieces scales with it. */
  readonly connectionCount: number;
  /** Super-seeding: handshake done, or the remote's first message is in: reveal a piece unless the one revealed is still wanted. */
  superSeedReady(peer: PeerProcess): void;
  /** The remote's piece set grew by `index` (HAVE, BITFIELD): a super-seed may reveal the next piece. */
  remotePieceAdded(peer: PeerProcess, index: number): void;
}

type Phase = 'handshake' | 'first-message' | 'loop' | 'closed';

/**
 * A deadline counts as reached this close before it (ms): a timer may fire a hair early (floating
 * point in virtual time, Node rounding in live mode); without it the timer would be set again for
 * a fraction of a millisecond.
 */
const DEADLINE_SLACK = 1;

const blockKey = (index: number, begin: number) => index * 0x100000 + begin / BLOCK_SIZE;

/**
 * Endgame's "sending now" (`isSending`): a peer whose last block came less than this long ago (ms)
 * streams at about 3 KiB/s or more on this connection (16 KiB per 5 s), so the block it owes is
 * seconds away and a copy would arrive twice; one slower than that is not waited for.
 */
const SENDING_WINDOW = 5_000;

/**
 * How many of our oldest requests a sending peer has already committed: the block on the wire and
 * the one behind it in its socket's buffer (an uploader refills its buffer as the wire takes a
 * block). A CANCEL recalls neither; endgame does not copy them.
 */
const COMMITTED_BLOCKS = 2;

/** The fewest requests in flight to a peer that sends at all (libtorrent's `min_request_queue`). */
const MIN_REQUEST_QUEUE = 2;

/** A piece to announce to every connection: its index and the one HAVE message they all send. */
export interface HaveAnnouncement {
  readonly index: number;
  readonly bytes: Uint8Array;
}

function runIt(work: () => void): void {
  work();
}

export class PeerProcess {
  /** Unique per connection (given by the Peer Manager), the Piece Manager's and choke manager's key. */
  readonly key: PeerKey;
  /** The remote's name in the trace (`key.label`). */
  readonly remoteLabel: string;
  remotePeerId?: Uint8Array;
  readonly remotePieces: Bitfield;

  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  snubbed = false;

  /** Bytes of blocks received from / sent to this peer, in all and since the last rechoke. */
  downloaded = 0;
  uploaded = 0;
  downloadedSinceRechoke = 0;
  uploadedSinceRechoke = 0;
  /** Bytes of blocks from this peer that we held already (counted in `downloaded` too). */
  duplicateBytes = 0;
  /** BEP 16: this connection hides our pieces and reveals one at a time (fixed at the handshake). */
  superSeeding = false;

  private phase: Phase = 'handshake';
  /**
   * True while the process handles an event. Peer Manager messages that arrive meanwhile (an
   * unchoke caused by the INTERESTED being handled, a HAVE for the piece just stored) wait in the
   * mailbox until the process is back at Loop/Sync, as in the diagram.
   */
  private busy = false;
  private readonly mailbox: (() => void)[] = [];
  /** The decoder, the handshake's checks, the trace of steps and the exit sequence (shared with the metadata fetcher). */
  private readonly wire: PeerWire;
  /** BEP 6 Fast and BEP 10/9 (engine/extensions.ts). */
  readonly ext: PeerExtensions;
  /** Requests we sent and still wait for. */
  private readonly outstanding = new Map<number, BlockRef>();
  /**
   * Fast: requests we cancelled (endgame, snubbing) whose PIECE or REJECT has not come yet; a PIECE
   * for one is no fault. Oldest forgotten past twice `hiWatermark` (a peer that answers none of them).
   */
  private readonly cancelled = new Map<number, BlockRef>();
  /** Their requests to us, waiting for the network to take them (the Outbound queue). */
  private requestQueue: BlockRef[] = [];
  /** Pieces the remote has and we lack: we are interested while this is above zero. */
  private wanted = 0;
  private lastReceivedAt: number;
  private lastSentAt: number;
  private lastBlockAt: number;
  /** The download rate since the remote last unchoked us: from its first block after, the bytes since. */
  private rateSince = -Infinity;
  private rateBytes = 0;
  /**
   * The rate (bytes/ms) measured over the last unchoke that lasted `requestQueueTime`, if any:
   * after the next unchoke the queue starts there, not at 2 (libtorrent's rate outlives a choke).
   */
  private lastRate: number | undefined;
  /** Of the time since `rateSince`, how long we had no request in flight to this peer (not its slowness). */
  private rateIdle = 0;
  /** When our requests to this peer last ran out; undefined while some are in flight. */
  private idleSince: number | undefined;
  /** When it was last marked snubbed (its requests given back again each snub period). */
  private snubbedAt = -Infinity;
  /** When the connection began (dialled or accepted): the handshake's deadline counts from it. */
  private readonly startedAt: number;
  /** When we last unchoked it, it last sent a REQUEST, we last sent it a block (the no-request deadline). */
  private unchokedAt = -Infinity;
  private lastRequestAt = -Infinity;
  private lastUploadAt = -Infinity;
  /**
   * The connection's one time-out timer, set for the earliest of its deadlines (`nextDeadline`:
   * handshake, idle, no request). Re-armed lazily: activity only moves a deadline later, so the
   * timer stays as it is and, when it fires, the deadlines are checked again and it is set for
   * the next; it is moved earlier only when a deadline comes sooner (an unchoke). At most one
   * wake-up per connection per deadline period, whatever the traffic.
   */
  private deadlineTimer: TimerHandle | undefined;
  private deadlineAt = Infinity;
  /** The handshake brought back our own peer id (`selfConnection`). */
  private connectedToSelf = false;
  /** Since when our send queue has been at or above the watermark (undefined: below it). */
  private sendQueueFullSince: number | undefined;
  /** Wakes the process when the send queue has been full for `sendQueueStallTimeout`. */
  private stallTimer: TimerHandle | undefined;
  /**
   * The most this connection may send per second (bytes; Infinity: as fast as the link takes).
   * BitTyrant's unchoker gives each peer what it must to be reciprocated, no more (`uploadCap`).
   */
  private uploadCap = Infinity;
  /** Bytes the cap allows now (a bucket of at most two blocks), as of `capRefilledAt`. */
  private capCredit = 0;
  private capRefilledAt = 0;
  /** Wakes `pump` when the cap allows the next block. */
  private capTimer: TimerHandle | undefined;
  /** Requests in a row we could not serve (REQUEST or ut_metadata): a flood past it drops the peer. */
  private unservedStreak = 0;
  /** PEX: the peers our messages to this remote have said we are connected to, by address key (at most our connections). */
  readonly pexTold = new Map<string, PeerAddress>();
  /** When we last sent this remote a PEX message (ms). */
  pexSentAt = -Infinity;
  private listenAt: { address: PeerAddress; key: string } | undefined;
  constructor(
    private readonly owner: PeerOwner,
    readonly conn: Connection,
    key: PeerKey,
  ) {
    this.key = key;
    this.remoteLabel = key.label;
    this.remotePieces = new Bitfield(owner.pieces.layout.pieceCount);
    this.wire = new PeerWire(owner, conn, key.label, owner.settings.maxMessageLength, owner.settings.offChartSteps, `peer ${owner.label}`);
    const hooks = new PeerProcess.Hooks(this);
    this.ext = new PeerExtensions(hooks);
    const now = owner.clock.now();
    this.startedAt = this.lastReceivedAt = this.lastSentAt = this.lastBlockAt = now;
    conn.setHandler(hooks);
    this.step('connect', { inbound: conn.inbound });
    // From the accept (or the dial) to a complete handshake: a deadline of its own, not the tick.
    this.armDeadline();
  }

  /**
   * What the connection and the extensions call: one small object per connection whose methods
   * sit on its prototype, where an object literal of closures cost ~3 KiB per connection (a
   * 1,000-peer swarm has some 60,000). Declared in the class so that it may call its privates.
   */
  private static readonly Hooks = class PeerHooks implements ExtensionHost, ConnectionHandler {
    constructor(private readonly p: PeerProcess) {}

    // ---- ConnectionHandler ----
    open(): void {
      this.p.handle(() => this.p.onOpen());
    }
    data(bytes: Uint8Array): void {
      this.p.onData(bytes);
    }
    drain(): void {
      this.p.handle(() => this.p.pump());
    }
    /** A drain pumps queued blocks and metadata, and lets a full send queue's clock stop. */
    wantsDrain(): boolean {
      return this.p.requestQueue.length > 0 || this.p.ext.metadataQueued || this.p.sendQueueFullSince !== undefined;
    }
    close(reason?: string): void {
      this.p.exit(this.p.selfConnection ? SELF_CONNECTION : (reason ?? 'closed by remote'));
    }

    // ---- ExtensionHost ----
    private offered: ExtensionHost['offer'] | undefined;
    get offer(): ExtensionHost['offer'] {
      const s = this.p.owner.settings;
      return (this.offered ??= { fast: s.fastExtension, extensionProtocol: s.extensionProtocol, pex: s.pex && s.extensionProtocol });
    }
    get metadata(): Uint8Array | undefined {
      return this.p.owner.metadata;
    }
    get listenPort(): number {
      return this.p.owner.listenPort ?? 0;
    }
    get pieceCount(): number {
      return this.p.owner.pieces.layout.pieceCount;
    }
    get maxMetadataRequests(): number {
      return this.p.owner.settings.maxMetadataRequests;
    }
    get pexInterval(): number {
      return this.p.owner.settings.pexInterval;
    }
    get maxPexPeers(): number {
      return this.p.owner.settings.maxPexPeers;
    }
    step(node: NodeId, extra?: Record<string, unknown>): void {
      this.p.step(node, extra);
    }
    send(m: Message): void {
      this.p.send(m);
    }
    exit(reason: string): void {
      this.p.exit(reason);
    }
    pieceSet(bits: Uint8Array, first: boolean, node: NodeId): void {
      this.p.onBitfield(bits, first, node);
    }
    rejected(r: BlockRef): boolean {
      return this.p.onRejected(r);
    }
    fill(): void {
      this.p.fill();
    }
    pump(): void {
      this.p.pump();
    }
    sendRoom(): boolean {
      return this.p.sendRoom;
    }
    unserved(): void {
      this.p.noteUnserved();
    }
    served(): void {
      this.p.unservedStreak = 0;
    }
    /**
     * BEP 6's algorithm on the remote's IPv4 address (a stable stand-in for a simulator label).
     * BEP 16: a super-seed grants none; its pieces are revealed one at a time. Nor does a seed,
     * unless `allowedFastWhileSeeding` (see settings).
     */
    allowedFastSet(): readonly number[] {
      const { p } = this;
      const owner = p.owner;
      if (p.superSeeding || (owner.pieces.complete && !owner.settings.allowedFastWhileSeeding)) return [];
      const { ipv4, wholeAddress } = allowedFastInput(p.conn.remote.host);
      return allowedFastSet(ipv4, owner.infoHash, owner.pieces.layout.pieceCount, owner.settings.allowedFastSetSize, wholeAddress);
    }
    now(): number {
      return this.p.now();
    }
    pexLearned(message: PexParsed): void {
      this.p.owner.pexLearned?.(this.p, message);
    }
  };

  /** The handshake brought back our own peer id: the Peer Manager retires the address we dialled. */
  get selfConnection(): boolean {
    return this.connectedToSelf;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  get handshaken(): boolean {
    return this.phase === 'first-message' || this.phase === 'loop';
  }

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /**
   * Endgame: the block is the oldest of our requests to this peer, which has sent us a block within
   * the last `SENDING_WINDOW`: it is sending that block now (a peer answers requests in order), so a
   * CANCEL would reach it too late and a copy from elsewhere would arrive twice. libtorrent likewise
   * never re-requests a block it is receiving. A peer that went silent, or sends so slowly that its
   * blocks are seconds apart, is not counted on: its block is copied, or it would decide when we finish.
   */
  isSending(block: { index: number; begin: number }): boolean {
    const window = Math.min(SENDING_WINDOW, this.owner.settings.endgameAfter);
    if (!(this.now() - this.lastBlockAt < window)) return false;
    const key = blockKey(block.index, block.begin);
    let ahead = 0;
    for (const k of this.outstanding.keys()) {
      if (k === key) return true;
      if (++ahead >= COMMITTED_BLOCKS) return false;
    }
    return false;
  }

  /**
   * Where the remote accepts connections: the address we dialled, or for an inbound peer its IP
   * and the port its BEP 10 handshake gave (undefined when it gave none): what PEX tells others.
   */
  get listenAddress(): PeerAddress | undefined {
    return this.listening()?.address;
  }

  /** `addressKey(listenAddress)`, the same string each time (what PEX keys its tables by). */
  get listenKey(): string | undefined {
    return this.listening()?.key;
  }

  /** The listen address and its key, made again only when the port changes. */
  private listening(): { address: PeerAddress; key: string } | undefined {
    const port = this.conn.inbound ? this.ext.remote?.port : this.conn.remote.port;
    if (port === undefined) return undefined;
    if (this.listenAt?.address.port !== port) {
      const address = this.conn.inbound ? { host: this.conn.remote.host, port } : this.conn.remote;
      this.listenAt = { address, key: addressKey(address) };
    }
    return this.listenAt;
  }

  get queuedRequests(): number {
    return this.requestQueue.length;
  }

  /**
   * Bytes written to this connection that the network has not taken: the whole of what we queue
   * for the peer (its waiting requests and metadata requests are references, bounded by
   * `maxPeerRequests` and `maxMetadataRequests`).
   */
  get queuedBytes(): number {
    return this.conn.bufferedBytes();
  }

  /** True while the send queue is below the watermark: optional writes (REJECTs, replies) may go. */
  private get sendRoom(): boolean {
    return this.conn.bufferedBytes() < this.owner.settings.sendQueueWatermark;
  }

  // ---- Inbound ---------------------------------------------------------------------------------

  private onOpen(): void {
    if (!this.conn.inbound) this.sendHandshake();
  }

  private sendHandshake(): void {
    this.write(this.wire.handshake(this.ext.reserved()));
  }

  private onData(bytes: Uint8Array): void {
    this.handleWith(this.decodeAndDispatch, bytes);
  }

  /** Runs `work` as one event of this process, then whatever the Peer Manager sent meanwhile. */
  private handle(work: () => void): void {
    this.handleWith(runIt, work);
  }

  /**
   * As `handle`, for `work(arg)`: a method and its argument, so that the events that come by the
   * thousand (bytes received, HAVEs to announce) make no closure unless they must wait.
   */
  private handleWith<T>(work: (this: PeerProcess, arg: T) => void, arg: T): void {
    if (this.busy) {
      this.mailbox.push(() => work.call(this, arg));
      return;
    }
    this.busy = true;
    try {
      work.call(this, arg);
      for (let next = this.mailbox.shift(); next; next = this.mailbox.shift()) if (!this.closed) next();
      this.boundSendQueue();
      this.armDeadline();
    } finally {
      this.busy = false;
    }
  }

  private decodeAndDispatch(bytes: Uint8Array): void {
    if (this.phase === 'closed' || this.selfConnection) return;
    this.lastReceivedAt = this.owner.clock.now();
    this.wire.receive(bytes);
    // Message by message, as they are decoded: an earlier message may end the process.
    while (!this.closed) {
      const item = this.wire.next(this.phase === 'handshake');
      if (item === undefined) return;
      if (typeof item === 'string') return this.exit(item);
      if (item.kind === 'handshake') this.onHandshake(item.handshake);
      else this.onMessage(item.message);
    }
  }

  private onHandshake(h: Handshake): void {
    const fault = this.wire.handshakeFault(h);
    this.connectedToSelf = fault === SELF_CONNECTION;
    this.step('handshake', fault ? { ok: false, reason: fault } : { ok: true });
    if (this.selfConnection && this.conn.inbound) {
      // We dialled ourselves through another address. The dialling end must see its own peer id
      // too, to retire that address: answer with our handshake (as libtorrent does, before it
      // judges the peer id) and let that end close; we exit when it does, or at the handshake's
      // deadline. What else arrives is ignored.
      this.sendHandshake();
      return;
    }
    if (fault) return this.exit(fault);
    this.remotePeerId = h.peerId;
    this.ext.remoteHandshake(h.reserved);
    if (this.conn.inbound) this.sendHandshake();
    const refused = this.owner.register(this);
    this.step('register', refused ? { ok: false, reason: refused } : { ok: true });
    if (refused) return this.exit(refused);
    this.phase = 'first-message';
    this.owner.trace.emit({ t: this.now(), peer: this.owner.label, remote: this.remoteLabel, kind: 'connect', inbound: this.conn.inbound });
    // A super-seed masquerades as a peer with nothing (BEP 16) and reveals pieces with HAVE.
    this.superSeeding = this.owner.superSeeding;
    const have = this.superSeeding ? new Bitfield(this.remotePieces.size) : this.owner.pieces.have;
    this.ext.sendPieces(have); // sendBitfield (BITFIELD, HAVE ALL or HAVE NONE), then sendExtHandshake
    this.step('loop');
    // A peer with nothing may send no BITFIELD at all (BEP 3): reveal a first piece now.
    if (this.superSeeding) this.owner.superSeedReady(this);
  }

  private onMessage(m: Message): void {
    const first = this.phase === 'first-message';
    // BEP 10's handshake may come before the BITFIELD, which stays the first "real" message.
    if (m.type !== 'keep-alive' && m.type !== 'extended') this.phase = 'loop';
    this.dispatch(m, first);
    // Its piece set is known now: if it holds the piece revealed at the handshake, reveal another.
    if (first && this.phase === 'loop' && this.superSeeding) this.owner.superSeedReady(this);
  }

  private dispatch(m: Message, first: boolean): void {
    this.step('caseMsg');
    switch (m.type) {
      case 'keep-alive':
        this.step('keepAlive');
        return this.step('loop');
      case 'choke':
        return this.onChoke();
      case 'unchoke':
        this.step('unchoke');
        this.setPeerChoking(false);
        return this.fill();
      case 'interested':
      case 'not-interested':
        this.step(m.type === 'interested' ? 'interested' : 'notInterested');
        if (this.peerInterested !== (m.type === 'interested')) {
          this.peerInterested = m.type === 'interested';
          this.traceState();
          this.owner.interestChanged(this);
        }
        return this.step('loop');
      case 'have':
        return this.onHave(m.index);
      case 'bitfield':
        return this.onBitfield(m.bits, first);
      case 'request':
        return this.onRequest(m);
      case 'piece':
        return this.onPiece(m.index, m.begin, m.block);
      case 'cancel':
        return this.onCancel(m);
      case 'port':
        this.step('port', { port: m.port });
        return this.step('loop');
      default:
        // Fast-extension and extended messages (refused unless agreed in the handshake).
        return this.ext.onMessage(m, first);
    }
  }

  private onChoke(): void {
    this.step('choke');
    this.setPeerChoking(true);
    if (this.ext.fast) {
      // BEP 6: a CHOKE no longer discards our requests; each still gets a PIECE or a REJECT.
      this.step('keepRequests', { kept: this.outstanding.size });
      return this.fill(); // allowed-fast pieces may still be asked for
    }
    const given = this.outstanding.size;
    this.owner.pieces.giveBack(this.key, this.outstanding.values());
    this.outstanding.clear();
    this.step('clearPieceQueue', { given });
    this.step('loop');
  }

  private onHave(index: number): void {
    this.step('have', { piece: index });
    const ok = Number.isInteger(index) && index >= 0 && index < this.remotePieces.size;
    this.step('haveOk', { ok });
    if (!ok) return this.exit(`HAVE for piece ${index}, but the torrent has ${this.remotePieces.size} pieces`);
    if (!this.remotePieces.has(index)) {
      this.remotePieces.set(index);
      this.owner.pieces.addPeerPiece(index);
      if (!this.owner.pieces.have.has(index)) this.changeWanted(1);
      this.updateInterest();
      this.owner.remotePieceAdded(this, index);
    }
    this.fill();
  }

  private onBitfield(bits: Uint8Array, first: boolean, node: NodeId = 'bitfield'): void {
    this.step(node);
    const size = this.remotePieces.size;
    // A late BITFIELD (aria2 sends one after HAVE NONE and HAVEs) is merged like HAVEs when the
    // settings allow it (live mode); otherwise it ends the process, as the diagram says.
    const late = !first && this.owner.settings.lateBitfield === 'merge';
    const fault = !first && !late
      ? 'BITFIELD is only allowed as the first message'
      : !Bitfield.isValid(size, bits)
        ? `BITFIELD of ${bits.length} bytes does not fit ${size} pieces (or sets spare bits)`
        : undefined;
    this.step('constructPieceSet', fault ? { ok: false } : late ? { ok: true, late } : { ok: true });
    if (fault) return this.exit(fault);
    const remote = new Bitfield(size, bits);
    const have = this.owner.pieces.have;
    for (let i = 0; i < size; i++) {
      if (!remote.has(i) || this.remotePieces.has(i)) continue;
      this.remotePieces.set(i);
      this.owner.pieces.addPeerPiece(i);
      if (!have.has(i)) this.changeWanted(1);
      this.owner.remotePieceAdded(this, i);
    }
    this.updateInterest();
    this.fill();
  }

  private onRequest(r: BlockRef): void {
    this.step('request', { piece: r.index, begin: r.begin, length: r.length });
    this.lastRequestAt = this.now();
    // BEP 6: a piece of the allowed-fast set we sent is served while we choke the peer.
    const fastAllowed = this.amChoking && this.ext.granted.has(r.index);
    this.step('requestChoked', { choked: this.amChoking, ...(fastAllowed ? { allowedFast: true } : {}) });
    const reason = this.amChoking && !fastAllowed
      ? 'we choke the peer'
      : !this.validRequest(r)
        ? 'invalid request'
        : this.requestQueue.length >= this.owner.settings.maxPeerRequests
          ? 'request queue full'
          : undefined;
    if (reason) {
      // One REJECT per request at most (Fast: oreject), and only while the send queue has room:
      // past the watermark the request is dropped, as BEP 6 allows for a peer we cannot write to.
      const room = this.sendRoom;
      this.step('requestIgnore', room || !this.ext.fast ? { reason } : { reason, dropped: 'send queue full' });
      if (room) this.ext.rejectRequests([r]);
      this.step('loop');
      return this.noteUnserved();
    }
    this.unservedStreak = 0;
    this.requestQueue.push({ index: r.index, begin: r.begin, length: r.length });
    this.step('queueRequest', { queued: this.requestQueue.length });
    this.pump();
    if (!this.closed) this.step('loop'); // a block that cannot be read ended the process
  }

  private validRequest(r: BlockRef): boolean {
    const pieces = this.owner.pieces;
    return isBlockInPiece(pieces.layout, r.index, r.begin, r.length) && pieces.have.has(r.index);
  }

  private onPiece(index: number, begin: number, block: Uint8Array): void {
    this.step('piece', { piece: index, begin, length: block.length });
    const key = blockKey(index, begin);
    const asked = this.outstanding.get(key);
    const ok = asked !== undefined && asked.length === block.length;
    const wasCancelled = !ok && this.cancelled.get(key)?.length === block.length;
    this.step('pieceOk', { ok, ...(wasCancelled ? { cancelled: true } : {}) });
    if (!ok) {
      if (wasCancelled) this.cancelled.delete(key);
      // BEP 6: a PIECE that was never requested ends the connection (a cancelled one may still come).
      if (this.ext.fast && !wasCancelled) return this.exit(`PIECE ${index}:${begin}+${block.length}, which we never requested (BEP 6)`);
      // A block we no longer wait for (cancelled, given back on a snub) that we hold already is
      // a duplicate too: bytes the link carried for nothing.
      if (this.owner.pieces.holdsBlock({ index, begin })) this.noteDuplicate(block.length);
      return this.step('loop');
    }
    this.outstanding.delete(key);
    const now = this.now();
    this.lastBlockAt = now;
    this.snubbed = false;
    this.ext.blockArrived();
    this.downloaded += block.length;
    this.downloadedSinceRechoke += block.length;
    if (this.rateSince === -Infinity) this.rateSince = now;
    else this.rateBytes += block.length;
    // The rate of the last window or two, not since the unchoke: a link that stalled and came back
    // is sized by what it sends now.
    const window = this.owner.settings.requestQueueTime;
    const busy = this.busyFor(now);
    if (window > 0 && busy > 2 * window) {
      this.rateBytes *= window / busy;
      this.rateSince = now - window;
      this.rateIdle = 0;
      if (this.idleSince !== undefined) this.idleSince = now;
    }
    const result = this.owner.pieces.blockReceived(this.key, index, begin, block);
    this.step('pieceStore', { piece: index, begin, length: block.length, result: result.status });
    if (result.status === 'duplicate') this.noteDuplicate(block.length);
    this.owner.blockStored(this, result);
    if (this.phase !== 'closed') this.fill();
  }

  /** Fast: the remote rejected a request of ours; it goes back to the Piece Manager. */
  private onRejected(r: BlockRef): boolean {
    const key = blockKey(r.index, r.begin);
    if (this.cancelled.get(key)?.length === r.length) this.cancelled.delete(key); // the answer to our CANCEL
    const asked = this.outstanding.get(key);
    if (!asked || asked.length !== r.length) return false;
    this.outstanding.delete(key);
    this.owner.pieces.giveBack(this.key, [asked]);
    return true;
  }

  private onCancel(r: BlockRef): void {
    this.step('cancel', { piece: r.index, begin: r.begin });
    const before = this.requestQueue.length;
    const removed: BlockRef[] = [];
    this.requestQueue = this.requestQueue.filter((q) => {
      const match = q.index === r.index && q.begin === r.begin && q.length === r.length;
      if (match) removed.push(q);
      return !match;
    });
    this.step('cancelForward', { removed: removed.length });
    // BEP 6: every request gets exactly one answer; a cancelled one not yet sent gets a REJECT.
    if (this.sendRoom) this.ext.rejectRequests(removed);
    this.step('loop');
  }

  /** "Unchoke checked fill blocks": top up our requests to the high watermark. */
  private fill(): void {
    // A snubbed peer gets one request at a time: a probe that un-snubs it when it answers. Never
    // more than the `reqq` the remote's BEP 10 handshake allows (libtorrent caps its queue so too).
    const allowed = this.ext.remote?.reqq ?? Infinity;
    const settings = this.owner.settings;
    const deepest = Math.min(settings.hiWatermark, allowed, this.queueForRate());
    const [loWatermark, hiWatermark] = this.snubbed ? [1, 1] : [Math.min(settings.loWatermark, deepest), deepest];
    const size = this.outstanding.size;
    this.noteIdle(size);
    // BEP 6: while the remote chokes us, only pieces of its allowed-fast set may be asked for.
    const from = this.peerChoking ? this.allowedFastPieces() : this.remotePieces;
    const yes = from !== undefined && this.amInterested && size < loWatermark;
    this.step('sizeCheck', { outstanding: size, fill: yes, ...(this.peerChoking && from ? { allowedFast: true } : {}) });
    if (!yes) return this.step('loop');
    const blocks = this.owner.pieces.grab(this.key, from, hiWatermark - size, { outstanding: size, now: this.now(), unproven: this.snubbed || this.downloaded === 0, peers: this.owner.connectionCount }, this.peerChoking ? [] : this.ext.suggested);
    this.step('grabBlocks', { want: hiWatermark - size, got: blocks.length, endgame: this.owner.pieces.endgame });
    for (const b of blocks) {
      const key = blockKey(b.index, b.begin);
      if (this.outstanding.has(key)) throw new CounterError(`outstanding of ${this.remoteLabel}: block ${b.index}:${b.begin} handed out twice`);
      this.outstanding.set(key, b);
      this.send({ type: 'request', index: b.index, begin: b.begin, length: b.length });
    }
    assertCounterInRange('outstanding of', this.outstanding.size, 0, hiWatermark, this.remoteLabel);
    this.noteIdle(this.outstanding.size);
    this.step('queueBlocks', { count: blocks.length });
    this.step('loop');
  }

  /** Time since `rateSince` that we had requests in flight: what the peer's rate is measured over. */
  private busyFor(now: number): number {
    return now - this.rateSince - this.rateIdle - (this.idleSince === undefined ? 0 : now - this.idleSince);
  }

  /** Our requests in flight to the peer are now `outstanding`: an idle span starts or ends. */
  private noteIdle(outstanding: number): void {
    if (this.rateSince === -Infinity) return;
    const now = this.now();
    if (outstanding === 0) this.idleSince ??= now;
    else if (this.idleSince !== undefined) {
      this.rateIdle += now - this.idleSince;
      this.idleSince = undefined;
    }
  }

  /**
   * How many requests keep this peer busy for `requestQueueTime` at the rate it has sent lately
   * (at least 2, libtorrent's `min_request_queue`). Until the rate has been measured that long,
   * slow start as libtorrent's: one more for each block received (from 2, where libtorrent starts
   * at 4: a 4 KiB/s uplink holds 4 blocks for 16 s, long enough to be copied). libtorrent sizes its
   * queue so: a slow uplink is not handed blocks that would wait there for tens of seconds, to be
   * copied in endgame and sent twice, while a fast one doubles its queue every round trip.
   */
  private queueForRate(): number {
    const window = this.owner.settings.requestQueueTime;
    if (window === 0) return Infinity;
    // Before its first block since the unchoke a peer has shown no rate at all: 2 requests probe it
    // (a peer that unchokes and never sends holds no more of ours).
    const before = this.lastRate === undefined ? MIN_REQUEST_QUEUE : Math.max(MIN_REQUEST_QUEUE, Math.ceil((this.lastRate * window) / BLOCK_SIZE));
    if (this.rateSince === -Infinity) return before;
    const elapsed = this.busyFor(this.now());
    // The first block since the unchoke set `rateSince`; `rateBytes` counts the ones after it.
    if (!(elapsed >= window)) return before + Math.ceil(this.rateBytes / BLOCK_SIZE);
    return Math.max(MIN_REQUEST_QUEUE, Math.ceil((this.rateBytes / elapsed) * window / BLOCK_SIZE));
  }

  /** The remote's allowed-fast pieces that it has and we lack, as a piece set; undefined if none. */
  private allowedFastPieces(): Bitfield | undefined {
    const have = this.owner.pieces.have;
    let set: Bitfield | undefined;
    for (const index of this.ext.allowedFast) {
      if (!this.remotePieces.has(index) || have.has(index)) continue;
      set ??= new Bitfield(this.remotePieces.size);
      set.set(index);
    }
    return set;
  }

  /** Fast: a request we withdrew, whose answer (PIECE or REJECT) may still come. */
  private noteCancelled(b: BlockRef): void {
    if (!this.ext.fast) return;
    const key = blockKey(b.index, b.begin);
    this.cancelled.delete(key);
    this.cancelled.set(key, b);
    if (this.cancelled.size > 2 * this.owner.settings.hiWatermark) this.cancelled.delete(this.cancelled.keys().next().value!);
  }

  // ---- Peer Manager messages -----------------------------------------------------------------------

  /** Choke manager: stop serving this peer. */
  choke(): void {
    this.handle(() => this.onPMChoke());
  }

  private onPMChoke(): void {
    if (!this.handshaken || this.amChoking) return;
    this.chokeAndPrune();
  }

  /** Chokes the peer: for the choke manager, or by the process itself when the peer does not read. */
  private chokeAndPrune(extra?: Record<string, unknown>): void {
    this.step('casePMMsg');
    // Outbound prunes the PIECE messages it has not sent yet (the dotted "Prune Queue" box).
    // Fast: requests for pieces of the allowed-fast set we granted stay queued and are served.
    const granted = this.ext.granted;
    const pruned = this.requestQueue.filter((r) => !granted.has(r.index));
    this.step('ochoke', { pruned: pruned.length, ...extra });
    this.amChoking = true;
    this.send({ type: 'choke' });
    // Fast: the pruned requests are rejected (oreject) — when the send queue has room for it.
    if (this.sendRoom) this.ext.rejectRequests(pruned);
    this.requestQueue = pruned.length === this.requestQueue.length ? [] : this.requestQueue.filter((r) => granted.has(r.index));
    this.traceState();
    this.step('loop');
  }

  /** Choke manager: serve this peer. */
  unchoke(): void {
    this.handle(() => this.onPMUnchoke());
  }

  private onPMUnchoke(): void {
    // A peer that does not take what we queued stays choked until its queue falls below the watermark.
    if (!this.handshaken || !this.amChoking || !this.sendRoom) return;
    this.step('casePMMsg');
    this.step('ounchoke');
    this.amChoking = false;
    this.unchokedAt = this.now();
    this.send({ type: 'unchoke' });
    this.traceState();
    this.suggestPieces();
    this.step('loop');
  }

  /**
   * BEP 6 SUGGEST, from a seed that unchokes a peer (settings' `suggestPieces`): the pieces it
   * lacks that the fewest of our peers hold, so that what we upload spreads before what others
   * can serve. Never while super-seeding: that reveals one piece at a time on purpose.
   */
  private suggestPieces(): void {
    const count = this.owner.settings.suggestPieces;
    if (count === 0 || !this.ext.fast || this.superSeeding || !this.owner.pieces.have.complete) return;
    const pieces = this.owner.suggestionsFor(this.remotePieces, count);
    if (pieces.length === 0) return;
    this.step('osuggest', { pieces });
    for (const index of pieces) this.send({ type: 'suggest', index });
  }

  /** We verified a piece: tell the remote (HAVE broadcast; `have.bytes`, its encoded message) and revisit our interest. */
  announceHave(have: HaveAnnouncement): void {
    this.handleWith(this.onPMHave, have);
  }

  private onPMHave({ index, bytes }: HaveAnnouncement): void {
    if (!this.handshaken) return;
    this.step('casePMMsg');
    this.step('ohave', { piece: index });
    this.write(bytes);
    if (this.remotePieces.has(index)) {
      this.changeWanted(-1);
      this.updateInterest();
    }
    this.step('loop');
  }

  /**
   * Peer Manager: send this PEX message (BEP 11) and remember what it told the remote.
   * `addedKeys`: the added peers' address keys, in order (the strings the caller keys by, shared).
   */
  sendPex(m: PexMessage, addedKeys: readonly string[]): void {
    this.handle(() => {
      if (!this.handshaken || !this.ext.pex) return;
      this.pexSentAt = this.now();
      m.added.forEach((p, i) => this.pexTold.set(addedKeys[i], p.address));
      for (const a of m.dropped) this.pexTold.delete(addressKey(a));
      this.step('casePMMsg');
      this.ext.sendPex(m);
      this.step('loop');
    });
  }

  /** BEP 16: tell the remote of one more piece of ours (a super-seed's HAVE). */
  revealPiece(index: number): void {
    this.handle(() => this.onPMReveal(index));
  }

  private onPMReveal(index: number): void {
    if (!this.handshaken) return;
    this.step('casePMMsg');
    this.step('ohave', { piece: index, superSeed: true });
    this.send({ type: 'have', index });
    this.step('loop');
  }

  private noteDuplicate(bytes: number): void {
    this.duplicateBytes += bytes;
    this.owner.duplicateReceived(this, bytes);
  }

  /** Endgame: the block arrived from another peer; withdraw our request. */
  cancelRequest(block: BlockRef): void {
    this.handle(() => this.onPMCancel(block));
  }

  private onPMCancel(block: BlockRef): void {
    if (!this.handshaken) return;
    const key = blockKey(block.index, block.begin);
    if (!this.outstanding.delete(key)) return;
    this.noteCancelled(block);
    this.step('casePMMsg');
    this.step('ocancel', { piece: block.index, begin: block.begin });
    this.send({ type: 'cancel', index: block.index, begin: block.begin, length: block.length });
    this.fill();
  }

  /** The client's tick: keep-alive and snubbing. Traced only when it acts. Time-outs are deadlines (`onDeadline`). */
  tick(): void {
    this.handle(() => this.onTick());
  }

  private onTick(): void {
    if (this.closed || !this.handshaken) return;
    const now = this.now();
    const s = this.owner.settings;
    if (this.outstanding.size > 0 && now - this.lastBlockAt > s.snubTimeout && now - this.snubbedAt >= s.snubTimeout) {
      this.step('tick');
      this.snubbed = true;
      this.snubbedAt = now;
      // Give its requests back so other peers can fetch them; a late block is then dropped.
      const given = this.outstanding.size;
      this.owner.pieces.giveBack(this.key, this.outstanding.values());
      for (const b of this.outstanding.values()) {
        this.noteCancelled(b);
        this.send({ type: 'cancel', index: b.index, begin: b.begin, length: b.length });
      }
      this.outstanding.clear();
      this.step('snubbed', { given });
      this.step('loop');
    }
    if (now - this.lastSentAt >= s.keepAliveInterval) {
      this.step('tick');
      this.step('sendKeepAlive');
      this.send({ type: 'keep-alive' });
      this.step('loop');
    }
    // Endgame: an idle connection hears nothing that would make it ask again, yet a block in
    // flight elsewhere may have become old enough (`endgameAfter`) to be asked of it.
    if (this.outstanding.size === 0 && this.amInterested && !this.peerChoking && this.owner.pieces.endgame) {
      this.step('tick');
      this.fill();
    }
  }

  // ---- Time-outs: deadlines of one timer per connection ------------------------------------------

  /**
   * The earliest deadline: the handshake's until it is done; then nothing received for
   * `idleTimeout`, and — while the peer is interested, unchoked by us and has no request queued —
   * no REQUEST (nor block from it) for `noRequestTimeout` since our unchoke, its last request or
   * our last block to it.
   */
  private nextDeadline(): number {
    const s = this.owner.settings;
    if (!this.handshaken) return this.startedAt + s.handshakeTimeout;
    const idle = this.lastReceivedAt + s.idleTimeout;
    return Math.min(idle, this.noRequestDeadline());
  }

  private noRequestDeadline(): number {
    if (!this.peerInterested || this.amChoking || this.requestQueue.length > 0) return Infinity;
    return Math.max(this.unchokedAt, this.lastRequestAt, this.lastUploadAt, this.lastBlockAt) + this.owner.settings.noRequestTimeout;
  }

  /** Sets the timer for the earliest deadline unless it is already set for that or sooner. */
  private armDeadline(): void {
    if (this.closed) return;
    const at = this.nextDeadline();
    if (this.deadlineTimer && this.deadlineAt <= at) return; // it fires first and looks again
    this.deadlineTimer?.cancel();
    this.deadlineAt = at;
    this.deadlineTimer = this.owner.clock.setTimer(at - this.now(), () =>
      this.handle(() => {
        this.deadlineTimer = undefined;
        this.deadlineAt = Infinity;
        this.onDeadline(); // handle() re-arms for the next deadline
      }),
    );
  }

  private onDeadline(): void {
    if (this.closed) return;
    const now = this.now();
    const s = this.owner.settings;
    if (!this.handshaken) {
      if (now + DEADLINE_SLACK >= this.startedAt + s.handshakeTimeout) this.exit(this.selfConnection ? SELF_CONNECTION : 'handshake timed out');
      return;
    }
    if (now + DEADLINE_SLACK >= this.lastReceivedAt + s.idleTimeout) {
      this.step('tick');
      this.step('idleTimeout', { silentFor: now - this.lastReceivedAt });
      return this.exit('idle time-out');
    }
    const noRequest = this.noRequestDeadline();
    if (now + DEADLINE_SLACK >= noRequest) {
      const idleFor = now - (noRequest - s.noRequestTimeout);
      this.step('tick');
      this.step('idleTimeout', { silentFor: now - this.lastReceivedAt, rule: 'no-request', idleFor });
      return this.exit(`no request for ${Math.round(idleFor / 1000)} s: interested and unchoked, but asks for nothing`);
    }
  }

  /** Ends the process: from the loop, or a refusal during startup. */
  close(reason: string): void {
    this.handle(() => this.exit(reason));
  }

  // ---- Outbound --------------------------------------------------------------------------------

  /**
   * Sends queued metadata replies and blocks while the network's buffer is short, so CANCEL and
   * CHOKE can still prune; never past the send queue watermark.
   */
  private pump(): void {
    const s = this.owner.settings;
    const limit = Math.min(s.maxSendQueue * (BLOCK_SIZE + 13), s.sendQueueWatermark);
    if (this.closed) return;
    if (this.ext.metadataQueued) this.ext.sendQueuedMetadata(() => this.conn.bufferedBytes() < limit);
    // While we choke the peer only what is left is served: requests for allowed-fast pieces.
    while (this.requestQueue.length > 0 && (!this.amChoking || this.ext.granted.has(this.requestQueue[0].index)) && this.phase !== 'closed' && this.conn.bufferedBytes() < limit) {
      if (!this.capAllows(this.requestQueue[0].length)) return;
      const r = this.requestQueue.shift()!;
      let block: Uint8Array;
      try {
        block = this.owner.storage.read(r.index * this.owner.pieces.layout.pieceLength + r.begin, r.length);
      } catch (err) {
        return this.exit(`storage read failed: ${(err as Error).message}`);
      }
      this.uploaded += r.length;
      this.uploadedSinceRechoke += r.length;
      this.lastUploadAt = this.now();
      this.owner.blockSent(this, r.length);
      this.send({ type: 'piece', index: r.index, begin: r.begin, block });
    }
  }

  /**
   * Sets the upload cap (bytes/s; Infinity lifts it). Credit starts at one block, so a capped
   * connection sends at once and then at the cap.
   */
  uploadCapTo(bytesPerSecond: number): void {
    if (bytesPerSecond === this.uploadCap) return;
    const wasCapped = Number.isFinite(this.uploadCap);
    this.uploadCap = Math.max(1, bytesPerSecond);
    if (!wasCapped) [this.capCredit, this.capRefilledAt] = [BLOCK_SIZE, this.now()];
    this.capTimer?.cancel();
    this.capTimer = undefined;
    this.handle(() => this.pump());
  }

  /** True if the cap lets `bytes` go now (and takes them); else wakes `pump` when it will. */
  private capAllows(bytes: number): boolean {
    if (!Number.isFinite(this.uploadCap)) return true;
    const now = this.now();
    this.capCredit = Math.min(2 * BLOCK_SIZE, this.capCredit + ((now - this.capRefilledAt) * this.uploadCap) / 1000);
    this.capRefilledAt = now;
    if (this.capCredit >= bytes) {
      this.capCredit -= bytes;
      return true;
    }
    if (!this.capTimer) {
      const wait = Math.ceil(((bytes - this.capCredit) * 1000) / this.uploadCap);
      this.capTimer = this.owner.clock.setTimer(wait, () => {
        this.capTimer = undefined;
        this.handle(() => this.pump());
      });
    }
    return false;
  }

  private send(m: Message): void {
    this.write(encodeMessage(m));
  }

  private write(bytes: Uint8Array | Uint8Array[]): void {
    if (this.phase === 'closed') return;
    this.lastSentAt = this.now();
    this.conn.write(bytes);
  }

  // ---- State and trace ---------------------------------------------------------------------------

  private changeWanted(by: number): void {
    this.wanted += by;
    assertCounterInRange('wanted of', this.wanted, 0, this.remotePieces.size, this.remoteLabel);
  }

  /**
   * Debug check (engine/counters.ts): `wanted` recomputed from the two piece sets, and the
   * requests we wait for against the Piece Manager's blocks in flight to us (`requestedFromIt`).
   */
  recountCounters(requestedFromIt: number): void {
    assertCounterEquals(`wanted of ${this.remoteLabel}`, this.wanted, countAndNot(this.remotePieces, this.owner.pieces.have));
    assertCounterEquals(`outstanding of ${this.remoteLabel} (blocks the Piece Manager has in flight to it)`, this.outstanding.size, requestedFromIt);
    for (const b of this.outstanding.values()) {
      if (!this.owner.pieces.isRequestedFrom(this.key, b)) throw new CounterError(`outstanding of ${this.remoteLabel}: block ${b.index}:${b.begin} is not in flight to it in the Piece Manager`);
    }
  }

  private updateInterest(): void {
    const want = this.wanted > 0;
    if (want === this.amInterested) return;
    this.amInterested = want;
    this.send({ type: want ? 'interested' : 'not-interested' });
    this.traceState();
  }

  private setPeerChoking(choking: boolean): void {
    if (this.peerChoking === choking) return;
    this.peerChoking = choking;
    const measured = this.rateSince === -Infinity ? 0 : this.busyFor(this.now());
    if (choking && measured >= this.owner.settings.requestQueueTime && measured > 0) this.lastRate = this.rateBytes / measured;
    this.rateSince = -Infinity;
    this.rateBytes = 0;
    this.rateIdle = 0;
    this.idleSince = undefined;
    this.traceState();
  }

  private traceState(extra?: Record<string, unknown>): void {
    if (this.owner.trace.steps === false) return;
    this.owner.trace.emit({
      t: this.now(),
      peer: this.owner.label,
      remote: this.remoteLabel,
      kind: 'state',
      amChoking: this.amChoking,
      amInterested: this.amInterested,
      peerChoking: this.peerChoking,
      peerInterested: this.peerInterested,
      ...extra,
    });
  }

  // ---- Bounds against a peer that floods or does not read ----------------------------------------

  /**
   * After every event: a send queue past the hard limit drops the peer; one at the watermark
   * chokes it (its queued requests dropped, not rejected: there is no room for REJECTs), and one
   * that stays there for `sendQueueStallTimeout` drops it (a timer wakes the process then). Every write happens inside an event,
   * and each event writes a bounded amount, so the queue cannot run away between two checks.
   */
  private boundSendQueue(): void {
    if (this.closed) return;
    const s = this.owner.settings;
    const queued = this.conn.bufferedBytes();
    if (queued < s.sendQueueWatermark) {
      this.sendQueueFullSince = undefined;
      return;
    }
    if (queued > s.sendQueueHardLimit) {
      return this.exit(`send queue of ${queued} bytes passed the hard limit of ${s.sendQueueHardLimit} bytes: the peer does not read`);
    }
    const now = this.now();
    if (this.sendQueueFullSince === undefined) {
      this.sendQueueFullSince = now;
      // An empty event at the deadline runs this check again.
      this.stallTimer?.cancel();
      this.stallTimer = this.owner.clock.setTimer(s.sendQueueStallTimeout, () => this.handle(() => {}));
    }
    if (now - this.sendQueueFullSince >= s.sendQueueStallTimeout) {
      const seconds = Math.round((now - this.sendQueueFullSince) / 1000);
      return this.exit(`send queue stayed above ${s.sendQueueWatermark} bytes for ${seconds} s: the peer does not read`);
    }
    if (this.handshaken && !this.amChoking) this.chokeAndPrune({ reason: 'send queue full', queued });
  }

  /** A request we could not serve: a peer that keeps sending them past the bound is dropped. */
  private noteUnserved(): void {
    if (this.closed || ++this.unservedStreak <= this.owner.settings.maxUnservedRequests) return;
    this.exit(`request flood: ${this.unservedStreak} requests in a row we could not serve (choked, invalid or past a queue bound)`);
  }

  private exit(reason: string): void {
    if (this.phase === 'closed') return;
    const wasRegistered = this.handshaken;
    this.phase = 'closed';
    this.deadlineTimer?.cancel();
    this.stallTimer?.cancel();
    this.capTimer?.cancel();
    const release = () => {
      const given = this.outstanding.size;
      this.owner.pieces.giveBack(this.key, this.outstanding.values());
      this.outstanding.clear();
      this.cancelled.clear();
      this.requestQueue = [];
      if (wasRegistered) this.owner.pieces.removePeerPieces(this.remotePieces);
      return given;
    };
    this.wire.finish(reason, release, () => this.owner.unregister(this));
  }

  private step(node: NodeId, extra?: Record<string, unknown>): void {
    this.wire.step(node, extra);
  }

  private now(): number {
    return this.owner.clock.now();
  }
}

/** Up to `count` pieces `remote` lacks, lowest `availability` first (ties by index). */
