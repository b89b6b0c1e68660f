// A simulated tracker: remembers who announced, hands out a seeded sample of the others.

import type { AnnouncePeer, AnnounceRequest, AnnounceResult, PeerAddress, TrackerPort } from '../engine/ports.ts';
import { addressKey } from '../engine/ports.ts';
import type { SeededRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * The announce-interval floor of simulated peers (ms): the simulated tracker's interval is a
 * scenario's choice, not a hostile tracker's, so it is obeyed (live mode's floor is 5 minutes).
 */
export const SIM_MIN_ANNOUNCE_INTERVAL = 1_000;

/** AnnounceResult intervals are in seconds, as trackers send them. */
const SECOND = 1_000;

export interface SimTrackerOptions {
  /** Time between announces (ms); the reply says it in whole seconds, as trackers do. */
  announceInterval: number;
  /** Reply delay (ms). */
  delay: number;
}

interface Entry {
  address: PeerAddress;
  peerId: Uint8Array;
  left: number;
}

export class SimTracker {
  private readonly swarm = new Map<string, Entry>();
  /** While set, every announce fails with this error (tracker outage). */
  failure: string | undefined;
  /** While true, announces succeed with no peers. */
  empty = false;
  /** Reply delay (ms). */
  delay: number;
  announces = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: SeededRandom,
    private readonly o: SimTrackerOptions,
  ) {
    this.delay = o.delay;
  }

  /** The TrackerPort a peer at `address` uses. */
  portFor(address: PeerAddress): TrackerPort {
    return { announce: (req, done) => this.announce(address, req, done) };
  }

  get size(): number {
    return this.swarm.size;
  }

  private announce(address: PeerAddress, req: AnnounceRequest, done: (r: AnnounceResult) => void): void {
    this.announces++;
    const key = addressKey({ host: address.host, port: req.port });
    let result: AnnounceResult;
    const interval = this.o.announceInterval / SECOND;
    if (this.failure !== undefined) {
      result = { ok: false, error: this.failure };
    } else if (req.event === 'stopped') {
      this.swarm.delete(key);
      result = { ok: true, interval, peers: [] };
    } else {
      this.swarm.set(key, { address: { host: address.host, port: req.port }, peerId: req.peerId, left: req.left });
      const others = [...this.swarm.values()].filter((e) => addressKey(e.address) !== key);
      const peers: AnnouncePeer[] = this.random
        .sample(this.empty ? [] : others, req.numWant)
        .map((e) => ({ host: e.address.host, port: e.address.port, peerId: e.peerId }));
      let complete = 0;
      for (const e of this.swarm.values()) if (e.left === 0) complete++;
      result = { ok: true, interval, peers, complete, incomplete: this.swarm.size - complete };
    }
    this.scheduler.setTimer(this.delay, () => done(result));
  }
}
