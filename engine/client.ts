// A BitTorrent client for one torrent, built from the engine's parts and driven only through its
// ports. It composes the Peer Manager (engine/peer-manager.ts: dialing, accepting, slots, the peer
// list), the Trust Manager (bans), the choke manager and the Piece Manager, keeps one Peer process
// per connection and one WebSeed per BEP 19 URL, broadcasts HAVEs, routes endgame cancels, runs the
// 10 s tick (rechoke, BEP 11 PEX messages, peer turnover, a re-announce when starved of peers), and
// pauses and resumes the torrent.

import { Bitfield } from './bitfield.ts';
import { toHex } from './bytes.ts';
import { type ChokeCandidate, ChokeManager } from './choke-manager.ts';
import { PeerProcess, type PeerOwner } from './peer.ts';
import type { PeerKey } from './peer-key.ts';
import type { PeerSource } from './peer-list.ts';
import type { PexParsed, PexPeer } from './pex.ts';
import { PEX_FLAGS } from './pex.ts';
import { PeerManager } from './peer-manager.ts';
import { type BlockResult, PieceManager, type PieceLayout } from './piece-manager.ts';
import { addressKey, type Clock, type PeerAddress, type Ports, type Storage, type TimerHandle } from './ports.ts';
import { type EngineSettings, resolveSettings } from './settings.ts';
import { SuperSeeder } from './super-seed.ts';
import type { TestHooks } from './test-hooks.ts';
import { TrackerClient } from './tracker-client.ts';
import type { TraceKind, TraceSink } from './trace.ts';
import { type BanDecision, TrustManager } from './trust-manager.ts';
import { WebSeed, type WebSeedOwner } from './web-seed.ts';
import { encodeMessageBytes } from './wire.ts';
import type { WebSeedFile } from './web-seed-layout.ts';

export interface ClientTorrent extends PieceLayout {
  infoHash: Uint8Array;
  /** The info dictionary's bytes: served over BEP 9 when the extension protocol is on. */
  infoBytes?: Uint8Array;
  /** BEP 19 web seeds; used when the ports have a `webSeeds` port. Needs `name`, `files`, `multiFile`. */
  urlList?: readonly string[];
  name?: string;
  files?: readonly WebSeedFile[];
  multiFile?: boolean;
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
  /** A web seed (BEP 19) failed and backs off, or was retired: the `webseed` trace event's fields. */
  webSeedChanged(url: string, change: Record<string, unknown>): void;
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

export class Client implements PeerOwner, WebSeedOwner {
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
  private pausedNow = false;
  private readonly seeds: WebSeed[] = [];
  private lastRechoke = -Infinity;
  private lastTurnover = 0;
  /** The last announce asked for because we were starved of peers (ms; the start counts as one). */
  private lastStarvedAnnounce = 0;
  /** Choked since the last rechoke because they lost interest (see `interestChanged`). */
  private readonly choseOut = new Set<PeerKey>();
  private readonly events: Partial<ClientEvents>;

  uploaded = 0;
  downloaded = 0;
  /** Bytes of blocks received that we held already (endgame's second copies, late answers). */
  duplicateBytes = 0;
  /** How many times we suggested each piece (BEP 6 SUGGEST). */
  private readonly suggested: Uint32Array;

