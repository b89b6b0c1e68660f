// The experiment metrics (sim/experiment/): known inputs, known answers.

import { describe, expect, it } from 'vitest';
import { availabilityEntropy } from '../sim/experiment/entropy.ts';
import { cartesian, parseValuePath } from '../sim/experiment/load.ts';
import { empiricalCdf, meanInterval, median, quantile } from '../sim/experiment/stats.ts';
import { judgeVerdict, meanSeries, type PointSummary } from '../sim/experiment/summary.ts';
import { niceTicks } from '../sim/experiment/svg.ts';
import { minDistributionTime } from '../sim/experiment/t-min.ts';
import { meanBetween, utilisationSeries } from '../sim/experiment/utilisation.ts';
import { csvField } from '../sim/experiment/output.ts';
import { clustering, unchokeFairness } from '../sim/experiment/pair-metrics.ts';
import { observePairs, pairKey } from '../sim/experiment/pairs.ts';
import type { Swarm } from '../sim/swarm.ts';
import type { TraceEvent } from '../engine/trace.ts';

describe('piece-availability entropy', () => {
  it('is 1 for copies spread evenly and 0 when all copies are of one piece', () => {
    expect(availabilityEntropy([3, 3, 3, 3])).toBeCloseTo(1, 12);
    expect(availabilityEntropy([5, 0, 0, 0])).toBe(0);
  });
  it('is the Shannon entropy over log(pieces) for a known distribution', () => {
    // Shares 1/2, 1/4, 1/4: H = 1.5 bits, over log2(3).
    expect(availabilityEntropy([2, 1, 1])).toBeCloseTo(1.5 / Math.log2(3), 12);
  });
  it('is 1 with nobody holding anything, or a single piece', () => {
    expect(availabilityEntropy([0, 0])).toBe(1);
    expect(availabilityEntropy([7])).toBe(1);
  });
});

describe('T_min (Kumar and Ross)', () => {
  const base = { size: 1000, seedUpload: 100, leecherUploads: [50, 50], leecherDownloads: [1000, 1000] };
  it('is the seed bound F/u_s when the leechers upload a lot', () => {
    expect(minDistributionTime({ ...base, leecherUploads: [1000, 1000] })).toBe(10_000);
  });
  it('is the swarm bound N·F/(u_s + Σu) when the uploads are the bottleneck', () => {
    const many = { ...base, seedUpload: 100, leecherUploads: new Array(10).fill(10), leecherDownloads: new Array(10).fill(1000) };
    expect(minDistributionTime(many)).toBe(((10 * 1000) / (100 + 100)) * 1000);
  });
  it('is the slowest download F/d_min when that is the slowest', () => {
    expect(minDistributionTime({ ...base, seedUpload: 1000, leecherUploads: [1000, 1000], leecherDownloads: [1000, 10] })).toBe(100_000);
  });
  it('is 0 without leechers', () => {
    expect(minDistributionTime({ ...base, leecherUploads: [], leecherDownloads: [] })).toBe(0);
  });
});

describe('statistics over seeds', () => {
  it('gives the 95 % CI with Student t: samples 1…5', () => {
    // mean 3, s = √2.5, t(4) = 2.776: half-width 2.776·√(2.5/5).
    const ci = meanInterval([1, 2, 3, 4, 5]);
    expect(ci.mean).toBe(3);
    expect(ci.halfWidth).toBeCloseTo(2.776 * Math.sqrt(0.5), 10);
  });
  it('has no width for one sample and none for equal samples', () => {
    expect(meanInterval([4])).toEqual({ mean: 4, halfWidth: 0, n: 1 });
    expect(meanInterval([2, 2, 2]).halfWidth).toBe(0);
  });
  it('uses the normal quantile past 30 degrees of freedom', () => {
    const xs = Array.from({ length: 40 }, (_, i) => i % 2);
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - 0.5) ** 2, 0) / 39);
    expect(meanInterval(xs).halfWidth).toBeCloseTo((1.96 * sd) / Math.sqrt(40), 12);
  });
  it('interpolates quantiles and steps the CDF', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(quantile([0, 10], 0.9)).toBe(9);
    expect(empiricalCdf([3, 1, 2])).toEqual([
      { x: 1, p: 1 / 3 },
      { x: 2, p: 2 / 3 },
      { x: 3, p: 1 },
    ]);
  });
  it('averages series of different lengths step by step', () => {
    expect(meanSeries([[1, 2, 3], [3, 4]])).toEqual([2, 3, 3]);
  });
});

