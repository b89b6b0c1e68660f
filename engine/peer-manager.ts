// The Peer Manager of the diagram: the peer list, dialing, accepting, registering handshaken peers,
// backoff, the simultaneous-dial rule, and the slot and eviction rules. It keeps the connections
// (established, and in their handshake) and leaves what they carry to the Client; whether a remote
// is banned it asks the Trust Manager's answer (`isBanned`).

import { toHex } from './bytes.ts';
import type { PeerProcess } from './peer.ts';
import { PeerKey } from './peer-key.ts';
import { type KnownPeer, PeerList, type PeerSource } from './peer-list.ts';
import { addressKey, type Clock, type Connection, type Network, type PeerAddress, type Random } from './ports.ts';
import type { EngineSettings } from './settings.ts';

export interface PeerManagerOptions {
  /** Our name: the simultaneous-dial rule compares it with the remote's. */
  label: string;
  settings: EngineSettings;
  clock: Clock;
  network: Network;
  /** Draws each redial's jitter. */
  random: Random;
  /** How a remote address is named (connection identity). */
  labelOf: (address: PeerAddress) => string;
  /** Who a remote is for bans, trust and the per-IP limit. */
  banKeyOf: (address: PeerAddress) => string;
  isBanned: (banKey: string) => boolean;
  /** Starts the Peer process of a new connection (it may close at once). */
  spawn: (conn: Connection, key: PeerKey) => PeerProcess;
}

export class PeerManager {
  /** Live connections in the order they were made; the order breaks every tie. */
  private readonly established = new Map<PeerKey, PeerProcess>();
  private readonly byPeerId = new Map<string, PeerProcess>();
  /** Addresses learnt from the tracker or given by the user, in the order learnt. */
  private readonly known: PeerList;
  /** Connections still in their handshake, inbound and outbound. */
  private readonly handshaking = new Map<PeerKey, PeerProcess>();
  private listener: { stop(): void } | undefined;
  private nextSerial = 0;
  private running = false;
  /** When each established peer finished its handshake (ms): turnover rates bytes over it. */
  private readonly connectedAt = new Map<PeerKey, number>();

  constructor(private readonly o: PeerManagerOptions) {
    const s = o.settings;
    // libtorrent's reconnect rule: (failures + 1) × min_reconnect_time from the dial's start,
    // stretched by up to `retryJitter`: peers that failed together (a crowd that joined at once,
    // refused by full peers) do not all redial in the same instant and collide again.
    this.known = new PeerList({
      maxSize: s.maxPeerList,
      backoff: (failures) => s.retryDelay * (Math.min(failures, 5) + 1) * (1 + (s.retryJitter / 100) * o.random.next()),
      countFrom: 'dial-start',
    });
  }

  /** Established peers, in the order they connected. */
  get peers(): ReadonlyMap<PeerKey, PeerProcess> {
    return this.established;
  }

  /** Connections still in their handshake, inbound and outbound. */
  get pending(): ReadonlyMap<PeerKey, PeerProcess> {
    return this.handshaking;
  }

  /** The peer list, in the order learnt. */
  knownPeers(): PeerAddress[] {
    return this.known.addresses();
  }

  /** Starts accepting connections and dialling. */
  start(): void {
    this.running = true;
    this.listener = this.o.network.listen((conn) => this.accept(conn));
  }

  /** Stops accepting and dialling, and closes every connection with `reason`. */
  stop(reason: string): void {
    this.halt();
    for (const p of [...this.established.values(), ...this.handshaking.values()]) p.close(reason);
  }

  /** After a pause: the addresses we closed ourselves are dialled at once, without their backoff. */
  resumeDialling(): void {
    this.known.clearBackoffOfConnected();
    this.dialMore();
  }

  /** Stops accepting and dialling; the connections are left as they are (a crash). */
  halt(): void {
    this.running = false;
    this.listener?.stop();
  }

