// The shards of one sweep put back together (`swarmlab merge`): every shard of `--shard I/N` once,
// every run of the sweep once, in the sweep's order — exactly what one machine running the whole
// sweep reports, but for wall times. Anything else (a shard missing or given twice, results of
// another sweep) is an InputError naming the file.

import { parseShard } from '../sim/scenario/shard.ts';
import { InputError } from './input-error.ts';
import type { ResultsJson } from './test-results.ts';

export interface ResultsFile {
  file: string;
  results: ResultsJson;
}

export function mergeResults(parts: readonly ResultsFile[]): ResultsJson {
  if (parts.length === 0) throw new InputError('merge: no results files given');
  const [first] = parts;
  for (const { file, results } of parts) {
    if (results.sweep.id !== first.results.sweep.id || results.sweep.runs !== first.results.sweep.runs) {
      throw new InputError(`merge: ${file} has results of another sweep (id ${results.sweep.id}, ${results.sweep.runs} runs) than ${first.file} (id ${first.results.sweep.id}, ${first.results.sweep.runs} runs): were they run with the same files, --seeds and --first-seed?`);
    }
    if (results.plantedBug !== first.results.plantedBug) throw new InputError(`merge: ${file} was run with --planted-bug ${results.plantedBug ?? '(none)'}, ${first.file} with ${first.results.plantedBug ?? '(none)'}`);
  }
  checkShards(parts);
  const byIndex = new Map<number, { file: string; run: ResultsJson['runs'][number] }>();
  for (const { file, results } of parts) {
    for (const run of results.runs) {
      if (run.sweepIndex > first.results.sweep.runs) throw new InputError(`merge: ${file}: run ${run.sweepIndex} is beyond the sweep's ${first.results.sweep.runs} runs`);
      const seen = byIndex.get(run.sweepIndex);
      if (seen) throw new InputError(`merge: run ${run.sweepIndex} of the sweep (${run.scenario}, seed ${run.seed}) is in both ${seen.file} and ${file}`);
      byIndex.set(run.sweepIndex, { file, run });
    }
  }
  const runs = [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!.run);
  if (runs.length !== first.results.sweep.runs) {
    const missing = Array.from({ length: first.results.sweep.runs }, (_, i) => i + 1).find((i) => !byIndex.has(i));
    throw new InputError(`merge: run ${missing} of the sweep's ${first.results.sweep.runs} is in none of the files`);
  }
  const failed = runs.filter((r) => !r.ok).length;
  return {
    runs,
    passed: runs.length - failed,
    failed,
    // Shards run side by side: the sweep took as long as its slowest one.
    wallMs: Math.max(...parts.map((p) => p.results.wallMs)),
    sweep: { id: first.results.sweep.id, runs: first.results.sweep.runs, shard: null },
    plantedBug: first.results.plantedBug,
  };
}

/** Every shard 1..N of one N exactly once, or a single file of the whole sweep. */
function checkShards(parts: readonly ResultsFile[]): void {
  const whole = parts.filter((p) => p.results.sweep.shard === null);
  if (whole.length > 0 && parts.length > 1) throw new InputError(`merge: ${whole[0].file} holds the whole sweep (no --shard); merge shards only with each other`);
  if (whole.length > 0) return;
  const count = (parseShard(parts[0].results.sweep.shard!) as { count: number }).count;
  const byIndex = new Map<number, string>();
  for (const { file, results } of parts) {
    const shard = parseShard(results.sweep.shard!);
    if (typeof shard === 'string') throw new InputError(`merge: ${file}: shard ${shard}`);
    if (shard.count !== count) throw new InputError(`merge: ${file} is shard ${results.sweep.shard}, ${parts[0].file} one of ${count}`);
    const seen = byIndex.get(shard.index);
    if (seen) throw new InputError(`merge: shard ${results.sweep.shard} is given twice (${seen} and ${file})`);
    byIndex.set(shard.index, file);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) throw new InputError(`merge: missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}`);
}
