// Over seeds: each point's scalar metrics as mean ± 95 % CI, its completion times pooled (the CDF),
// its series averaged step by step; and the verdict on the claim.

import type { SweepPoint } from './load.ts';
import type { RunRecord } from './run.ts';
import type { Verdict } from './schema.ts';
import { empiricalCdf, type Interval, meanInterval } from './stats.ts';

export interface PointSummary {
  index: number;
  label: string;
  runs: number;
  values: Record<string, Interval>;
  cdf: { x: number; p: number }[];
  /** Mean over seeds at each step (steps some runs lack are averaged over those that have them). */
  series: Record<string, number[]>;
  intervalMs: number;
}

/** Step-by-step mean of series of different lengths. */
export function meanSeries(all: readonly (readonly number[])[]): number[] {
  const length = Math.max(0, ...all.map((s) => s.length));
  return Array.from({ length }, (_, i) => {
    const at = all.filter((s) => i < s.length).map((s) => s[i]);
    return at.reduce((a, b) => a + b, 0) / at.length;
  });
}

export function summarise(points: readonly SweepPoint[], records: readonly RunRecord[]): PointSummary[] {
  return points.map((point) => {
    const runs = records.filter((r) => r.point === point.index);
    const columns = [...new Set(runs.flatMap((r) => Object.keys(r.values)))];
    const values = Object.fromEntries(columns.map((c) => [c, meanInterval(runs.map((r) => r.values[c]).filter((v) => Number.isFinite(v)))]));
    const seriesNames = [...new Set(runs.flatMap((r) => Object.keys(r.series).filter((k) => k !== 'intervalMs')))] as ('utilisation' | 'entropy')[];
    const series = Object.fromEntries(seriesNames.map((name) => [name, meanSeries(runs.map((r) => r.series[name] ?? []))]));
    return { index: point.index, label: point.label, runs: runs.length, values, cdf: empiricalCdf(runs.flatMap((r) => r.completion)), series, intervalMs: runs[0]?.series.intervalMs ?? 0 };
  });
}

export interface VerdictResult {
  reproduces: boolean;
  /** One sentence: what was checked and what was measured. */
  line: string;
}

/** Judges the means of `verdict.metric` over the points. */
export function judgeVerdict(verdict: Verdict, summaries: readonly PointSummary[]): VerdictResult {
  const means = summaries.map((s) => s.values[verdict.metric]?.mean ?? NaN);
  const shown = summaries.map((s, i) => `${s.label}: ${round(means[i])}`).join('; ');
  const failed: string[] = [];
  if (means.some((m) => !Number.isFinite(m))) failed.push(`${verdict.metric} was not measured at every point`);
  const first = verdict.boundsOn === 'first';
  const bounded = first ? means.slice(0, 1) : means;
  const which = first ? 'the first point is not' : 'not every point is';
  if (verdict.atMost !== undefined && bounded.some((m) => m > verdict.atMost!)) failed.push(`${which} at most ${verdict.atMost}`);
  if (verdict.atLeast !== undefined && bounded.some((m) => m < verdict.atLeast!)) failed.push(`${which} at least ${verdict.atLeast}`);
  if (verdict.order) {
    const ok = means.every((m, i) => i === 0 || (verdict.order === 'increasing' ? m >= means[i - 1] : m <= means[i - 1]));
    if (!ok) failed.push(`the means are not ${verdict.order} over the points`);
  }
  if (verdict.spreadAtMost !== undefined) {
    const spread = (Math.max(...means) - Math.min(...means)) / Math.min(...means);
    if (!(spread <= verdict.spreadAtMost)) failed.push(`the means spread by ${round(spread)} of the smallest, more than ${verdict.spreadAtMost}`);
  }
  const reproduces = failed.length === 0;
  return { reproduces, line: `${reproduces ? 'reproduces' : 'does not reproduce'}: ${verdict.metric} (mean over seeds) — ${shown}${reproduces ? '' : ` — ${failed.join('; ')}`}` };
}

export function round(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 0.01 || a === 0 ? x.toFixed(3) : x.toExponential(2);
}
