// The peers announced to us, per info-hash (BEP 5's announce_peer), for get_peers replies.
// Bounded: at most `maxInfoHashes` info-hashes (a new one past the bound evicts the one announced
// to least recently) and `maxPeersPerInfoHash` peers each (a new peer past the bound evicts the
// oldest announce). A peer expires `expiry` ms after its last announce; expiry is checked lazily,
// when an info-hash is read or written, plus a sweep the node's maintenance calls. Pure.

import { type Millis, type PeerAddress, addressKey } from '../ports.ts';
import { idKey, type NodeId } from './node-id.ts';

export interface PeerStoreLimits {
  maxInfoHashes: number;
  maxPeersPerInfoHash: number;
  expiry: Millis;
}

interface Entry {
  address: PeerAddress;
  announcedAt: Millis;
}

export class PeerStore {
  /** Info-hash key → peers by address key; both Maps in least-recently-announced order. */
  private readonly byHash = new Map<string, Map<string, Entry>>();

  constructor(private readonly limits: PeerStoreLimits) {}

  get infoHashes(): number {
    return this.byHash.size;
  }

  announce(infoHash: NodeId, address: PeerAddress, now: Millis): void {
    const key = idKey(infoHash);
    let peers = this.byHash.get(key);
    if (peers) this.byHash.delete(key);
    else {
      peers = new Map();
      if (this.byHash.size >= this.limits.maxInfoHashes) this.byHash.delete(this.byHash.keys().next().value!);
    }
    this.byHash.set(key, peers);
    this.expire(peers, now);
    const a = addressKey(address);
    peers.delete(a);
    if (peers.size >= this.limits.maxPeersPerInfoHash) peers.delete(peers.keys().next().value!);
    peers.set(a, { address: { host: address.host, port: address.port }, announcedAt: now });
  }

  /** Up to `max` live peers of `infoHash`, most recently announced first. */
  peers(infoHash: NodeId, now: Millis, max: number): PeerAddress[] {
    const key = idKey(infoHash);
    const peers = this.byHash.get(key);
    if (!peers) return [];
    this.expire(peers, now);
    if (peers.size === 0) {
      this.byHash.delete(key);
      return [];
    }
    const all = [...peers.values()];
    const out: PeerAddress[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < max; i--) out.push(all[i].address);
    return out;
  }

  /** Drops every expired peer and empty info-hash. */
  sweep(now: Millis): void {
    for (const [key, peers] of this.byHash) {
      this.expire(peers, now);
      if (peers.size === 0) this.byHash.delete(key);
    }
  }

  private expire(peers: Map<string, Entry>, now: Millis): void {
    // Oldest first: stop at the first live one.
    for (const [a, e] of peers) {
      if (now - e.announcedAt < this.limits.expiry) break;
      peers.delete(a);
    }
  }
}
