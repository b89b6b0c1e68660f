// Splitting a sweep across machines (`swarmlab test --shard I/N`). The unit is a seed of a
// scenario: its run and, for the seed run twice, the determinism rerun, which must run where the
// first run did to compare their trace hashes. Seed groups are dealt round-robin in the sweep's
// order, so each shard gets every N-th seed of every scenario: a fixed, disjoint share whatever
// the machine, and the shares' union is the whole sweep.

export interface Shard {
  /** 1-based: which share this is. */
  index: number;
  /** How many shares the sweep is cut into. */
  count: number;
}

/** Whether seed group `group` (0-based, in sweep order) belongs to `shard`. */
export function inShard(group: number, shard: Shard): boolean {
  return group % shard.count === shard.index - 1;
}

/** `2/3`, as the command line and the results files write a shard. */
export const formatShard = (shard: Shard) => `${shard.index}/${shard.count}`;

/** Reads `I/N` (1 ≤ I ≤ N), or says what is wrong with it. */
export function parseShard(text: string): Shard | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return `expected I/N, such as 1/3, got '${text}'`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) return `expected at least one shard, got '${text}'`;
  if (index < 1 || index > count) return `the shard index must be 1..${count}, got '${text}'`;
  return { index, count };
}