describe('uplink utilisation', () => {
  it('is bytes per interval over the capacity in it', () => {
    // 1000 B/s for 500 ms allows 500 B per interval.
    expect(utilisationSeries([0, 500, 750, 750], 1000, 500)).toEqual([1, 0.5, 0]);
  });
  it('averages the middle of a series', () => {
    expect(meanBetween([0, 1, 1, 1, 1, 1, 1, 1, 1, 0], 0.1, 0.9)).toBe(1);
  });
});

describe('sweep points and paths', () => {
  it('makes the cartesian product, the first list varying slowest', () => {
    expect(cartesian<number | string>([[1, 2], ['a', 'b']])).toEqual([[1, 'a'], [1, 'b'], [2, 'a'], [2, 'b']]);
    expect(cartesian([])).toEqual([[]]);
  });
  it('reads value paths', () => {
    expect(parseValuePath('groups[1].count')).toEqual(['groups', 1, 'count']);
    expect(parseValuePath('settings.piecePicker')).toEqual(['settings', 'piecePicker']);
    expect(parseValuePath('groups[x]')).toBeUndefined();
    expect(parseValuePath('.a')).toBeUndefined();
  });
});

describe('verdicts', () => {
  const point = (label: string, mean: number): PointSummary => ({ index: 0, label, runs: 1, values: { m: { mean, halfWidth: 0, n: 1 } }, cdf: [], series: {}, intervalMs: 1 });
  it('checks bounds and order on the means', () => {
    expect(judgeVerdict({ metric: 'm', atMost: 2 }, [point('a', 1), point('b', 2)]).reproduces).toBe(true);
    expect(judgeVerdict({ metric: 'm', atMost: 2 }, [point('a', 1), point('b', 2.5)]).reproduces).toBe(false);
    expect(judgeVerdict({ metric: 'm', order: 'increasing' }, [point('a', 1), point('b', 0.5)]).line).toMatch(/^does not reproduce: m .*a: 1\.000; b: 0\.500 — the means are not increasing/);
    expect(judgeVerdict({ metric: 'other', atLeast: 0 }, [point('a', 1)]).reproduces).toBe(false);
  });
  it('boundsOn: first holds atLeast/atMost to the first point only (the baseline), order to all', () => {
    const fastThenSlow = [point('fast seed', 0.91), point('slow seed', 0.74)];
    expect(judgeVerdict({ metric: 'm', atLeast: 0.9 }, fastThenSlow).line).toMatch(/ — not every point is at least 0\.9$/);
    expect(judgeVerdict({ metric: 'm', atLeast: 0.9, boundsOn: 'first', order: 'decreasing' }, fastThenSlow).reproduces).toBe(true);
    expect(judgeVerdict({ metric: 'm', atLeast: 0.9, boundsOn: 'first', order: 'decreasing' }, [point('fast seed', 0.56), point('slow seed', 0.42)]).line).toMatch(/ — the first point is not at least 0\.9$/);
    expect(judgeVerdict({ metric: 'm', atMost: 1, boundsOn: 'first', order: 'decreasing' }, [point('a', 0.5), point('b', 0.7)]).line).toMatch(/ — the means are not decreasing over the points$/);
  });
  it('spreadAtMost: the means may differ by at most that share of the smallest', () => {
    expect(judgeVerdict({ metric: 'm', spreadAtMost: 0.25 }, [point('a', 40), point('b', 50), point('c', 45)]).reproduces).toBe(true);
    expect(judgeVerdict({ metric: 'm', spreadAtMost: 0.25 }, [point('a', 40), point('b', 51)]).line).toMatch(/^does not reproduce: .* — the means spread by 0\.275 of the smallest, more than 0\.25$/);
  });
});

describe('report helpers', () => {
  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 37)).toEqual([0, 10, 20, 30]);
  });
  it('quotes CSV fields that need it and leaves NaN empty', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "x"')).toBe('"say ""x"""');
    expect(csvField(NaN)).toBe('');
    expect(csvField(1.5)).toBe('1.5');
  });
});

