// A BitTorrent client for one torrent, built from the engine's parts and driven only through its
// ports. It plays the Peer Manager of the diagram: it dials and accepts peers, keeps one Peer
// process per connection, broadcasts HAVEs, routes endgame cancels and runs the choke manager.

import { Bitfield } from './bitfield.ts';
import { toHex } from './bytes.ts';
import { ChokeManager } from './choke-manager.ts';
import { PeerProcess, type PeerOwner } from './peer.ts';
import { type BlockResult, PieceManager, type PieceLayout } from './piece-manager.ts';
import { addressKey, type Clock, type Connection, type PeerAddress, type Ports, type Storage, type TimerHandle } from './ports.ts';
import { type EngineSettings, resolveSettings } from './settings.ts';
import type { TestHooks } from './test-hooks.ts';
import { TrackerClient } from './tracker-client.ts';
import type { TraceKind, TraceSink } from './trace.ts';

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

interface KnownPeer {
  address: PeerAddress;
  /** Dials in a row that ended before a handshake. */
  failures: number;
  /** Not dialled again before this time. */
  notBefore: number;
  /** A dial to it finished the handshake once: worth more than an address never tried. */
  connected: boolean;
}

/**
 * Trust in a remote, moved by the pieces it helped with: a good piece earns trust (up to a cap),
 * a corrupt one costs more when the remote sent it alone. At the floor the remote is banned: a
 * peer that sends only corrupt data goes after two pieces, while an honest peer whose piece failed
 * for another reason (our own disk, a co-contributor) survives on the trust it earned.
 */
const TRUST = { good: 2, cap: 16, badAlone: -4, badShared: -1, banAt: -8 };

export class Client implements PeerOwner {
  readonly label: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly trace: TraceSink;
  readonly pieces: PieceManager;
  readonly storage: Storage;

  /** Live connections in the order they were made; the order breaks every tie. */
  private readonly peers = new Map<string, PeerProcess>();
  private readonly byPeerId = new Map<string, PeerProcess>();
  /** Addresses learnt from the tracker or given by the user, in the order learnt. */
  private readonly known = new Map<string, KnownPeer>();
  /** Connections still in their handshake, inbound and outbound. */
  private readonly pending = new Map<string, PeerProcess>();
  /** Ban keys (IPs) banned, and the trust of each ban key. */
  private readonly banned = new Set<string>();
  private readonly trust = new Map<string, number>();
  /** The ban key of every label that sent us a block: pieces name their contributors by label. */
  private readonly banKeyOfLabel = new Map<string, string>();
  private readonly choker: ChokeManager;
  private readonly tracker: TrackerClient;
  private listener: { stop(): void } | undefined;
  private ticker: TimerHandle | undefined;
  private nextKey = 0;
  private running = false;
  private lastRechoke = -Infinity;
  private readonly labelOf: (a: PeerAddress) => string;
  private readonly banKeyOf: (a: PeerAddress) => string;
  private readonly events: Partial<ClientEvents>;

  uploaded = 0;
  downloaded = 0;

  constructor(private readonly o: ClientOptions) {
    this.label = o.label;
    this.infoHash = o.torrent.infoHash;
    this.peerId = o.peerId;
    this.settings = resolveSettings(o.settings);
    this.clock = o.ports.clock;
    this.trace = o.ports.trace;
    this.storage = o.ports.storage;
    this.labelOf = o.labelOf ?? addressKey;
    this.banKeyOf = o.banKeyOf ?? ((a) => a.host);
    this.events = o.events ?? {};
    const initial = o.initial === 'complete' ? Bitfield.full(o.torrent.pieceCount) : undefined;
    this.pieces = new PieceManager(o.torrent, o.ports.storage, o.ports.random, this.settings.piecePicker, initial, o.testHooks?.plantedBug);
    if (o.initial === 'check') this.pieces.recheck();
    this.choker = new ChokeManager(this.settings, o.ports.random);
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
    return this.peers.size;
  }

  connections(): readonly PeerProcess[] {
    return [...this.peers.values()];
  }

