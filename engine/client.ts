// A BitTorrent client for one torrent, built from the engine's parts and driven only through its
// ports. It composes the Peer Manager (engine/peer-manager.ts: dialing, accepting, slots, the peer
// list), the Trust Manager (bans), the choke manager and the Piece Manager, keeps one Peer process
// per connection, broadcasts HAVEs, routes endgame cancels and runs the 10 s tick.

import { Bitfield } from './bitfield.ts';
import { toHex } from './bytes.ts';
import { type ChokeCandidate, ChokeManager } from './choke-manager.ts';
import { PeerProcess, type PeerOwner } from './peer.ts';
import type { PeerKey } from './peer-key.ts';
import { PeerManager } from './peer-manager.ts';
import { type BlockResult, PieceManager, type PieceLayout } from './piece-manager.ts';
import { addressKey, type Clock, type PeerAddress, type Ports, type Storage, type TimerHandle } from './ports.ts';
import { type EngineSettings, resolveSettings } from './settings.ts';
import { SuperSeeder } from './super-seed.ts';
import type { TestHooks } from './test-hooks.ts';
import { TrackerClient } from './tracker-client.ts';
import type { TraceKind, TraceSink } from './trace.ts';
import { type BanDecision, TrustManager } from './trust-manager.ts';

export interface ClientTorrent extends PieceLayout {
  infoHash: Uint8Array;
  /** The info dictionary's bytes: served over BEP 9 when the extension protocol is on. */
  infoBytes?: Uint8Array;
}

export interface ClientEvents {
  verified(index: number): void;
  hashFailed(index: number, from: string[]): void;
  complete(): void;
  banned(remote: string, reason: string): void;
  /**
   * A block could not be stored (the Storage port threw). The engine gives the block back and
   * goes on (a simulated disk may heal); a live driver should stop: a real disk rarely does.
   */
  storageFailed(error: string): void;
}

export interface ClientOptions {
  torrent: ClientTorrent;
  ports: Ports;
  peerId: Uint8Array;
  /** Our name in the trace. */
  label: string;
  settings?: Partial<EngineSettings>;
  /** What we hold at start: nothing (default), everything, or whatever storage verifies. */
  initial?: 'empty' | 'complete' | 'check';
  /** How a remote address is named in the trace (default host:port). */
  labelOf?: (address: PeerAddress) => string;
  /**
   * Who a remote is for bans, trust and the per-IP limit: its IP (default: the address's host; in
   * the simulator, its virtual host). Connection identity stays `labelOf`, so a liar that comes
   * back from a new port is still the one that was banned.
   */
  banKeyOf?: (address: PeerAddress) => string;
  events?: Partial<ClientEvents>;
  /** TEST ONLY (engine/test-hooks.ts): a bug planted on purpose. */
  testHooks?: TestHooks;
}

export class Client implements PeerOwner {
  readonly label: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly trace: TraceSink;
  readonly pieces: PieceManager<PeerKey>;
  readonly storage: Storage;

  private readonly peerManager: PeerManager;
  private readonly trust = new TrustManager();
  private readonly choker: ChokeManager<PeerKey>;
  /** BEP 16: which piece each super-seeded connection has been shown. */
  private readonly superSeeder: SuperSeeder<PeerKey>;
  private readonly tracker: TrackerClient;
  private ticker: TimerHandle | undefined;
  private running = false;
  private lastRechoke = -Infinity;
  /** Choked since the last rechoke because they lost interest (see `interestChanged`). */
  private readonly choseOut = new Set<PeerKey>();
  private readonly events: Partial<ClientEvents>;

  uploaded = 0;
  downloaded = 0;
  /** Bytes of blocks received that we held already (endgame's second copies, late answers). */
  duplicateBytes = 0;

  constructor(private readonly o: ClientOptions) {
    this.label = o.label;
    this.infoHash = o.torrent.infoHash;
    this.peerId = o.peerId;
    this.settings = resolveSettings(o.settings);
    this.clock = o.ports.clock;
    this.trace = o.ports.trace;
    this.storage = o.ports.storage;
    this.events = o.events ?? {};
    this.peerManager = new PeerManager({
      label: this.label,
      settings: this.settings,
      clock: this.clock,
      network: o.ports.network,
      labelOf: o.labelOf ?? addressKey,
      banKeyOf: o.banKeyOf ?? ((a) => a.host),
      isBanned: (banKey) => this.trust.isBanned(banKey),
      spawn: (conn, key) => new PeerProcess(this, conn, key),
    });
    const initial = o.initial === 'complete' ? Bitfield.full(o.torrent.pieceCount) : undefined;
    this.pieces = new PieceManager<PeerKey>(o.torrent, o.ports.storage, o.ports.random, this.settings.piecePicker, initial, o.testHooks?.plantedBug, { copies: this.settings.endgameCopies, after: this.settings.endgameAfter });
    if (o.initial === 'check') this.pieces.recheck();
    this.choker = new ChokeManager<PeerKey>(this.settings, o.ports.random);
    this.superSeeder = new SuperSeeder<PeerKey>(o.torrent.pieceCount, o.ports.random);
    this.tracker = new TrackerClient({
      port: o.ports.tracker,
      clock: this.clock,
      request: (event) => ({
        infoHash: this.infoHash,
        peerId: this.peerId,
        port: o.ports.network.localAddress.port,
        uploaded: this.uploaded,
        downloaded: this.downloaded,
        left: this.pieces.left,
        event,
        numWant: this.settings.numWant,
      }),
      // A reply far larger than asked for is cut: it would only churn the peer list.
      onPeers: (peers) => this.addPeers(peers.length > this.settings.maxPeersPerReply ? peers.slice(0, this.settings.maxPeersPerReply) : peers),
      onResult: (event, result) => this.emit('announce', { event, ...result }),
      minInterval: this.settings.minAnnounceInterval,
    });
  }

