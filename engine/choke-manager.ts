// The Choke Manager: every rechoke, unchoke the peers that give us the most (or, once we seed,
// take the most from us), plus one optimistic unchoke rotated on its own period.

import type { Random } from './ports.ts';
import type { EngineSettings } from './settings.ts';

/** `K` names one connection (the engine's `PeerKey`, compared by identity). */
export interface ChokeCandidate<K = string> {
  key: K;
  interested: boolean;
  snubbed: boolean;
  /**
   * Higher first. Leeching: bytes received from this peer since the last rechoke. Seeding (round
   * robin, engine/client.ts): minus the bytes sent to it over the connection.
   */
  rate: number;
  /** The same over the whole connection: breaks ties between equal rates (often all zero). */
  total: number;
  choked: boolean;
}

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

  constructor(
    private readonly settings: EngineSettings,
    private readonly random: Random,
  ) {}

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
    const unchoke = new Set(ranked.slice(0, this.settings.uploadSlots).map((c) => c.key));
    const rest = ranked.filter((c) => !unchoke.has(c.key));
    const current = rest.find((c) => c.key === this.optimistic);
    if (!this.settings.optimisticUnchoke) {
      this.optimistic = undefined;
    } else if (!current || now - this.optimisticSince >= this.settings.optimisticInterval) {
      const pick = rest.length > 0 ? rest[Math.floor(this.random.next() * rest.length)] : undefined;
      this.optimistic = pick?.key;
      this.optimisticSince = now;
    }
    if (this.optimistic !== undefined && rest.some((c) => c.key === this.optimistic)) unchoke.add(this.optimistic);
    return unchoke;
  }

  /** A slot freed between rechokes (its peer lost interest): the best choked candidate for it, by the rechoke's ranking. */
  bestChoked(candidates: readonly ChokeCandidate<K>[], seeding: boolean): K | undefined {
    return rank(candidates, seeding).find((c) => c.choked)?.key;
  }

  /** A peer became interested between rechokes: unchoke it at once if a slot is free. */
  hasFreeSlot(unchokedCount: number): boolean {
    return unchokedCount < this.settings.uploadSlots + (this.settings.optimisticUnchoke ? 1 : 0);
  }
}
