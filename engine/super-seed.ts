// BEP 16 super-seeding: which piece a super-seed reveals to each peer, and when it may reveal the
// next. The seed advertises nothing; each peer is told of one piece (with HAVE) that the swarm
// lacks most, and of a new one only once the piece it was given is seen on another peer too — so
// the seed's upload goes into pieces the peers then spread, not into copies they could get from
// each other. Pure bookkeeping: the client (engine/client.ts) sends the HAVEs.

import type { Bitfield } from './bitfield.ts';
import type { Random } from './ports.ts';

/** What the super-seeder needs to know of one connected peer. */
export interface SuperSeedPeer<K> {
  key: K;
  pieces: Bitfield;
}

export class SuperSeeder<K> {
  /** The piece revealed to each peer, until it has spread. */
  private readonly revealed = new Map<K, number>();
  /** Per piece, to how many peers it is revealed now: a piece promised to one is not promised to the next. */
  private readonly promised: Uint32Array;

  constructor(
    pieceCount: number,
    private readonly random: Random,
  ) {
    this.promised = new Uint32Array(pieceCount);
  }

  /** The piece revealed to `peer` and not yet seen spread; undefined if none. */
  revealedTo(peer: K): number | undefined {
    return this.revealed.get(peer);
  }

  /**
   * Chooses the piece to reveal to `peer` next and records it: one it lacks, promised to the fewest
   * peers, then held by the fewest (BEP 16: "a piece that was never sent, or if all pieces were
   * already sent, is very rare"); never one only we hold and have promised already. Ties drawn
   * from the seeded stream. Undefined when there is none (yet).
   */
  reveal(peer: SuperSeedPeer<K>, availability: (index: number) => number): number | undefined {
    this.forget(peer.key);
    let best = -1;
    let bestScore = Infinity;
    let ties = 0;
    for (let i = 0; i < this.promised.length; i++) {
      if (peer.pieces.has(i)) continue;
      // A piece promised to another peer and held by none has us as its only source: shown again
      // it would cost a second upload. The peer waits (`waiting`) until a piece spreads.
      const held = availability(i);
      if (this.promised[i] > 0 && held === 0) continue;
      const score = this.promised[i] * (this.promised.length + 1) + held;
      if (score < bestScore) {
        [best, bestScore, ties] = [i, score, 1];
      } else if (score === bestScore && this.random.next() * ++ties < 1) best = i; // reservoir sampling
    }
    if (best < 0) return undefined;
    this.revealed.set(peer.key, best);
    this.promised[best]++;
    return best;
  }

  /**
   * A peer's piece set grew by `index`. Returns the peers whose revealed piece has now spread: they
   * hold it, and so does another connected peer (`holders`, which counts them too). The caller
   * reveals each a new piece.
   */
  spread(index: number, peers: Iterable<SuperSeedPeer<K>>, holders: number): K[] {
    if (holders < 2) return [];
    const done: K[] = [];
    for (const p of peers) if (this.revealed.get(p.key) === index && p.pieces.has(index)) done.push(p.key);
    return done;
  }

  /** The peer is gone (or moves on to another piece): its promise is withdrawn. */
  forget(peer: K): void {
    const index = this.revealed.get(peer);
    if (index === undefined) return;
    this.revealed.delete(peer);
    this.promised[index]--;
  }
}
