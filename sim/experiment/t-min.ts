// The minimum distribution time (Kumar and Ross, 2006): no schedule delivers a file of F bytes
// from seeds of total upload u_s to N leechers of uploads u_i and downloads d_i before
//   T_min = max(F/u_s, F/min d_i, N·F/(u_s + Σ u_i)).
// One definition, used by `swarmlab experiment` and `npm run bench -- efficiency`.

export interface DistributionProblem {
  /** Payload bytes. */
  size: number;
  /** The seeds' upload together, bytes per second. */
  seedUpload: number;
  /** Each leecher's upload, bytes per second. */
  leecherUploads: readonly number[];
  /** Each leecher's download, bytes per second. */
  leecherDownloads: readonly number[];
}

/** T_min in milliseconds (Infinity without seed upload; 0 without leechers). */
export function minDistributionTime(p: DistributionProblem): number {
  const n = p.leecherUploads.length;
  if (n === 0) return 0;
  const slowestDownload = Math.min(...p.leecherDownloads);
  const uploads = p.leecherUploads.reduce((a, b) => a + b, 0);
  return Math.max(p.size / p.seedUpload, p.size / slowestDownload, (n * p.size) / (p.seedUpload + uploads)) * 1000;
}