  /** Where each address in the peer list came from, in the order learnt. */
  knownSources(): { address: PeerAddress; source: PeerSource }[] {
    return [...this.known.values()].map((k) => ({ address: k.address, source: k.source }));
  }

  /**
   * Adds peer addresses to the peer list (bounded by `maxPeerList`), then dials what there is room
   * for. Returns how many were new to the list.
   */
  addPeers(addresses: readonly PeerAddress[], source: PeerSource = 'tracker'): number {
    let added = 0;
    const self = addressKey(this.o.network.localAddress);
    let inUse: Set<string> | undefined;
    for (const address of addresses) {
      const key = addressKey(address);
      if (key === self || this.known.has(address) || this.o.isBanned(this.o.banKeyOf(address))) continue;
      if (this.known.full) {
        inUse ??= this.dialledAddresses();
        if (!this.known.forgetOne(inUse)) continue;
      }
      this.known.add(address, source);
      added++;
    }
    this.dialMore();
    return added;
  }

  /**
   * Addresses the dial loop would dial now if there were room, counted up to `atMost`: known, not
   * connected or connecting, out of their backoff, not banned, within the per-IP limit.
   */
  connectCandidates(atMost: number): number {
    let n = 0;
    dialFromList(this.known, { ...this.dialPlan(), room: () => n < atMost, dial: () => void n++ });
    return n;
  }

  /**
   * Peer turnover (libtorrent's `peer_turnover`): with established peers at `peerTurnoverCutoff` %
   * of `maxConnections` or more and addresses left to dial, the `peerTurnover` % least useful
   * peers (at least one; no more than there are addresses to dial) are disconnected, and the
   * freed slots dialled. Least useful: for a leecher, one we are not interested in before one we
   * are, then the lowest download rate over the connection's life; for a seed, the lowest upload
   * rate; ties to the one connected first. Peers connected for less than a minute are spared:
   * they have not had time to show what they give. Returns the peers disconnected.
   */
  turnover(seeding: boolean): number {
    const s = this.o.settings;
    const count = this.established.size;
    if (s.peerTurnover === 0 || count * 100 < s.peerTurnoverCutoff * s.maxConnections) return 0;
    const now = this.o.clock.now();
    const want = Math.min(Math.max(1, Math.floor((count * s.peerTurnover) / 100)), this.connectCandidates(count));
    if (want === 0) return 0;
    const ranked = [...this.established.values()]
      .filter((p) => p.handshaken && now - (this.connectedAt.get(p.key) ?? now) >= TURNOVER_GRACE)
      .map((p, order) => {
        const age = Math.max(1, now - this.connectedAt.get(p.key)!);
        return { p, order, idle: seeding ? 0 : p.amInterested ? 1 : 0, rate: (seeding ? p.uploaded : p.downloaded) / age };
      })
      .sort((a, b) => a.idle - b.idle || a.rate - b.rate || a.order - b.order)
      .slice(0, want);
    for (const { p } of ranked) p.close('peer turnover: among the least useful peers while every slot was taken');
    this.dialMore();
    return ranked.length;
  }

  /** Admits the handshaken peer, or returns why not (banned, duplicate, full). */
  register(peer: PeerProcess): string | undefined {
    const id = toHex(peer.remotePeerId!);
    if (this.o.isBanned(peer.key.banKey)) return 'banned';
    if (this.byPeerId.has(id)) return 'already connected to this peer id';
    // Our own dial makes room as an inbound newcomer does: inbound peers accepted while it was in
    // its handshake may have taken the slot it was dialled for (in a flash crowd, every leecher's
    // dial to the seed lost to 50 empty-handed leechers, and nobody got a piece for minutes).
    if (this.established.size >= this.o.settings.maxConnections && !this.makeRoom()) return 'too many connections';
    this.handshaking.delete(peer.key);
    if (!peer.conn.inbound) this.known.connected(peer.conn.remote);
    this.byPeerId.set(id, peer);
    this.established.set(peer.key, peer);
    this.connectedAt.set(peer.key, this.o.clock.now());
    return undefined;
  }