  /** Connections still in their handshake, inbound and outbound. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The peer list, in the order learnt. */
  knownPeers(): PeerAddress[] {
    return [...this.known.values()].map((k) => k.address);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.emit('join', { role: this.complete ? 'seed' : 'leecher', pieces: this.pieces.have.count });
    this.listener = this.o.ports.network.listen((conn) => this.accept(conn));
    this.tracker.start();
    this.scheduleTick();
  }

  /** Leaves the swarm: closes every connection, tells the tracker, flushes storage. */
  stop(reason = 'stopped'): void {
    if (!this.running) return;
    this.running = false;
    this.ticker?.cancel();
    this.listener?.stop();
    for (const p of [...this.peers.values(), ...this.pending.values()]) p.close(reason);
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
    this.listener?.stop();
    this.tracker.abandon();
  }

  /** Adds a peer address (from the tracker or the user) and dials it if there is room. */
  addPeer(address: PeerAddress): void {
    this.addPeers([address]);
  }

  /** Adds peer addresses to the peer list (bounded by `maxPeerList`), then dials what there is room for. */
  addPeers(addresses: readonly PeerAddress[]): void {
    const self = addressKey(this.o.ports.network.localAddress);
    let inUse: Set<string> | undefined;
    for (const address of addresses) {
      const key = addressKey(address);
      if (key === self || this.known.has(key) || this.banned.has(this.banKeyOf(address))) continue;
      if (this.known.size >= this.settings.maxPeerList) {
        inUse ??= this.dialledAddresses();
        if (!this.forgetOneKnown(inUse)) continue;
      }
      this.known.set(key, { address: { host: address.host, port: address.port }, failures: 0, notBefore: 0, connected: false });
    }
    this.dialMore();
  }

  // ---- PeerOwner ---------------------------------------------------------------------------------

  register(peer: PeerProcess): string | undefined {
    const id = toHex(peer.remotePeerId!);
    if (this.banned.has(this.banKeyOf(peer.conn.remote))) return 'banned';
    if (this.byPeerId.has(id)) return 'already connected to this peer id';
    if (this.peers.size >= this.settings.maxConnections && !(peer.conn.inbound && this.makeRoom())) return 'too many connections';
    this.pending.delete(peer.key);
    if (!peer.conn.inbound) {
      const known = this.known.get(addressKey(peer.conn.remote));
      if (known) known.connected = true;
    }
    this.byPeerId.set(id, peer);
    this.peers.set(peer.key, peer);
    return undefined;
  }

  unregister(peer: PeerProcess): void {
    this.pending.delete(peer.key);
    if (!peer.conn.inbound) {
      // Back off from an address that failed or dropped us, so a dead peer is not dialled every tick.
      const known = this.known.get(addressKey(peer.conn.remote));
      if (known) {
        known.failures = peer.handshaken ? 0 : known.failures + 1;
        known.notBefore = this.clock.now() + this.settings.retryDelay * 2 ** Math.min(known.failures, 5);
      }
    }
    if (this.peers.get(peer.key) !== peer) return;
    this.peers.delete(peer.key);
    this.byPeerId.delete(toHex(peer.remotePeerId!));
  }

  blockSent(_peer: PeerProcess, bytes: number): void {
    this.uploaded += bytes;
  }

  interestChanged(peer: PeerProcess): void {
    if (!peer.peerInterested || !peer.amChoking) return;
    let unchoked = 0;
    for (const p of this.peers.values()) if (!p.amChoking) unchoked++;
    if (this.choker.hasFreeSlot(unchoked)) peer.unchoke();
  }

  blockStored(from: PeerProcess, result: BlockResult): void {
    if (result.status === 'write-failed') this.events.storageFailed?.(result.error);
    if (result.status !== 'stored') return;
    this.banKeyOfLabel.set(from.remoteLabel, this.banKeyOf(from.conn.remote));
    for (const c of result.cancels) this.peers.get(c.peer)?.cancelRequest(c.block);
    const piece = result.piece;
    if (!piece) return;
    if (piece.ok) {
      this.downloaded += this.pieces.pieceSize(piece.index);
      this.emit('verified', { piece: piece.index, have: this.pieces.have.count });
      this.events.verified?.(piece.index);
      this.adjustTrust(piece.contributors, TRUST.good);
      // A piece that failed before and now passes shows who sent the bad blocks then.
      if (piece.culprits?.length) this.adjustTrust(piece.culprits, TRUST.badAlone);
      for (const p of this.peers.values()) p.announceHave(piece.index);
      if (this.pieces.complete) {
        this.emit('complete', {});
        this.tracker.completed();
        this.events.complete?.();
      }
    } else {
      const from = piece.contributors.map(labelOfKey);
      this.emit('hashfail', { piece: piece.index, from });
      this.events.hashFailed?.(piece.index, from);
      this.adjustTrust(piece.contributors, piece.contributors.length === 1 ? TRUST.badAlone : TRUST.badShared);
    }
  }