  constructor(private readonly o: ClientOptions) {
    this.label = o.label;
    this.infoHash = o.torrent.infoHash;
    this.peerId = o.peerId;
    this.settings = resolveSettings(o.settings);
    this.clock = o.ports.clock;
    this.trace = o.ports.trace;
    this.storage = o.ports.storage;
    this.events = o.events ?? {};
    this.suggested = new Uint32Array(o.torrent.pieceCount);
    this.peerManager = new PeerManager({
      label: this.label,
      settings: this.settings,
      clock: this.clock,
      network: o.ports.network,
      random: o.ports.random,
      labelOf: o.labelOf ?? addressKey,
      banKeyOf: o.banKeyOf ?? ((a) => a.host),
      isBanned: (banKey) => this.trust.isBanned(banKey),
      spawn: (conn, key) => new PeerProcess(this, conn, key),
    });
    const initial = o.initial === 'complete' ? Bitfield.full(o.torrent.pieceCount) : undefined;
    this.pieces = new PieceManager<PeerKey>(o.torrent, o.ports.storage, o.ports.random, this.settings.piecePicker, initial, o.testHooks?.plantedBug, {
      copies: this.settings.endgameCopies,
      after: this.settings.endgameAfter,
      sending: (holder, block) => this.peerManager.peers.get(holder)?.isSending(block) ?? false,
    }, (key) => this.trust.onParole(key.banKey));
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
      defaultInterval: this.settings.trackerDefaultInterval,
    });
    const webSeedPort = o.ports.webSeeds;
    const t = o.torrent;
    if (webSeedPort && t.urlList && t.name !== undefined && t.files) {
      const layout = { name: t.name, multiFile: t.multiFile ?? false, files: t.files };
      const urls = [...new Set(t.urlList)].slice(0, this.settings.maxWebSeeds);
      urls.forEach((url, i) => this.seeds.push(new WebSeed(this, webSeedPort, url, layout, -(i + 1))));
    }
  }

  /** The web seeds (BEP 19), in `url-list` order. */
  webSeeds(): readonly WebSeed[] {
    return this.seeds;
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.pausedNow;
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

  /** The peer list with where each address came from (tracker, user, PEX), in the order learnt. */
  knownSources(): { address: PeerAddress; source: PeerSource }[] {
    return this.peerManager.knownSources();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastTurnover = this.lastStarvedAnnounce = this.clock.now();
    this.emit('join', { role: this.complete ? 'seed' : 'leecher', pieces: this.pieces.have.count });
    this.peerManager.start();
    this.tracker.start();
    this.scheduleTick();
    for (const seed of this.seeds) seed.start();
  }

  /**
   * Pauses the torrent, as a user does in a client: tells the tracker `stopped`, closes every
   * connection, stops the web seeds and flushes; verified pieces stay (and blocks of partial
   * pieces already stored stay in the Piece Manager). `resume()` goes on without a re-check.
   */
  pause(): void {
    if (!this.running || this.pausedNow) return;
    this.pausedNow = true;
    this.ticker?.cancel();
    this.ticker = undefined;
    for (const seed of this.seeds) seed.stop();
    this.peerManager.stop('paused');
    this.tracker.stop();
    this.flushStorage();
    this.emit('pause', { pieces: this.pieces.have.count });
  }

  /** Resumes a paused torrent: announces `started`, listens and dials again; nothing is re-checked. */
  resume(): void {
    if (!this.running || !this.pausedNow) return;
    this.pausedNow = false;
    this.emit('resume', { pieces: this.pieces.have.count });
    this.peerManager.start();
    this.tracker.start();
    this.scheduleTick();
    for (const seed of this.seeds) seed.start();
    this.peerManager.resumeDialling();
  }

  /** Leaves the swarm: closes every connection, tells the tracker, flushes storage. */
  stop(reason = 'stopped'): void {
    if (!this.running) return;
    this.running = false;
    this.ticker?.cancel();
    for (const seed of this.seeds) seed.stop();
    this.peerManager.stop(reason);
    this.tracker.stop();
    this.flushStorage();
    this.emit('leave', { reason });
  }

  private flushStorage(): void {
    try {
      this.storage.flush();
    } catch {
      // A failing flush on the way out changes nothing we can act on.
    }
  }

  /**
   * The process dies: timers and listener stop, nothing more is said to anyone (no tracker
   * 'stopped', no flush). The driver breaks the connections; storage stays as it was.
   */
  crash(): void {
    if (!this.running) return;
    this.running = false;
    this.ticker?.cancel();
    for (const seed of this.seeds) seed.stop();
    this.peerManager.halt();
    this.tracker.abandon();
  }

  /** Adds a peer address (from the tracker or the user) and dials it if there is room. */
  addPeer(address: PeerAddress): void {
    this.addPeers([address]);
  }

  /** Adds peer addresses to the peer list (bounded by `maxPeerList`), then dials what there is room for. */
  addPeers(addresses: readonly PeerAddress[], source: PeerSource = 'tracker'): void {
    this.peerManager.addPeers(addresses, source);
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

  /** A peer's PEX message: its added peers join the peer list (source `pex`) and are dialled. Dropped ones change nothing. */
  pexLearned(_peer: PeerProcess, message: PexParsed): void {
    if (message.added.length > 0) this.peerManager.addPeers(message.added.map((p) => p.address), 'pex');
  }

  duplicateReceived(_peer: PeerProcess, bytes: number): void {
    this.duplicateBytes += bytes;
  }

  get superSeeding(): boolean {
    return this.settings.superSeed && this.pieces.complete;
  }

  /**
   * The pieces `remote` lacks of which the fewest copies are out, counting those our peers hold
   * and those we suggested already: each peer we unchoke is offered different pieces, so a seed
   * does not upload one piece to several peers at once while others are in nobody's hands.
   */
  suggestionsFor(remote: Bitfield, count: number): number[] {
    const lacking: number[] = [];
    for (let i = 0; i < remote.size; i++) if (!remote.has(i)) lacking.push(i);
    const copies = (i: number) => this.pieces.availabilityOf(i) + this.suggested[i];
    lacking.sort((a, b) => copies(a) - copies(b) || a - b);
    const chosen = lacking.slice(0, count);
    for (const i of chosen) this.suggested[i]++;
    return chosen;
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
      const nextPeer = next === undefined ? undefined : this.peerManager.peers.get(next);
      if (nextPeer) this.unchokeCapped(nextPeer, seeding);
      return;
    }
    // One choked for losing interest waits for the next rechoke: unchoked again at once, it would
    // ask for its blocks again while its first requests are still on their way (BEP 3 has no
    // REJECT), and get every block twice.
    if (!peer.amChoking || this.choseOut.has(peer.key)) return;
    let unchoked = 0;
    for (const p of this.peerManager.peers.values()) if (!p.amChoking) unchoked++;
    if (!this.choker.hasFreeSlot(unchoked)) return;
    this.unchokeCapped(peer, this.pieces.complete);
    this.choker.freeSlotTaken(peer.key, unchoked, this.clock.now());
  }

  /** Unchokes `peer` at the upload its choker gives it (BitTyrant's u_p; uncapped otherwise, and when seeding). */
  private unchokeCapped(peer: PeerProcess, seeding: boolean): void {
    peer.unchoke();
    peer.uploadCapTo(seeding ? Infinity : this.choker.uploadCapOf(peer.key));
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
        peerChoking: p.peerChoking,
        sent: p.uploadedSinceRechoke,
        announced: p.remotePieces.count * this.pieces.layout.pieceLength,
      }));
  }

  blockStored(_from: PeerProcess, result: BlockResult<PeerKey>): void {
    this.handleBlock(result);
  }

  // ---- WebSeedOwner ------------------------------------------------------------------------------

  blockFetched(_seed: WebSeed, result: BlockResult<PeerKey>): void {
    this.handleBlock(result);
  }

  traceWebSeed(seed: WebSeed, fields: Record<string, unknown>): void {
    this.emit('webseed', fields, seed.url);
    this.events.webSeedChanged?.(seed.url, fields);
  }

  /** A block stored, from a peer or a web seed: cancels elsewhere, and the piece's outcome. */
  private handleBlock(result: BlockResult<PeerKey>): void {
    if (result.status === 'write-failed') this.events.storageFailed?.(result.error);
    if (result.status !== 'stored') return;
    for (const c of result.cancels) {
      const peer = this.peerManager.peers.get(c.peer);
      if (peer) peer.cancelRequest(c.block);
      else this.webSeedOf(c.peer)?.blockTaken(c.block);
    }
    const piece = result.piece;
    if (!piece) return;
    // A web seed hears of its pieces' outcomes: a failure backs it off (the Trust Manager may ban it).
    for (const key of piece.contributors) {
      const seed = this.webSeedOf(key);
      if (seed && piece.ok) seed.pieceVerified();
      else if (seed) seed.pieceFailed(piece.index);
    }
    for (const seed of this.seeds) seed.pump();
    if (piece.ok) {
      this.downloaded += this.pieces.pieceSize(piece.index);
      this.emit('verified', { piece: piece.index, have: this.pieces.have.count });
      this.events.verified?.(piece.index);
      // A piece that failed before and now passes shows who sent the bad blocks then (culprits).
      this.carryOut(this.trust.pieceChecked(piece));
      // One HAVE message for every connection: the bytes are the same, and nobody writes to them.
      const have = { index: piece.index, bytes: encodeMessageBytes({ type: 'have', index: piece.index }) };
      for (const p of this.peerManager.peers.values()) p.announceHave(have);
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
      const discarded = this.pieces.discardBlocksFrom((key) => key.banKey === banKey);
      if (discarded > 0) this.emit('discard', { blocks: discarded }, banKey);
      for (const seed of this.seeds) if (seed.key.banKey === banKey) seed.retire(`banned: ${reason}`);
    }
  }

  private webSeedOf(key: PeerKey): WebSeed | undefined {
    return this.seeds.length === 0 || key.serial >= 0 ? undefined : this.seeds.find((seed) => seed.key === key);
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
    // Blocks given back by peers that left are taken up by the web seeds at the next tick at the latest.
    for (const seed of this.seeds) seed.pump();
    const now = this.clock.now();
    if (now - this.lastRechoke >= this.settings.rechokeInterval) this.rechoke(now);
    if (now - this.lastTurnover >= this.settings.peerTurnoverInterval) {
      this.lastTurnover = now;
      const dropped = this.peerManager.turnover(this.pieces.complete);
      if (dropped > 0) this.emit('turnover', { disconnected: dropped, connections: this.peerManager.peers.size });
    }
    this.peerManager.dialMore();
    this.sendPex(now);
    this.announceIfStarved(now);
  }

  /**
   * Starved (fewer than `starvedPeers` established, nothing left in the peer list to dial, not
   * complete): ask the tracker for peers now rather than at its next interval, at most once per
   * `starvedAnnounceInterval` (the tracker's `min interval` still holds: `TrackerClient.refresh`).
   */
  private announceIfStarved(now: number): void {
    const s = this.settings;
    if (this.pieces.complete || this.peerManager.peers.size >= s.starvedPeers || now - this.lastStarvedAnnounce < s.starvedAnnounceInterval) return;
    if (this.peerManager.connectCandidates(1) > 0) return;
    this.lastStarvedAnnounce = now;
    this.emit('starved', { connections: this.peerManager.peers.size, known: this.peerManager.knownPeers().length });
    this.tracker.refresh();
  }

  /**
   * BEP 11: each peer that speaks ut_pex and has not heard from us for `pexInterval` is told the
   * peers we connected to since our last message to it (added, with flags) and those we lost
   * (dropped), at most `maxPexPeers` of each. A peer is never told of itself; nothing is sent when
   * nothing changed. Only peers whose listening address we know are told of (dialled, or an
   * inbound peer whose BEP 10 handshake gave its port).
   */
  private sendPex(now: number): void {
    const s = this.settings;
    if (!s.pex || !s.extensionProtocol) return;
    const peers = [...this.peerManager.peers.values()].filter((p) => p.handshaken);
    // Most ticks nobody is due: the peer set is gathered only for a tick that sends.
    if (!peers.some((p) => p.ext.pex && now - p.pexSentAt >= s.pexInterval)) return;
    const current = new Map<string, PexPeer>();
    for (const p of peers) {
      const address = p.listenAddress;
      const key = p.listenKey;
      if (!address || key === undefined) continue;
      const flags = (p.remotePieces.complete ? PEX_FLAGS.seed : 0) | (p.conn.inbound ? 0 : PEX_FLAGS.reachable);
      current.set(key, { address, flags });
    }
    for (const p of peers) {
      if (!p.ext.pex || now - p.pexSentAt < s.pexInterval) continue;
      const own = p.listenKey;
      const added: PexPeer[] = [];
      const addedKeys: string[] = [];
      for (const [key, peer] of current) {
        if (added.length < s.maxPexPeers && key !== own && !p.pexTold.has(key)) {
          added.push(peer);
          addedKeys.push(key);
        }
      }
      const dropped: PeerAddress[] = [];
      for (const [key, address] of p.pexTold) if (dropped.length < s.maxPexPeers && (!current.has(key) || key === own)) dropped.push(address);
      if (added.length > 0 || dropped.length > 0) p.sendPex({ added, dropped }, addedKeys);
    }
  }

  private rechoke(now: number): void {
    this.lastRechoke = now;
    this.choseOut.clear();
    const seeding = this.pieces.complete;
    const peers = [...this.peerManager.peers.values()].filter((p) => p.handshaken);
    const unchoke = this.choker.rechoke(now, this.chokeCandidates(seeding), seeding);
    for (const p of peers) {
      if (unchoke.has(p.key)) this.unchokeCapped(p, seeding);
      else p.choke();
      p.downloadedSinceRechoke = 0;
      p.uploadedSinceRechoke = 0;
    }
  }

  private emit(kind: TraceKind, fields: Record<string, unknown>, remote?: string): void {
    this.trace.emit({ t: this.clock.now(), peer: this.label, ...(remote ? { remote } : {}), kind, ...fields });
  }
}
