// The peer list: addresses learnt from the tracker or given by the user, in the order learnt, with
// what dialling them taught us (failures in a row, when to try again, whether one ever finished
// its handshake). Bounded; when full, a new address replaces the least promising one not in use.
// Used by the Peer Manager and by the metadata fetcher.

import { addressKey, type PeerAddress } from './ports.ts';

/** Where an address came from: a tracker reply, the user (or driver), a peer's PEX message (BEP 11) or a DHT lookup (BEP 5). */
export type PeerSource = 'tracker' | 'user' | 'pex' | 'dht';

export interface KnownPeer {
  address: PeerAddress;
  /** Dials in a row that ended before a handshake. */
  failures: number;
  /** Not dialled again before this time. */
  notBefore: number;
  /** A dial to it finished the handshake once: worth more than an address never tried. */
  connected: boolean;
  /**
   * Never dialled again: the fetcher's peer that sent metadata that is not the torrent's, or an
   * address that led back to ourselves (a self-connection through another address).
   */
  retired: boolean;
  /** When the last dial to it began (the dial loop sets it); -Infinity: never dialled. */
  dialledAt: number;
  /** Where we first learnt it. */
  source: PeerSource;
}

export interface PeerListOptions {
  /** Most addresses kept (`maxPeerList`). */
  maxSize: number;
  /** How long to wait before dialling an address again, after `failures` failed dials in a row. */
  backoff: (failures: number) => number;
  /**
   * What the wait counts from: when the dial ended (the fetcher), or when it began (the Client, as
   * libtorrent counts `min_reconnect_time` from `last_connected`: a connection that lasted longer
   * than the wait may be redialled at once).
   */
  countFrom: 'dial-end' | 'dial-start';
}

export class PeerList {
  private readonly known = new Map<string, KnownPeer>();

  constructor(private readonly o: PeerListOptions) {}

  get size(): number {
    return this.known.size;
  }

  get full(): boolean {
    return this.known.size >= this.o.maxSize;
  }

  has(address: PeerAddress): boolean {
    return this.known.has(addressKey(address));
  }

  get(address: PeerAddress): KnownPeer | undefined {
    return this.known.get(addressKey(address));
  }

  /** In the order learnt. */
  values(): IterableIterator<KnownPeer> {
    return this.known.values();
  }

  addresses(): PeerAddress[] {
    return [...this.known.values()].map((k) => k.address);
  }

  /** Adds an address not known yet; the caller has made room (`full`, `forgetOne`). */
  add(address: PeerAddress, source: PeerSource = 'tracker'): void {
    this.known.set(addressKey(address), { address: { host: address.host, port: address.port }, failures: 0, notBefore: 0, connected: false, retired: false, dialledAt: -Infinity, source });
  }

  /**
   * The list is full: forgets one address not in use — the oldest that failed, else the oldest
   * never connected, else the oldest. False when every address is in use.
   */
  forgetOne(inUse: ReadonlySet<string>): boolean {
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

  /** A dial to `address` finished its handshake. */
  connected(address: PeerAddress): void {
    const known = this.get(address);
    if (known) known.connected = true;
  }

  /**
   * A dial to `address` ended: back off from an address that failed or dropped us, so a dead peer
   * is not dialled every tick. A dial that got through its handshake resets the failure count.
   */
  dialEnded(address: PeerAddress, handshaken: boolean, now: number): void {
    const known = this.get(address);
    if (!known) return;
    known.failures = handshaken ? 0 : known.failures + 1;
    const from = this.o.countFrom === 'dial-start' && known.dialledAt <= now ? known.dialledAt : now;
    known.notBefore = from + this.o.backoff(known.failures);
  }

  /**
   * Addresses we once connected to may be dialled at once: closing them ourselves (a pause)
   * counted as a failure with a backoff that a resume should not wait out. Addresses that never
   * answered keep theirs.
   */
  clearBackoffOfConnected(): void {
    for (const known of this.known.values()) {
      if (!known.connected) continue;
      known.failures = 0;
      known.notBefore = 0;
    }
  }

  /** Never dial `address` again. */
  retire(address: PeerAddress): void {
    const known = this.get(address);
    if (known) known.retired = true;
  }
}
