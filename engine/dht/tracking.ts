// Tracking a torrent on the DHT (BEP 5): what a client asks of its node, in live mode and in the
// simulator alike. get_peers for the info-hash now and again every `interval`, each lookup ending
// with announce_peer of our listening port to the closest nodes that gave a token (given
// `announcePort`). A lookup that found no peers is tried again sooner (`retry`, doubling up to the
// interval, unless it had nobody to ask: a node alone, waiting for others to join, costs nothing),
// as a node that has just joined often knows too few others; so is one whose peers were no use
// (`satisfied`: bogus addresses from a lying node). While the torrent is paused no
// lookup starts (what one in flight finds is dropped); resuming looks up at once.

import { addressKey, type Clock, type PeerAddress, type TimerHandle } from '../ports.ts';
import type { DhtNode } from './node.ts';

/** Re-announce every 15 minutes: inside the 30 minutes a node keeps a peer (settings' `peerExpiry`). */
export const DHT_ANNOUNCE_INTERVAL = 15 * 60_000;
/** The first retry of a lookup that found no peers (ms); doubles up to the interval. */
export const DHT_RETRY = 3_000;

export interface DhtTrackingOptions {
  /** Announce this port (ours, listening) to the closest nodes after each lookup. */
  announcePort?: number;
  interval?: number;
  retry?: number;
  /**
   * Whether the torrent has the peers it needs (a connection, say). A lookup that found peers is
   * judged by it a `retry` later: while it says no — the peers found were bogus, or gone — the
   * lookups go on at the retry schedule, not one an interval. Default: always yes.
   */
  satisfied?: () => boolean;
}

export class DhtTracking {
  private readonly interval: number;
  private retry: number;
  private timer: TimerHandle | undefined;
  private started = false;
  private stopped = false;
  private pausedNow = false;
  /** Bumped by pause and stop: a lookup still running when they came is ignored. */
  private generation = 0;
  /** Lookups started so far (tests and benches read it). */
  lookups = 0;

  constructor(
    private readonly node: DhtNode,
    private readonly clock: Clock,
    private readonly infoHash: Uint8Array,
    /** The peers of each lookup, with those announced to our own node; never called with none. */
    private readonly onPeers: (peers: PeerAddress[]) => void,
    private readonly o: DhtTrackingOptions = {},
  ) {
    this.interval = o.interval ?? DHT_ANNOUNCE_INTERVAL;
    this.retry = o.retry ?? DHT_RETRY;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** The first lookup (once the node has joined); later ones follow on their own. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (!this.pausedNow) this.lookup();
  }

  pause(): void {
    if (this.pausedNow || this.stopped) return;
    this.pausedNow = true;
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
  }

  resume(): void {
    if (!this.pausedNow || this.stopped) return;
    this.pausedNow = false;
    if (this.started) this.lookup();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private lookup(): void {
    const generation = this.generation;
    this.lookups++;
    this.node.getPeers(
      this.infoHash,
      (r) => {
        if (generation !== this.generation) return;
        const peers = 'error' in r ? [] : [...r.peers];
        const seen = new Set(peers.map(addressKey));
        for (const p of this.node.storedPeers(this.infoHash)) if (!seen.has(addressKey(p))) peers.push(p);
        if (peers.length > 0) this.onPeers(peers);
        if (peers.length === 0) {
          const delay = Math.min(this.retry, this.interval);
          if (!('error' in r) && r.closest.length > 0) this.retry *= 2;
          this.timer = this.clock.setTimer(delay, () => this.lookup());
          return;
        }
        const satisfied = this.o.satisfied;
        if (!satisfied) {
          this.timer = this.clock.setTimer(this.interval, () => this.lookup());
          return;
        }
        // Peers came: see a retry later whether they were any use.
        const check = Math.min(this.retry, this.interval);
        this.timer = this.clock.setTimer(check, () => {
          if (!satisfied()) {
            this.retry *= 2;
            return this.lookup();
          }
          this.timer = this.clock.setTimer(this.interval - check, () => this.lookup());
        });
      },
      this.o.announcePort,
    );
  }
}
