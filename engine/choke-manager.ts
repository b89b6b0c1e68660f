// The Choke Manager: every rechoke, unchoke the peers that give us the most (or, once we seed,
// take the most from us), plus one optimistic unchoke rotated on its own period among the rest,
// longest-waiting first (libtorrent's `last_optimistically_unchoked`), so every choked interested
// peer gets its turn. A leecher's regular slots may be filled another way (`chokeAlgorithm`): at
// random, or by BitTyrant's unchoker (engine/bittyrant.ts); the optimistic slot is the same.

import { TyrantUnchoker } from './bittyrant.ts';
import type { ChokeCandidate } from './choke-candidate.ts';
import type { Random } from './ports.ts';
import type { EngineSettings } from './settings.ts';

export type { ChokeCandidate } from './choke-candidate.ts';

/** The interested candidates (not snubbed, unless we seed), best first: by rate, then total, then connection order. */
function rank<K>(candidates: readonly ChokeCandidate<K>[], seeding: boolean): ChokeCandidate<K>[] {
  return candidates
    .filter((c) => c.interested && (seeding || !c.snubbed))
    .map((c, order) => ({ c, order }))
    .sort((a, b) => b.c.rate - a.c.rate || b.c.total - a.c.total || a.order - b.order)
    .map((x) => x.c);
}

export class ChokeManager<K = string> {
  private optimistic: K | undefined;
  private optimisticSince = -Infinity;
  /**
   * When each candidate's last optimistic turn began (absent: never). Only keys of the last
   * rechoke's candidates are kept, so it is bounded by the connections.
   */
  private readonly lastOptimistic = new Map<K, number>();
  private readonly tyrant: TyrantUnchoker<K> | undefined;

  constructor(
    private readonly settings: EngineSettings,
    private readonly random: Random,
  ) {
    if (settings.chokeAlgorithm === 'bittyrant') this.tyrant = new TyrantUnchoker<K>(settings.uploadCapacity, settings.uploadSlots + 1);
  }

  get optimisticKey(): K | undefined {
    return this.optimistic;
  }

  /**
   * Returns the keys to unchoke; every other candidate is to be choked. Equal rates are ranked by
   * what the peer gave over the whole connection — so a peer that never uploads (a free rider)
   * loses every tie to one that did — then by connection order (candidates come in a stable
   * order).
   */
  rechoke(now: number, candidates: readonly ChokeCandidate<K>[], seeding: boolean): Set<K> {
    const ranked = rank(candidates, seeding);
    const unchoke = new Set(this.regularSlots(now, ranked, candidates, seeding));
    const rest = ranked.filter((c) => !unchoke.has(c.key));
    const current = rest.find((c) => c.key === this.optimistic);
    if (!this.settings.optimisticUnchoke) {
      this.optimistic = undefined;
    } else if (!current || now - this.optimisticSince >= this.settings.optimisticInterval - this.settings.rechokeInterval / 2) {
      // A turn ends at the rechoke nearest its length, not the first one past it: a turn that
      // began between rechokes (a free slot, `freeSlotTaken`) lasts the interval, not a tick more.
      const pick = this.longestWaiting(rest);
      this.optimistic = pick?.key;
      this.optimisticSince = now;
      if (pick) this.lastOptimistic.set(pick.key, now);
    }
    if (this.optimistic !== undefined && rest.some((c) => c.key === this.optimistic)) unchoke.add(this.optimistic);
    this.forgetGone(candidates);
    return unchoke;
  }

  /** The regular unchokes: the best `uploadSlots` of the ranking, unless a leecher chokes another way. */
  private regularSlots(now: number, ranked: readonly ChokeCandidate<K>[], candidates: readonly ChokeCandidate<K>[], seeding: boolean): K[] {
    if (this.tyrant && !seeding) return this.tyrant.pick(now, candidates);
    if (this.settings.chokeAlgorithm !== 'random' || seeding) return ranked.slice(0, this.settings.uploadSlots).map((c) => c.key);
    // A seeded partial shuffle: `uploadSlots` of the interested, each as likely as any other.
    const pool = [...ranked];
    const picks: K[] = [];
    while (picks.length < this.settings.uploadSlots && pool.length > 0) {
      const i = Math.floor(this.random.next() * pool.length);
      picks.push(pool[i].key);
      pool[i] = pool[pool.length - 1];
      pool.pop();
    }
    return picks;
  }

  /**
   * The next optimistic unchoke: the candidate whose last turn is oldest (never beats any time);
   * among equals (peers never unchoked yet) a seeded draw, as libtorrent shuffles its peers first.
   */
  private longestWaiting(rest: readonly ChokeCandidate<K>[]): ChokeCandidate<K> | undefined {
    let oldest = Infinity;
    let tied: ChokeCandidate<K>[] = [];
    for (const c of rest) {
      const last = this.lastOptimistic.get(c.key) ?? -Infinity;
      if (last < oldest) [oldest, tied] = [last, [c]];
      else if (last === oldest) tied.push(c);
    }
    if (tied.length <= 1) return tied[0];
    return tied[Math.floor(this.random.next() * tied.length)];
  }

  /** Keeps turns only for keys still among the candidates (a closed connection's key never returns). */
  private forgetGone(candidates: readonly ChokeCandidate<K>[]): void {
    if (this.lastOptimistic.size === 0) return;
    const present = new Set(candidates.map((c) => c.key));
    for (const key of this.lastOptimistic.keys()) if (!present.has(key)) this.lastOptimistic.delete(key);
  }

  /**
   * The most to send `key` per second: BitTyrant gives each peer its u_p, what it takes to be
   * reciprocated; every other choker sends as fast as the link takes (Infinity).
   */
  uploadCapOf(key: K): number {
    return this.tyrant?.estimateOf(key)?.up ?? Infinity;
  }

  /** A slot freed between rechokes (its peer lost interest): the best choked candidate for it, by the rechoke's ranking. */
  bestChoked(candidates: readonly ChokeCandidate<K>[], seeding: boolean): K | undefined {
    return rank(candidates, seeding).find((c) => c.choked)?.key;
  }

  /** A peer became interested between rechokes: unchoke it at once if a slot is free. */
  hasFreeSlot(unchokedCount: number): boolean {
    return unchokedCount < this.settings.uploadSlots + (this.settings.optimisticUnchoke ? 1 : 0);
  }

  /**
   * `key` was unchoked between rechokes into a free slot, with `unchokedCount` others unchoked.
   * Past the regular slots that slot is the optimistic one: the turn is `key`'s from now, so the
   * next rechoke neither cuts it short nor leaves `key` counted as never unchoked (first in line
   * again: 10 s more than everyone else over a run).
   */
  freeSlotTaken(key: K, unchokedCount: number, now: number): void {
    if (!this.settings.optimisticUnchoke || unchokedCount < this.settings.uploadSlots) return;
    this.optimistic = key;
    this.optimisticSince = now;
    this.lastOptimistic.set(key, now);
  }
}