  unregister(peer: PeerProcess): void {
    this.handshaking.delete(peer.key);
    // An address that led back to ourselves (another of our addresses) is never dialled again.
    if (!peer.conn.inbound && peer.selfConnection) this.known.retire(peer.conn.remote);
    else if (!peer.conn.inbound) this.known.dialEnded(peer.conn.remote, peer.handshaken, this.o.clock.now());
    if (this.established.get(peer.key) !== peer) return;
    this.established.delete(peer.key);
    this.connectedAt.delete(peer.key);
    this.byPeerId.delete(toHex(peer.remotePeerId!));
  }

  /** Closes every connection from a ban key (the Trust Manager banned it). */
  closeAll(banKey: string, reason: string): void {
    for (const p of [...this.established.values(), ...this.handshaking.values()]) if (p.key.banKey === banKey) p.close(reason);
  }

  /**
   * An inbound connection is let into its handshake when its IP is not banned and below its
   * connection limit, and there is a handshake slot — and an established slot, or a peer that
   * would make room for it (`makeRoom`).
   */
  private accept(conn: Connection): void {
    const label = this.o.labelOf(conn.remote);
    const banKey = this.o.banKeyOf(conn.remote);
    const refuse =
      !this.running ||
      this.o.isBanned(banKey) ||
      this.pendingIn() >= this.o.settings.maxPendingHandshakes ||
      (this.established.size >= this.o.settings.maxConnections && this.leastUseful() === undefined) ||
      this.connectionsWith(banKey) >= this.o.settings.maxConnectionsPerIp ||
      !this.admitInbound(label);
    if (refuse) {
      conn.close();
      return;
    }
    this.spawn(conn);
  }

  /**
   * All established slots are taken and a new peer (inbound, or our own dial) finished its handshake: the least
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
    return this.established.size < this.o.settings.maxConnections;
  }

  private leastUseful(): PeerProcess | undefined {
    let victim: PeerProcess | undefined;
    for (const p of this.established.values()) {
      if (!p.handshaken || p.peerInterested || p.amInterested) continue;
      if (!victim || p.downloaded + p.uploaded < victim.downloaded + victim.uploaded) victim = p;
    }
    return victim;
  }

  private pendingIn(): number {
    let n = 0;
    for (const p of this.handshaking.values()) if (p.conn.inbound) n++;
    return n;
  }

  /** Our own dials still in their handshake. */
  private pendingOut(): number {
    return this.handshaking.size - this.pendingIn();
  }

  /** Connections (established and in handshake, both directions) with one ban key. */
  private connectionsWith(banKey: string): number {
    let n = 0;
    for (const p of this.established.values()) if (p.key.banKey === banKey) n++;
    for (const p of this.handshaking.values()) if (p.key.banKey === banKey) n++;
    return n;
  }

  /** Addresses we dialled and are still connected or connecting to: never forgotten. */
  private dialledAddresses(): Set<string> {
    const out = new Set<string>();
    for (const p of [...this.established.values(), ...this.handshaking.values()]) if (!p.conn.inbound) out.add(addressKey(p.conn.remote));
    return out;
  }

  /** The dial loop's view of our connections (without `room` and `dial`). */
  private dialPlan(): Omit<DialPlan, 'room' | 'dial'> {
    return {
      now: this.o.clock.now(),
      connections: [...this.established.values(), ...this.handshaking.values()].map((p) => ({ label: p.remoteLabel, banKey: p.key.banKey })),
      maxPerIp: this.o.settings.maxConnectionsPerIp,
      labelOf: this.o.labelOf,
      banKeyOf: this.o.banKeyOf,
      isBanned: this.o.isBanned,
    };
  }

