// Scenario names as parts of file names. A name is whatever the file says (`../../x`, `a/b`,
// control characters), and it becomes the trace file, the shrunk scenario and the replay page
// under `out/`: every such use goes through `fileNameOf`, so nothing lands outside its folder.

import { SCENARIO_LIMITS } from './limits.ts';

/**
 * A name safe as one path component: letters, digits, `.`, `_` and `-` kept, every run of anything
 * else one `_`, no leading dot (no `..`, no hidden file), at most `nameLength` characters, never empty.
 */
export function fileNameOf(name: string): string {
  const safe = name
    .replace(/[^\w.-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, SCENARIO_LIMITS.nameLength.value);
  return safe || '_';
}

/**
 * `<name>-<peers>peers-seed<seed>`, the stem of a run's default trace: two runs of one scenario
 * (or of the default swarm) with swarms of different sizes do not overwrite each other's.
 */
export function traceFileStem(name: string, peers: number, seed: string): string {
  return fileNameOf(`${name}-${peers}peers-seed${seed}`);
}

/** `<name>-seed<seed>`, the stem of a run's files. */
export function runFileStem(name: string, seed: string): string {
  return fileNameOf(`${name}-seed${seed}`);
}
