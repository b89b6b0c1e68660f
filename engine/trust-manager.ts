// The Trust Manager: trust in each remote, moved by the pieces it helped with, and the bans that
// follow. Pure and shaped like the choke manager: the client tells it each piece's outcome and gets
// back the bans to carry out, as data; it holds no connections and does no IO.

/** Who a contributor is for trust: its ban key (the IP in live mode, the host in the simulator). */
export interface Contributor {
  readonly banKey: string;
}

/** A remote to ban: every connection from it closes, none is accepted or dialled again. */
export interface BanDecision {
  banKey: string;
  reason: string;
}

/** The outcome of one piece's check, with the connections that sent its blocks. */
export interface CheckedPiece {
  ok: boolean;
  contributors: readonly Contributor[];
  /** A piece that failed before and now passes: the senders of the bad blocks then. */
  culprits?: readonly Contributor[];
}

/**
 * A good piece earns trust (up to a cap), a corrupt one costs more when the remote sent it alone.
 * At the floor the remote is banned: a peer that sends only corrupt data goes after two pieces,
 * while an honest peer whose piece failed for another reason (our own disk, a co-contributor)
 * survives on the trust it earned. One on parole (below) with no trust earned that fails a piece
 * alone is banned at once.
 */
export const TRUST = { good: 2, cap: 16, badAlone: -4, badShared: -1, banAt: -8 } as const satisfies Record<string, number>;

export class TrustManager {
  private readonly banned = new Set<string>();
  private readonly trust = new Map<string, number>();
  /** Remotes that helped with a piece that failed, until they send a good piece alone. */
  private readonly parole = new Set<string>();

  isBanned(banKey: string): boolean {
    return this.banned.has(banKey);
  }

  /**
   * On parole (libtorrent's `on_parole`): the remote helped with a piece that failed its check,
   * and has not sent a whole good piece by itself since. The Piece Manager gives it only pieces
   * of its own, so that its next piece, good or bad, is charged to it alone: a failure then bans
   * it at once unless it has earned trust.
   */
  onParole(banKey: string): boolean {
    return this.parole.has(banKey);
  }

  trustOf(banKey: string): number {
    return this.trust.get(banKey) ?? 0;
  }

  /**
   * Charges or credits every contributor of a checked piece, connected or gone (a corrupter may
   * leave first), by ban key: a liar that comes back from a new port starts from the trust it left
   * with. Returns the remotes that reached the floor, in the order their trust was moved.
   */
  pieceChecked(piece: CheckedPiece): BanDecision[] {
    const bans: BanDecision[] = [];
    if (piece.ok) {
      this.adjust(piece.contributors, TRUST.good, bans);
      if (piece.culprits?.length) this.adjust(piece.culprits, TRUST.badAlone, bans);
      if (piece.contributors.length === 1) this.parole.delete(piece.contributors[0].banKey);
    } else {
      const alone = piece.contributors.length === 1;
      const trust = alone ? this.trustOf(piece.contributors[0].banKey) : 0;
      // On parole, with no trust earned, and failed a piece of its own: banned now, as libtorrent
      // bans any sole sender of a failed piece. We spare a first offence, and a peer that has sent
      // good pieces: our own disk may have failed the check.
      if (alone && trust <= 0 && this.parole.has(piece.contributors[0].banKey)) this.adjust(piece.contributors, Math.min(TRUST.badAlone, TRUST.banAt - trust), bans);
      // Counted by connection: two connections from one IP share the blame like two peers.
      else this.adjust(piece.contributors, alone ? TRUST.badAlone : TRUST.badShared, bans);
      for (const c of piece.contributors) this.parole.add(c.banKey);
    }
    return bans;
  }

  private adjust(contributors: readonly Contributor[], delta: number, bans: BanDecision[]): void {
    const banKeys = new Set(contributors.map((c) => c.banKey));
    for (const banKey of banKeys) {
      const trust = Math.min(TRUST.cap, this.trustOf(banKey) + delta);
      this.trust.set(banKey, trust);
      if (trust <= TRUST.banAt && !this.banned.has(banKey)) {
        this.banned.add(banKey);
        bans.push({ banKey, reason: `sent corrupt data (trust ${trust})` });
      }
    }
  }
}