  /**
   * Charges or credits every contributor, connected or gone (a corrupter may leave first), by ban
   * key: a liar that comes back from a new port starts from the trust it left with.
   */
  private adjustTrust(contributors: readonly string[], delta: number): void {
    const banKeys = new Set(contributors.map((key) => this.banKeyOfLabel.get(labelOfKey(key)) ?? labelOfKey(key)));
    for (const banKey of banKeys) {
      const trust = Math.min(TRUST.cap, (this.trust.get(banKey) ?? 0) + delta);
      this.trust.set(banKey, trust);
      if (trust <= TRUST.banAt && !this.banned.has(banKey)) this.ban(banKey, `sent corrupt data (trust ${trust})`);
    }
  }

  // ---- Peer Manager --------------------------------------------------------------------------------

  /** Bans a ban key (an IP): every connection from it closes, none is accepted or dialled again. */
  private ban(banKey: string, reason: string): void {
    this.banned.add(banKey);
    this.emit('ban', { reason }, banKey);
    this.events.banned?.(banKey, reason);
    for (const p of [...this.peers.values(), ...this.pending.values()]) if (this.banKeyOf(p.conn.remote) === banKey) p.close(`banned: ${reason}`);
  }

  /**
   * An inbound connection is let into its handshake when its IP is not banned and below its
   * connection limit, and there is a handshake slot — and an established slot, or a peer that
   * would make room for it (`makeRoom`).
   */
  private accept(conn: Connection): void {
    const label = this.labelOf(conn.remote);
    const banKey = this.banKeyOf(conn.remote);
    const refuse =
      !this.running ||
      this.banned.has(banKey) ||
      this.pendingIn() >= this.settings.maxPendingHandshakes ||
      (this.peers.size >= this.settings.maxConnections && this.leastUseful() === undefined) ||
      this.connectionsWith(banKey) >= this.settings.maxConnectionsPerIp ||
      !this.admitInbound(label);
    if (refuse) {
      conn.close();
      return;
    }
    this.spawn(conn);
  }

  /**
   * All established slots are taken and a new inbound peer finished its handshake: the least
   * useful established peer goes. Only a peer that exchanges nothing with us — neither side
   * interested — is a candidate (like libtorrent's inactivity rule for peers "uninteresting and
   * uninterested"); among them, the one that gave and took the fewest bytes, then the one
   * connected longest (map order). The newcomer is the newest, so a flood of do-nothing sockets
   * evicts its own oldest members long before an honest newcomer, who turns interested at once.
   */
  private makeRoom(): boolean {
    const victim = this.leastUseful();
    if (!victim) return false;
    victim.close('made room for a new peer: neither side was interested');
    return this.peers.size < this.settings.maxConnections;
  }

  private leastUseful(): PeerProcess | undefined {
    let victim: PeerProcess | undefined;
    for (const p of this.peers.values()) {
      if (!p.handshaken || p.peerInterested || p.amInterested) continue;
      if (!victim || p.downloaded + p.uploaded < victim.downloaded + victim.uploaded) victim = p;
    }
    return victim;
  }

