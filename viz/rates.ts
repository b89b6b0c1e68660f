// Upload and download rates over time, from the bytes of stored blocks (`pieceStore` steps whose
// result is `stored`): the downloader is the step's peer, the uploader its remote.

import type { TraceTable } from './trace-table.ts';

export interface RateSeries {
  /** Start of bin b is `b * binMs`. */
  binMs: number;
  bins: number;
  /** Bytes per second, over the whole swarm, per bin. */
  total: Float64Array;
  /** Bytes per second per label and bin: down[label * bins + b]. */
  down: Float64Array;
  up: Float64Array;
}

/** Bins are at least this long, so short runs do not draw a comb of single blocks. */
const MIN_BIN_MS = 100;

export function computeRates(table: TraceTable, endTime: number, maxBins = 240): RateSeries {
  const binMs = Math.max(Math.max(1, endTime) / maxBins, MIN_BIN_MS);
  const bins = Math.max(1, Math.ceil(endTime / binMs));
  const labels = table.labels.length;
  const total = new Float64Array(bins);
  const down = new Float64Array(labels * bins);
  const up = new Float64Array(labels * bins);
  const { storedBytes, time, peer, conn } = table;
  for (let i = 0; i < table.count; i++) {
    const bytes = storedBytes[i];
    if (bytes === 0) continue;
    const b = Math.min(bins - 1, Math.floor(time[i] / binMs));
    total[b] += bytes;
    down[peer[i] * bins + b] += bytes;
    if (conn[i] >= 0) up[table.connections[conn[i]].remote * bins + b] += bytes;
  }
  const perSecond = 1000 / binMs;
  for (const a of [total, down, up]) for (let k = 0; k < a.length; k++) a[k] *= perSecond;
  return { binMs, bins, total, down, up };
}