  /**
   * One connection per remote at a time. When two peers dial each other at once, both apply the
   * same rule — the dial of the peer with the smaller label wins — so exactly one survives.
   */
  private admitInbound(label: string): boolean {
    for (const p of this.established.values()) if (p.remoteLabel === label) return false;
    const other = [...this.handshaking.values()].find((p) => p.remoteLabel === label);
    if (!other) return true;
    if (other.conn.inbound) return false;
    const ourDial = other;
    if (!(label < this.o.label)) return false;
    ourDial.close('simultaneous dial: the other side\'s connection is kept');
    return true;
  }

  private spawn(conn: Connection): void {
    const key = new PeerKey(this.o.labelOf(conn.remote), this.o.banKeyOf(conn.remote), this.nextSerial++);
    const peer = this.o.spawn(conn, key);
    if (!peer.closed) this.handshaking.set(peer.key, peer);
  }

  /**
   * Dials known addresses we are not connected to, while established peers and our own dials in
   * their handshake stay within the connection limit (inbound handshakes are counted apart) and
   * our dials in their handshake within `maxPendingHandshakes`; at most `maxConnectionsPerIp` per IP.
   */
  dialMore(): void {
    if (!this.running) return;
    const s = this.o.settings;
    let dialling = this.pendingOut();
    const room = () => this.established.size + dialling < s.maxConnections && dialling < s.maxPendingHandshakes;
    if (!room()) return;
    dialFromList(this.known, {
      ...this.dialPlan(),
      room,
      dial: (address) => {
        const before = this.handshaking.size;
        this.spawn(this.o.network.connect(address));
        dialling += this.handshaking.size - before;
      },
    });
  }
}

/** A peer connected for less than this (ms) is never turned over. */
const TURNOVER_GRACE = 60_000;

/** What the dial loop needs from its owner (the Peer Manager, the metadata fetcher). */
export interface DialPlan {
  now: number;
  /** The connections there are (both directions, established or not): one per label, counted per ban key. */
  connections: readonly { label: string; banKey: string }[];
  /** `maxConnectionsPerIp`. */
  maxPerIp: number;
  labelOf: (address: PeerAddress) => string;
  banKeyOf: (address: PeerAddress) => string;
  isBanned: (banKey: string) => boolean;
  /** True while one more dial fits; asked before each. */
  room: () => boolean;
  dial: (address: PeerAddress) => void;
}

/**
 * The dial loop: dials the list's addresses while there is room — first those that never failed
 * in a row, then the others (libtorrent's connect candidates rank by `failcount` first), each set
 * in the order learnt — skipping one still in its backoff, a retired or banned one, one we are
 * connected or connecting to (by label), and one whose IP already has `maxPerIp` connections.
 * Without the ranking, addresses that never answer (a lying DHT node's made-up peers), back from
 * their backoff ahead of a real peer learnt later, could take every dial slot for good.
 */
export function dialFromList(list: PeerList, plan: DialPlan): void {
  const connectedLabels = new Set<string>();
  const perIp = new Map<string, number>();
  for (const c of plan.connections) {
    connectedLabels.add(c.label);
    perIp.set(c.banKey, (perIp.get(c.banKey) ?? 0) + 1);
  }
  const failed: KnownPeer[] = [];
  const candidates = function* (): Generator<KnownPeer> {
    for (const known of list.values()) {
      if (known.failures > 0) failed.push(known);
      else yield known;
    }
    yield* failed;
  };
  for (const known of candidates()) {
    if (!plan.room()) return;
    const label = plan.labelOf(known.address);
    const banKey = plan.banKeyOf(known.address);
    const ipCount = perIp.get(banKey) ?? 0;
    if (known.notBefore > plan.now || known.retired || connectedLabels.has(label) || plan.isBanned(banKey) || ipCount >= plan.maxPerIp) continue;
    connectedLabels.add(label);
    perIp.set(banKey, ipCount + 1);
    known.dialledAt = plan.now;
    plan.dial(known.address);
  }
}
