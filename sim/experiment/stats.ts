// Summaries over seeds: mean, 95 % confidence interval (Student's t), median, empirical CDF.

/** Two-sided 97.5 % quantiles of Student's t for 1…30 degrees of freedom; past 30, the normal's. */
const T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface Interval {
  mean: number;
  /** Half the width of the 95 % confidence interval of the mean (0 for one sample). */
  halfWidth: number;
  n: number;
}

/** Mean and 95 % CI of `xs` (NaN mean when empty). */
export function meanInterval(xs: readonly number[]): Interval {
  const n = xs.length;
  if (n === 0) return { mean: NaN, halfWidth: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, halfWidth: 0, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const t = n - 1 <= T_975.length ? T_975[n - 2] : 1.96;
  return { mean, halfWidth: t * Math.sqrt(variance / n), n };
}

/** The q-quantile (0…1) by linear interpolation between order statistics; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** The empirical CDF's steps: the sorted values, each with the fraction of values ≤ it. */
export function empiricalCdf(xs: readonly number[]): { x: number; p: number }[] {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.map((x, i) => ({ x, p: (i + 1) / sorted.length }));
}
