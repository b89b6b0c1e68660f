// Uplink utilisation over time: bytes the swarm uploaded per sample interval ÷ what every peer's
// upload cap together allows in it.

/** Utilisation per interval between cumulative `uploaded` samples taken every `intervalMs`. */
export function utilisationSeries(uploaded: readonly number[], capacityPerSecond: number, intervalMs: number): number[] {
  const capacity = (capacityPerSecond * intervalMs) / 1000;
  return uploaded.slice(1).map((u, i) => (capacity > 0 ? (u - uploaded[i]) / capacity : 0));
}

/** The mean of `series` over the part between fractions `from` and `to` of its length (at least one value). */
export function meanBetween(series: readonly number[], from: number, to: number): number {
  if (series.length === 0) return NaN;
  const start = Math.min(series.length - 1, Math.floor(from * series.length));
  const slice = series.slice(start, Math.max(start + 1, Math.floor(to * series.length)));
  return slice.reduce((a, b) => a + b, 0) / slice.length;
}
