// A BitTorrent client for one torrent, built from the engine's parts and driven only through its
// ports. It plays the Peer Manager of the diagram: it dials and accepts peers, keeps one Peer
// process per connection, broadcasts HAVEs, routes endgame cancels and runs the choke manager.

import { Bitfield } from './bitfield.ts';
import { ChokeManager } from './choke-manager.ts';
import { PeerProcess, type PeerOwner } from './peer.ts';
import { type BlockResult, PieceManager, type PieceLayout } from './piece-manager.ts';
import { addressKey, type Clock, type Connection, type PeerAddress, type Ports, type Storage, type TimerHandle } from './ports.ts';
import { type EngineSettings, resolveSettings } from './settings.ts';
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
  events?: Partial<ClientEvents>;
}

interface KnownPeer {
  address: PeerAddress;
  /** Dials in a row that ended before a handshake. */
  failures: number;
  /** Not dialled again before this time. */
  notBefore: number;
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
  private readonly banned = new Set<string>();
  private readonly trust = new Map<string, number>();
  private readonly choker: ChokeManager;
  private readonly tracker: TrackerClient;
  private listener: { stop(): void } | undefined;
  private ticker: TimerHandle | undefined;
  private nextKey = 0;
  private running = false;
  private lastRechoke = -Infinity;
  private readonly labelOf: (a: PeerAddress) => string;
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
    this.events = o.events ?? {};
    const initial = o.initial === 'complete' ? Bitfield.full(o.torrent.pieceCount) : undefined;
    this.pieces = new PieceManager(o.torrent, o.ports.storage, o.ports.random, this.settings.piecePicker, initial, this.settings.plantedBug);
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
      onPeers: (peers) => {
        for (const p of peers) this.addPeer(p);
      },
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
    const key = addressKey(address);
    const self = this.o.ports.network.localAddress;
    if (key === addressKey(self) || this.banned.has(this.labelOf(address))) return;
    if (!this.known.has(key)) {
      this.known.set(key, { address: { host: address.host, port: address.port }, failures: 0, notBefore: 0 });
    }
    this.dialMore();
  }

  // ---- PeerOwner ---------------------------------------------------------------------------------

  register(peer: PeerProcess): string | undefined {
    const id = hex(peer.remotePeerId!);
    if (this.banned.has(peer.remoteLabel)) return 'banned';
    if (this.byPeerId.has(id)) return 'already connected to this peer id';
    if (this.peers.size >= this.settings.maxConnections) return 'too many connections';
    this.pending.delete(peer.key);
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
    this.byPeerId.delete(hex(peer.remotePeerId!));
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
    if (result.status !== 'stored') return;
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

  /** Charges or credits every contributor, connected or gone (a corrupter may leave first). */
  private adjustTrust(contributors: readonly string[], delta: number): void {
    for (const label of new Set(contributors.map(labelOfKey))) {
      const trust = Math.min(TRUST.cap, (this.trust.get(label) ?? 0) + delta);
      this.trust.set(label, trust);
      if (trust <= TRUST.banAt && !this.banned.has(label)) this.ban(label, `sent corrupt data (trust ${trust})`);
    }
  }

  // ---- Peer Manager --------------------------------------------------------------------------------

  private ban(label: string, reason: string): void {
    this.banned.add(label);
    this.emit('ban', { reason }, label);
    this.events.banned?.(label, reason);
    for (const p of [...this.peers.values(), ...this.pending.values()]) if (p.remoteLabel === label) p.close(`banned: ${reason}`);
  }

  private accept(conn: Connection): void {
    const label = this.labelOf(conn.remote);
    if (!this.running || this.peers.size + this.pending.size >= this.settings.maxConnections || this.banned.has(label) || !this.admitInbound(label)) {
      conn.close();
      return;
    }
    this.spawn(conn);
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

  /** Dials known addresses we are not connected to, up to the connection limit. */
  private dialMore(): void {
    if (!this.running) return;
    if (this.peers.size + this.pending.size >= this.settings.maxConnections) return;
    const now = this.clock.now();
    const connectedLabels = new Set<string>();
    for (const p of this.peers.values()) connectedLabels.add(p.remoteLabel);
    for (const p of this.pending.values()) connectedLabels.add(p.remoteLabel);
    for (const known of this.known.values()) {
      if (this.peers.size + this.pending.size >= this.settings.maxConnections) return;
      const label = this.labelOf(known.address);
      if (known.notBefore > now || connectedLabels.has(label) || this.banned.has(label)) continue;
      connectedLabels.add(label);
      this.spawn(this.o.ports.network.connect(known.address));
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

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
