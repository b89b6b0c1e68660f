// BitTyrant's unchoker (Piatek, Isdal, Anderson, Krishnamurthy and Venkataramani, "Do incentives
// build robustness in BitTorrent?", NSDI 2007): a strategic client that unchokes the peers giving
// the most per byte it gives them, and no more of them than its upload pays for.
//
// For each peer p it keeps d_p, what p would send us if we unchoked it, and u_p, what we must send
// p for p to unchoke us back. Every round (rechoke) it ranks the interested peers by d_p / u_p and
// unchokes them best first while the sum of their u_p fits its upload capacity. After the round:
//   - p reciprocated (sent us blocks): d_p is the rate it sent at; after `reciprocatedRounds` in a
//     row u_p shrinks by `shrink` (we may be giving more than it takes to stay in p's set);
//   - p, unchoked by us, did not: u_p grows by `grow` (we gave too little to be among its best);
//   - p never unchoked us: d_p is estimated from the pieces it announces (HAVEs) over the round,
//     divided by the active set a standard client splits its upload over (`activeSetGuess`).
// Decisions in, decisions out, like the ChokeManager it serves: no clock, no IO.

import type { ChokeCandidate } from './choke-candidate.ts';

/** The paper's constants (§5: r = 3, γ = 10 %, δ = 20 %) and a standard client's active set (4 + 1 optimistic). */
export const TYRANT = {
  reciprocatedRounds: 3,
  shrink: 0.1,
  grow: 0.2,
  activeSetGuess: 5,
} as const satisfies Record<string, number>;

/** What the unchoker knows of one connection. */
interface Estimate {
  /** d_p, bytes/s. */
  down: number;
  /** u_p, bytes/s. */
  up: number;
  /** Rounds in a row p reciprocated. */
  streak: number;
  /** Bytes of pieces p had announced at the last round. */
  announced: number;
  /** We unchoked p in the last round. */
  unchoked: boolean;
  /** u_p has been set from p's own rate (its first measured round), not the initial guess. */
  sized: boolean;
}

export class TyrantUnchoker<K> {
  private readonly estimates = new Map<K, Estimate>();
  private lastRound: number | undefined;
  /** Our upload capacity (bytes/s): configured, or else the most we have been seen to send in a round. */
  private capacity: number;

  /**
   * @param configuredCapacity our upload (bytes/s); 0 when unknown, then measured round by round.
   * @param standardSlots a standard client's regular slots: u_p starts at an equal split over them.
   */
  constructor(
    private readonly configuredCapacity: number,
    private readonly standardSlots: number,
  ) {
    this.capacity = configuredCapacity > 0 ? configuredCapacity : MIN_CAPACITY;
  }

  /** The round at `now`: learns from the last one, returns the regular unchokes (interested, not snubbed). */
  pick(now: number, candidates: readonly ChokeCandidate<K>[]): K[] {
    const seconds = this.lastRound === undefined ? 0 : (now - this.lastRound) / 1000;
    this.lastRound = now;
    if (this.configuredCapacity <= 0 && seconds > 0) {
      const sent = candidates.reduce((sum, c) => sum + c.sent, 0);
      this.capacity = Math.max(this.capacity, sent / seconds);
    }
    const initialUp = this.capacity / Math.max(1, this.standardSlots);
    for (const c of candidates) {
      let e = this.estimates.get(c.key);
      if (!e) {
        e = { down: 0, up: initialUp, streak: 0, announced: c.announced, unchoked: false, sized: false };
        this.estimates.set(c.key, e);
      } else if (seconds > 0) this.learn(e, c, seconds);
      e.announced = c.announced;
    }
    this.forgetGone(candidates);

    // Best return per byte first; equal ratios keep connection order (the candidates' order).
    const ranked = candidates
      .map((c, order) => ({ c, order, e: this.estimates.get(c.key)! }))
      .filter(({ c }) => c.interested && !c.snubbed)
      .sort((a, b) => b.e.down / b.e.up - a.e.down / a.e.up || a.order - b.order);
    const picked: K[] = [];
    let budget = this.capacity;
    for (const { c, e } of ranked) {
      // The first always fits: a client that unchokes nobody learns nothing.
      if (picked.length > 0 && e.up > budget) break;
      picked.push(c.key);
      budget -= e.up;
    }
    const chosen = new Set(picked);
    for (const [key, e] of this.estimates) e.unchoked = chosen.has(key);
    return picked;
  }

  private learn(e: Estimate, c: ChokeCandidate<K>, seconds: number): void {
    const reciprocated = c.rate > 0 && !c.peerChoking;
    if (reciprocated) {
      e.down = c.rate / seconds;
      e.sized = true;
      e.streak++;
      if (e.streak >= TYRANT.reciprocatedRounds) {
        e.up *= 1 - TYRANT.shrink;
        e.streak = 0;
      }
      return;
    }
    e.streak = 0;
    const announcedRate = Math.max(0, c.announced - e.announced) / seconds;
    e.down = announcedRate / TYRANT.activeSetGuess;
    if (!e.sized) {
      // p splits its upload over its active set: what it gives each peer is about what it takes
      // from one to stay among them. Not an equal split of ours: that overpays slow peers.
      e.up = Math.min(this.capacity, Math.max(MIN_UP, e.down));
      e.sized = true;
    } else if (e.unchoked) e.up = Math.min(e.up * (1 + TYRANT.grow), this.capacity);
  }

  /** Keeps estimates only for connections still among the candidates: bounded by the connections. */
  private forgetGone(candidates: readonly ChokeCandidate<K>[]): void {
    const present = new Set(candidates.map((c) => c.key));
    for (const key of this.estimates.keys()) if (!present.has(key)) this.estimates.delete(key);
  }

  /** u_p and d_p of a connection, for tests and traces. */
  estimateOf(key: K): { up: number; down: number } | undefined {
    const e = this.estimates.get(key);
    return e && { up: e.up, down: e.down };
  }
}

/** One block a second: the least capacity assumed before any upload was measured. */
const MIN_CAPACITY = 16 * 1024;
/** The least u_p: a block every 8 s, below which no client counts us among its uploaders. */
const MIN_UP = 2 * 1024;
