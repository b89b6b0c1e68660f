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