  get complete(): boolean {
    return this.pieces.complete;
  }

  get metadata(): Uint8Array | undefined {
    return this.o.torrent.infoBytes;
  }

  get listenPort(): number {
    return this.o.ports.network.localAddress.port;
  }

  get connectionCount(): number {
    return this.peerManager.peers.size;
  }

  connections(): readonly PeerProcess[] {
    return [...this.peerManager.peers.values()];
  }

  /** Connections still in their handshake, inbound and outbound. */
  get pendingCount(): number {
    return this.peerManager.pending.size;
  }

  /** Connections still in their handshake, inbound and outbound, in the order made. */
  pendingConnections(): readonly PeerProcess[] {
    return [...this.peerManager.pending.values()];
  }

  /** The peer list, in the order learnt. */
  knownPeers(): PeerAddress[] {
    return this.peerManager.knownPeers();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.emit('join', { role: this.complete ? 'seed' : 'leecher', pieces: this.pieces.have.count });
    this.peerManager.start();
    this.tracker.start();
    this.scheduleTick();
  }

  /** Leaves the swarm: closes every connection, tells the tracker, flushes storage. */
  stop(reason = 'stopped'): void {
    if (!this.running) return;
    this.running = false;
    this.ticker?.cancel();
    this.peerManager.stop(reason);
    this.tracker.stop();
    try {
      this.storage.flush();
    } catch {
      // A failing flush on the way out changes nothing we can act on.
    }
    this.emit('leave', { reason });
  }

  /**
   * The process dies: timers and listener stop, nothing more is said to anyone (no tracker
   * 'stopped', no flush). The driver breaks the connections; storage stays as it was.
   */
  crash(): void {
    if (!this.running) return;
    this.running = false;
    this.ticker?.cancel();
    this.peerManager.halt();
    this.tracker.abandon();
  }

  /** Adds a peer address (from the tracker or the user) and dials it if there is room. */
  addPeer(address: PeerAddress): void {
    this.addPeers([address]);
  }

  /** Adds peer addresses to the peer list (bounded by `maxPeerList`), then dials what there is room for. */
  addPeers(addresses: readonly PeerAddress[]): void {
    this.peerManager.addPeers(addresses);
  }

  // ---- PeerOwner ---------------------------------------------------------------------------------

  register(peer: PeerProcess): string | undefined {
    return this.peerManager.register(peer);
  }

  unregister(peer: PeerProcess): void {
    this.superSeeder.forget(peer.key);
    this.choseOut.delete(peer.key);
    this.peerManager.unregister(peer);
  }

  blockSent(_peer: PeerProcess, bytes: number): void {
    this.uploaded += bytes;
  }

  duplicateReceived(_peer: PeerProcess, bytes: number): void {
    this.duplicateBytes += bytes;
  }

  get superSeeding(): boolean {
    return this.settings.superSeed && this.pieces.complete;
  }

  superSeedReady(peer: PeerProcess): void {
    const revealed = this.superSeeder.revealedTo(peer.key);
    if (revealed === undefined || peer.remotePieces.has(revealed)) this.revealNext(peer);
  }

  /**
   * BEP 16: a peer's piece set grew. Every super-seeded peer whose revealed piece is now held by it
   * and by another peer has spread it: it is shown the next one.
   */
  remotePieceAdded(_peer: PeerProcess, index: number): void {
    if (!this.settings.superSeed) return;
    const superSeeded = [...this.peerManager.peers.values()].filter((p) => p.superSeeding && p.handshaken);
    if (superSeeded.length === 0) return;
    const spread = this.superSeeder.spread(index, superSeeded.map((p) => ({ key: p.key, pieces: p.remotePieces })), this.pieces.availabilityOf(index));
    for (const key of spread) {
      const p = this.peerManager.peers.get(key);
      if (p) this.revealNext(p);
    }
    // A piece now held by a peer may be shown to those that were left waiting with none.
    if (this.pieces.availabilityOf(index) === 1) {
      for (const p of superSeeded) if (this.superSeeder.revealedTo(p.key) === undefined && !p.remotePieces.complete) this.revealNext(p);
    }
  }

