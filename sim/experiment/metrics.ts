// The metrics of one run (one sweep point under one seed), computed from its result, its resolved
// scenario and its samples: pure, so the tests give them known inputs.

import { isHonest } from '../behaviours.ts';
import type { Scenario, ScenarioResult } from '../scenario/types.ts';
import { clustering, unchokeFairness } from './pair-metrics.ts';
import type { PairLog } from './pairs.ts';
import type { Samples } from './sampler.ts';
import { median, quantile } from './stats.ts';
import { minDistributionTime } from './t-min.ts';
import { meanBetween, utilisationSeries } from './utilisation.ts';

/** The metrics an experiment file may ask for (`metrics:`). */
export const METRIC_NAMES = ['completion', 't-over-tmin', 'utilisation', 'entropy', 'duplicates', 'groups', 'share-ratio', 'unchoke-fairness', 'clustering'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface RunMetrics {
  /** Scalars, one CSV column each (seconds for times, fractions for ratios). */
  values: Record<string, number>;
  /** Completion times (s after joining) of the honest leechers that completed. */
  completion: number[];
  /** Series over virtual time, one value per sample interval. */
  series: { intervalMs: number; utilisation?: number[]; entropy?: number[] };
}

/** The honest leechers: the peers the distribution is for. */
function leechersOf(result: ScenarioResult) {
  return result.peers.filter((p) => p.role === 'leecher' && isHonest(p.behaviour));
}

/** T_min of a resolved scenario: its seeds' upload, its honest leechers' links (Kumar and Ross). */
export function scenarioTMin(s: Scenario): number {
  const seeds = s.groups.filter((g) => g.role === 'seed');
  const leechers = s.groups.filter((g) => g.role === 'leecher' && isHonest(g.behaviour));
  const each = (gs: typeof leechers, key: 'upload' | 'download') => gs.flatMap((g) => new Array<number>(g.count).fill(g[key]));
  return minDistributionTime({
    size: s.torrent.size,
    seedUpload: seeds.reduce((sum, g) => sum + g.count * g.upload, 0),
    leecherUploads: each(leechers, 'upload'),
    leecherDownloads: each(leechers, 'download'),
  });
}

/** Every peer's upload cap together, bytes per second. */
function uploadCapacity(s: Scenario): number {
  return s.groups.reduce((sum, g) => sum + g.count * g.upload, 0);
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The metrics that need who gave to whom (sim/experiment/pairs.ts): the runner logs pairs only for them. */
export const PAIR_METRICS: readonly MetricName[] = ['unchoke-fairness', 'clustering'];

/** An experiment file without `metrics:` gets these: all but the pair metrics, which watch every trace event. */
export const DEFAULT_METRICS: readonly MetricName[] = METRIC_NAMES.filter((m) => !PAIR_METRICS.includes(m));

export function runMetrics(s: Scenario, result: ScenarioResult, samples: Samples, wanted: readonly MetricName[], pairs?: PairLog): RunMetrics {
  const want = new Set(wanted);
  const leechers = leechersOf(result);
  const done = leechers.filter((p) => p.completedAt !== undefined);
  const completion = done.map((p) => (p.completedAt! - p.joinedAt) / 1000);
  const values: Record<string, number> = { leechers: leechers.length, completed: done.length };
  const series: RunMetrics['series'] = { intervalMs: samples.intervalMs };
  if (want.has('completion')) {
    values['completion.median'] = median(completion);
    values['completion.p90'] = quantile(completion, 0.9);
    values['completion.last'] = completion.length ? Math.max(...completion) : NaN;
  }
  if (want.has('t-over-tmin')) {
    const tMin = scenarioTMin(s) / 1000;
    values['tmin'] = tMin;
    values['t-last/tmin'] = (completion.length ? Math.max(...completion) : NaN) / tMin;
    values['t-mean/tmin'] = mean(completion) / tMin;
  }
  if (want.has('utilisation')) {
    series.utilisation = utilisationSeries(samples.uploaded, uploadCapacity(s), samples.intervalMs);
    values['utilisation.10-90'] = meanBetween(series.utilisation, 0.1, 0.9);
  }
  if (want.has('entropy')) {
    series.entropy = samples.entropy;
    values['entropy.mean'] = mean(samples.entropy);
    values['entropy.min'] = samples.entropy.length ? Math.min(...samples.entropy) : NaN;
  }
  if (want.has('duplicates')) {
    values['duplicate-bytes'] = result.duplicateBytes;
    values['duplicate-fraction'] = result.duplicateBytes / (s.torrent.size * Math.max(1, leechers.length));
  }
  if (want.has('groups')) {
    for (const g of s.groups.filter((g) => g.role === 'leecher')) {
      const times = result.peers.filter((p) => p.group === g.name && p.completedAt !== undefined).map((p) => (p.completedAt! - p.joinedAt) / 1000);
      values[`median.${g.name}`] = median(times);
    }
  }
  if (want.has('share-ratio')) {
    const ratios = leechers.filter((p) => p.downloaded > 0).map((p) => p.uploaded / p.downloaded);
    values['share-ratio.mean'] = mean(ratios);
    values['share-ratio.min'] = ratios.length ? Math.min(...ratios) : NaN;
  }
  if (want.has('unchoke-fairness') && pairs) Object.assign(values, unchokeFairness(result.peers, pairs));
  if (want.has('clustering') && pairs) Object.assign(values, clustering(result.peers, pairs));
  return { values, completion, series };
}