describe('who gives to whom (pairs, unchoke-fairness, clustering)', () => {
  type Peer = Parameters<typeof unchokeFairness>[0][number];
  const peer = (label: string, group: string, role: 'seed' | 'leecher' = 'leecher') => ({ label, group, role, behaviour: 'honest' }) as unknown as Peer;
  const ms = (entries: [string, string, number][]) => new Map(entries.map(([from, to, t]) => [pairKey(from, to), t]));

  it('logs unchoked time per ordered pair from the state events, closed by choke, disconnect, leave and the end', () => {
    const swarm = { observer: undefined } as unknown as Swarm;
    const log = observePairs(swarm);
    const emit = (e: Record<string, unknown>) => swarm.observer!.emit(e as unknown as TraceEvent);
    emit({ t: 0, peer: 'S', remote: 'a', kind: 'state', amChoking: false });
    emit({ t: 1000, peer: 'S', remote: 'a', kind: 'state', amChoking: false, peerInterested: true }); // still unchoked: no new start
    emit({ t: 3000, peer: 'S', remote: 'a', kind: 'state', amChoking: true });
    emit({ t: 4000, peer: 'S', remote: 'b', kind: 'state', amChoking: false });
    emit({ t: 6000, peer: 'S', remote: 'b', kind: 'disconnect' });
    emit({ t: 7000, peer: 'a', remote: 'b', kind: 'state', amChoking: false });
    emit({ t: 8000, peer: 'a', kind: 'complete' });
    emit({ t: 9000, peer: 'b', remote: 'a', kind: 'state', amChoking: false });
    emit({ t: 10000, peer: 'a', kind: 'leave' });
    log.close(12000);
    expect(Object.fromEntries(log.unchokedMs)).toEqual({ [pairKey('S', 'a')]: 3000, [pairKey('S', 'b')]: 2000, [pairKey('a', 'b')]: 3000, [pairKey('b', 'a')]: 3000 });
    // a unchoked b for 3 s, but only 1 s before it completed: seeding is no tit-for-tat.
    expect(log.leechingMs.get(pairKey('a', 'b'))).toBe(1000);
    expect(log.leechingMs.get(pairKey('b', 'a'))).toBe(3000);
  });

  it('unchoke-fairness: the mean and the largest distance from it, per seed, over the honest leechers', () => {
    const peers = [peer('S', 'S', 'seed'), peer('a', 'L'), peer('b', 'L'), peer('c', 'L')];
    const got = unchokeFairness(peers, { unchokedMs: ms([['S', 'a', 90_000], ['S', 'b', 91_000], ['S', 'c', 86_000]]) });
    expect(got['unchoke.mean']).toBeCloseTo(89, 9);
    expect(got['unchoke.spread']).toBeCloseTo(3, 9);
    expect([got['unchoke.min'], got['unchoke.max']]).toEqual([86, 91]);
    // A leecher never unchoked counts as 0 s, not as absent.
    expect(unchokeFairness(peers, { unchokedMs: ms([['S', 'a', 30_000]]) })['unchoke.spread']).toBeCloseTo(20, 9);
  });

  it('clustering: a group unchoked only by its own members is (L − 1)/(|G| − 1) times random mixing; an even spread is 1', () => {
    const peers = ['x1', 'x2', 'y1', 'y2'].map((l) => peer(l, l[0]));
    const own = clustering(peers, { leechingMs: ms([['x1', 'x2', 10], ['x2', 'x1', 10], ['y1', 'y2', 10], ['y2', 'y1', 10]]) });
    expect(own['same-group.x']).toBe(1);
    expect(own['clustering.x']).toBe(3); // (4 − 1)/(2 − 1)
    expect(own['clustering.mean']).toBe(3);
    const all: [string, string, number][] = [];
    for (const from of ['x1', 'x2', 'y1', 'y2']) for (const to of ['x1', 'x2', 'y1', 'y2']) if (from !== to) all.push([from, to, 10]);
    expect(clustering(peers, { leechingMs: ms(all) })['clustering.mean']).toBeCloseTo(1, 12);
    // A group of one has no index; nobody unchoked at all has none either.
    expect(clustering([...peers, peer('z1', 'z')], { leechingMs: ms(all) })).not.toHaveProperty('clustering.z');
    expect(clustering(peers, { leechingMs: new Map() })['clustering.mean']).toBeNaN();
  });
});
