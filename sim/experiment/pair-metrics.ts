// The metrics read off who gave to whom (sim/experiment/pairs.ts): how evenly seeds share their
// unchokes, and whether leechers trade most with leechers of their own group (upload class).
// Pure: the tests give them known logs.

import { isHonest } from '../behaviours.ts';
import type { ScenarioResult } from '../scenario/types.ts';
import { type PairLog, pairKey } from './pairs.ts';

type Peer = ScenarioResult['peers'][number];

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * `unchoke-fairness`: for each seed, the seconds it kept each honest leecher unchoked. libtorrent
 * rotates its optimistic unchoke so that, over 30 minutes with 20 choked peers and one slot, each
 * gets 90 s ± 1.5 s. `unchoke.mean` is the mean over (seed, leecher) pairs; `unchoke.spread` the
 * largest distance of a pair from its seed's mean; `unchoke.min`, `unchoke.max` the extremes.
 */
export function unchokeFairness(peers: readonly Peer[], log: Pick<PairLog, 'unchokedMs'>): Record<string, number> {
  const leechers = peers.filter((p) => p.role === 'leecher' && isHonest(p.behaviour));
  const all: number[] = [];
  let spread = NaN;
  for (const seed of peers.filter((p) => p.role === 'seed' && isHonest(p.behaviour))) {
    const times = leechers.map((l) => (log.unchokedMs.get(pairKey(seed.label, l.label)) ?? 0) / 1000);
    if (times.length === 0) continue;
    const m = mean(times);
    const worst = Math.max(...times.map((t) => Math.abs(t - m)));
    spread = Number.isNaN(spread) ? worst : Math.max(spread, worst);
    all.push(...times);
  }
  return {
    'unchoke.mean': mean(all),
    'unchoke.spread': spread,
    'unchoke.min': all.length ? Math.min(...all) : NaN,
    'unchoke.max': all.length ? Math.max(...all) : NaN,
  };
}

/**
 * `clustering` (Legout et al., 2007: under tit-for-tat, peers of similar upload capacity unchoke
 * each other): of the time a group's leechers were unchoked by other honest leechers still
 * leeching, the share their own group gave (`same-group.<G>`), and that share over what random
 * unchokes would give, (|G| − 1)/(L − 1) of L leechers (`clustering.<G>`; 1 is no clustering).
 * Time, not bytes: a fast peer sends more to whoever it unchokes, so bytes favour fast senders
 * under any choker. `clustering.mean` averages the index over the groups of two or more leechers.
 */
export function clustering(peers: readonly Peer[], log: Pick<PairLog, 'leechingMs'>): Record<string, number> {
  const leechers = peers.filter((p) => p.role === 'leecher' && isHonest(p.behaviour));
  const groups = [...new Set(leechers.map((p) => p.group))];
  const values: Record<string, number> = {};
  const indices: number[] = [];
  for (const g of groups) {
    const members = leechers.filter((p) => p.group === g);
    if (members.length < 2) continue;
    let same = 0;
    let total = 0;
    for (const to of members) {
      for (const from of leechers) {
        if (from === to) continue;
        const ms = log.leechingMs.get(pairKey(from.label, to.label)) ?? 0;
        total += ms;
        if (from.group === g) same += ms;
      }
    }
    const share = total > 0 ? same / total : NaN;
    const random = (members.length - 1) / (leechers.length - 1);
    values[`same-group.${g}`] = share;
    values[`clustering.${g}`] = share / random;
    if (!Number.isNaN(share)) indices.push(share / random);
  }
  values['clustering.mean'] = mean(indices);
  return values;
}