  private pendingIn(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.conn.inbound) n++;
    return n;
  }

  /** Connections (established and in handshake, both directions) with one ban key. */
  private connectionsWith(banKey: string): number {
    let n = 0;
    for (const p of this.peers.values()) if (this.banKeyOf(p.conn.remote) === banKey) n++;
    for (const p of this.pending.values()) if (this.banKeyOf(p.conn.remote) === banKey) n++;
    return n;
  }

  /** Addresses we dialled and are still connected or connecting to: never forgotten. */
  private dialledAddresses(): Set<string> {
    const out = new Set<string>();
    for (const p of [...this.peers.values(), ...this.pending.values()]) if (!p.conn.inbound) out.add(addressKey(p.conn.remote));
    return out;
  }

  /**
   * The peer list is full: forgets one address not in use — the oldest that failed, else the
   * oldest never connected, else the oldest. False when every address is in use.
   */
  private forgetOneKnown(inUse: ReadonlySet<string>): boolean {
    const rules: ((k: KnownPeer) => boolean)[] = [(k) => k.failures > 0, (k) => !k.connected, () => true];
    for (const rule of rules) {
      for (const [key, k] of this.known) {
        if (inUse.has(key) || !rule(k)) continue;
        this.known.delete(key);
        return true;
      }
    }
    return false;
  }

  /**
   * One connection per remote at a time. When two peers dial each other at once, both apply the
   * same rule — the dial of the peer with the smaller label wins — so exactly one survives.
   */
  private admitInbound(label: string): boolean {
    for (const p of this.peers.values()) if (p.remoteLabel === label) return false;
    const other = [...this.pending.values()].find((p) => p.remoteLabel === label);
    if (!other) return true;
    if (other.conn.inbound) return false;
    const ourDial = other;
    if (!(label < this.label)) return false;
    ourDial.close('simultaneous dial: the other side\'s connection is kept');
    return true;
  }

  private spawn(conn: Connection): void {
    const label = this.labelOf(conn.remote);
    const peer = new PeerProcess(this, conn, label, `${label}#${this.nextKey++}`);
    if (!peer.closed) this.pending.set(peer.key, peer);
  }

  /**
   * Dials known addresses we are not connected to, while established peers and our own dials in
   * their handshake stay within the connection limit (inbound handshakes are counted apart) and
   * our dials in their handshake within `maxPendingHandshakes`; at most `maxConnectionsPerIp` per IP.
   */
  private dialMore(): void {
    if (!this.running) return;
    const s = this.settings;
    let dialling = this.pending.size - this.pendingIn();
    const room = () => this.peers.size + dialling < s.maxConnections && dialling < s.maxPendingHandshakes;
    if (!room()) return;
    const now = this.clock.now();
    const connectedLabels = new Set<string>();
    const perIp = new Map<string, number>();
    for (const p of [...this.peers.values(), ...this.pending.values()]) {
      connectedLabels.add(p.remoteLabel);
      const banKey = this.banKeyOf(p.conn.remote);
      perIp.set(banKey, (perIp.get(banKey) ?? 0) + 1);
    }
    for (const known of this.known.values()) {
      if (!room()) return;
      const label = this.labelOf(known.address);
      const banKey = this.banKeyOf(known.address);
      const ipCount = perIp.get(banKey) ?? 0;
      if (known.notBefore > now || connectedLabels.has(label) || this.banned.has(banKey) || ipCount >= s.maxConnectionsPerIp) continue;
      connectedLabels.add(label);
      perIp.set(banKey, ipCount + 1);
      const before = this.pending.size;
      this.spawn(this.o.ports.network.connect(known.address));
      dialling += this.pending.size - before;
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
    for (const p of [...this.peers.values()]) p.tick();
    for (const p of [...this.pending.values()]) p.tick();
    const now = this.clock.now();
    if (now - this.lastRechoke >= this.settings.rechokeInterval) this.rechoke(now);
    this.dialMore();
  }

  private rechoke(now: number): void {
    this.lastRechoke = now;
    const seeding = this.pieces.complete;
    const peers = [...this.peers.values()].filter((p) => p.handshaken);
    const unchoke = this.choker.rechoke(
      now,
      peers.map((p) => ({
        key: p.key,
        interested: p.peerInterested,
        snubbed: p.snubbed,
        rate: seeding ? p.uploadedSinceRechoke : p.downloadedSinceRechoke,
        total: seeding ? p.uploaded : p.downloaded,
        choked: p.amChoking,
      })),
      seeding,
    );
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

/** A connection key is "<remote label>#<n>". */
function labelOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf('#'));
}