  private revealNext(peer: PeerProcess): void {
    const index = this.superSeeder.reveal({ key: peer.key, pieces: peer.remotePieces }, (i) => this.pieces.availabilityOf(i));
    if (index !== undefined) peer.revealPiece(index);
  }

  interestChanged(peer: PeerProcess): void {
    if (!peer.peerInterested) {
      // A peer that lost interest takes no upload but holds its slot: libtorrent chokes it and
      // unchokes another. The slot goes by the rechoke's ranking, not to whoever asks first, so
      // a free rider (who never gave us a byte) cannot pick up every slot that frees.
      if (peer.amChoking) return;
      peer.choke();
      this.choseOut.add(peer.key);
      const seeding = this.pieces.complete;
      const next = this.choker.bestChoked(this.chokeCandidates(seeding), seeding);
      if (next !== undefined) this.peerManager.peers.get(next)?.unchoke();
      return;
    }
    // One choked for losing interest waits for the next rechoke: unchoked again at once, it would
    // ask for its blocks again while its first requests are still on their way (BEP 3 has no
    // REJECT), and get every block twice.
    if (!peer.amChoking || this.choseOut.has(peer.key)) return;
    let unchoked = 0;
    for (const p of this.peerManager.peers.values()) if (!p.amChoking) unchoked++;
    if (this.choker.hasFreeSlot(unchoked)) peer.unchoke();
  }

  /**
   * Every handshaken connection as the choke manager sees it. Leeching, tit-for-tat: the peers
   * that gave us most since the last rechoke first (then most over the connection). Seeding,
   * round robin, libtorrent's default `seed_choking_algorithm`: the peers we have sent least
   * first, so the seed's upload is shared evenly ("it minimizes the ability for a peer to download
   * everything without redistributing it") — ranking by the rate we send at would keep whoever
   * downloads fastest unchoked, free riders too.
   */
  private chokeCandidates(seeding: boolean): ChokeCandidate<PeerKey>[] {
    return [...this.peerManager.peers.values()]
      .filter((p) => p.handshaken)
      .map((p) => ({
        key: p.key,
        interested: p.peerInterested,
        snubbed: p.snubbed,
        rate: seeding ? -p.uploaded : p.downloadedSinceRechoke,
        total: seeding ? 0 : p.downloaded,
        choked: p.amChoking,
      }));
  }

  blockStored(_from: PeerProcess, result: BlockResult<PeerKey>): void {
    if (result.status === 'write-failed') this.events.storageFailed?.(result.error);
    if (result.status !== 'stored') return;
    for (const c of result.cancels) this.peerManager.peers.get(c.peer)?.cancelRequest(c.block);
    const piece = result.piece;
    if (!piece) return;
    if (piece.ok) {
      this.downloaded += this.pieces.pieceSize(piece.index);
      this.emit('verified', { piece: piece.index, have: this.pieces.have.count });
      this.events.verified?.(piece.index);
      // A piece that failed before and now passes shows who sent the bad blocks then (culprits).
      this.carryOut(this.trust.pieceChecked(piece));
      for (const p of this.peerManager.peers.values()) p.announceHave(piece.index);
      if (this.pieces.complete) {
        this.emit('complete', {});
        this.tracker.completed();
        this.events.complete?.();
      }
    } else {
      const from = piece.contributors.map((key) => key.label);
      this.emit('hashfail', { piece: piece.index, from });
      this.events.hashFailed?.(piece.index, from);
      this.carryOut(this.trust.pieceChecked(piece));
    }
  }

  /** Bans a ban key (an IP): every connection from it closes, none is accepted or dialled again. */
  private carryOut(bans: readonly BanDecision[]): void {
    for (const { banKey, reason } of bans) {
      this.emit('ban', { reason }, banKey);
      this.events.banned?.(banKey, reason);
      this.peerManager.closeAll(banKey, `banned: ${reason}`);
    }
  }

  private scheduleTick(): void {
    this.ticker = this.clock.setTimer(this.settings.tickInterval, () => {
      if (!this.running) return;
      this.onTick();
      this.scheduleTick();
    });
  }

  private onTick(): void {
    for (const p of [...this.peerManager.peers.values()]) p.tick();
    for (const p of [...this.peerManager.pending.values()]) p.tick();
    const now = this.clock.now();
    if (now - this.lastRechoke >= this.settings.rechokeInterval) this.rechoke(now);
    this.peerManager.dialMore();
  }

  private rechoke(now: number): void {
    this.lastRechoke = now;
    this.choseOut.clear();
    const seeding = this.pieces.complete;
    const peers = [...this.peerManager.peers.values()].filter((p) => p.handshaken);
    const unchoke = this.choker.rechoke(now, this.chokeCandidates(seeding), seeding);
    for (const p of peers) {
      if (unchoke.has(p.key)) p.unchoke();
      else p.choke();
      p.downloadedSinceRechoke = 0;
      p.uploadedSinceRechoke = 0;
    }
  }

  private emit(kind: TraceKind, fields: Record<string, unknown>, remote?: string): void {
    this.trace.emit({ t: this.clock.now(), peer: this.label, ...(remote ? { remote } : {}), kind, ...fields });
  }
}
