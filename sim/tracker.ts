// A simulated tracker: remembers who announced, hands out a seeded sample of the others (the swarm
// bookkeeping is sim/tracker-swarm.ts, shared with the loopback tracker of TCP runs).

import type { AnnounceRequest, AnnounceResult, PeerAddress, TrackerPort } from '../engine/ports.ts';
import { addressKey } from '../engine/ports.ts';
import type { SeededRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';
import { TrackerSwarm } from './tracker-swarm.ts';

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

export class SimTracker {
  private readonly swarm: TrackerSwarm;
  /** While set, every announce fails with this error (tracker outage). */
  failure: string | undefined;
  /** While true, announces succeed with no peers. */
  empty = false;
  /** Reply delay (ms). */
  delay: number;
  announces = 0;

  constructor(
    private readonly scheduler: Scheduler,
    random: SeededRandom,
    private readonly o: SimTrackerOptions,
  ) {
    this.delay = o.delay;
    this.swarm = new TrackerSwarm(random);
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
      this.swarm.leave(key);
      result = { ok: true, interval, peers: [] };
    } else {
      const reply = this.swarm.announce(key, { address: { host: address.host, port: req.port }, peerId: req.peerId, left: req.left }, { numWant: req.numWant, empty: this.empty });
      result = { ok: true, interval, ...reply };
    }
    this.scheduler.setTimer(this.delay, () => done(result));
  }
}
