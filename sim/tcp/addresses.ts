// A TCP run's loopback addresses (issue 10). A run takes one block 127.B.0.0/16, B in 2..254,
// chosen from its seed and the process id (two test files, or two runs, may share the machine) and
// chosen again when a bind finds the block in use. In the block: the tracker at 127.B.0.1, and host
// i at 127.B.(1 + ⌊i / 255⌋).(1 + i mod 255). Each host has a public port (the relay's listener for
// it, the address the tracker hands out) and a private one (where its peer really listens).
// Linux routes all of 127.0.0.0/8 to the loopback interface, so every address here binds without
// any setup, and nothing here ever listens beyond 127.0.0.0/8.

import { readFileSync } from 'node:fs';

/** The relay's listener for a host: what the tracker hands out and what other peers dial. */
export const PUBLIC_PORT = 6881;
/** Where the host's peer (swarmlab's engine or another client) really listens. */
export const PRIVATE_PORT = 6882;

/** Hosts per block: 250 values of the third byte (1..250) × 255 of the fourth (1..255). */
export const MAX_HOSTS = 250 * 255;
/** The block's second byte, B of 127.B.0.0/16: 0 and 1 are left to the machine (127.0.0.1, 127.1.x.y of live tests), 255 to broadcast-looking addresses. */
const FIRST_BLOCK = 2;
const LAST_BLOCK = 254;
/** How many blocks `claimBlock` tries before it gives up. */
const BLOCK_ATTEMPTS = 16;

/** The loopback tracker's address in block `block`. */
export function trackerAddress(block: number): string {
  return `127.${checkBlock(block)}.0.1`;
}

/** Host `index`'s address (0-based, in the order peers are created) in block `block`. */
export function hostAddress(block: number, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_HOSTS) {
    throw new Error(`addresses: host index must be an integer in [0, ${MAX_HOSTS - 1}], got ${index}`);
  }
  return `127.${checkBlock(block)}.${1 + Math.floor(index / 255)}.${1 + (index % 255)}`;
}

/** The block for a run of `seed` in this process; `attempt` picks another one after a bind found it in use. */
export function chooseBlock(seed: string, attempt = 0): number {
  // FNV-1a: a fixed, well-spread hash, so the same seed, pid and attempt always give the same block.
  let hash = 0x811c9dc5;
  for (const ch of `${seed}/${process.pid}/${attempt}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return FIRST_BLOCK + (hash % (LAST_BLOCK - FIRST_BLOCK + 1));
}

/**
 * Runs `bind(block)` on the seed's block, then on the next choices while it fails with
 * EADDRINUSE (another run holds that block): the first bind of a run (its tracker) claims the block.
 */
export async function claimBlock<T>(seed: string, bind: (block: number) => Promise<T>): Promise<{ block: number; value: T }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < BLOCK_ATTEMPTS; attempt++) {
    const block = chooseBlock(seed, attempt);
    try {
      return { block, value: await bind(block) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      lastError = err;
    }
  }
  throw new Error(`addresses: every loopback block tried for seed '${seed}' was in use (${BLOCK_ATTEMPTS} tries; last: ${(lastError as Error).message})`);
}

function checkBlock(block: number): number {
  if (!Number.isInteger(block) || block < FIRST_BLOCK || block > LAST_BLOCK) {
    throw new Error(`addresses: a block is an integer in [${FIRST_BLOCK}, ${LAST_BLOCK}], got ${block}`);
  }
  return block;
}

/** File descriptors kept back for everything but peers' sockets: the tracker, stdio, the trace, child processes' pipes, Node's own. */
const RESERVED_FDS = 256;
/** Each relayed connection costs 4: the dialer's socket, the relay's two, the listener's accepted one (all in this process when both peers are swarmlab's). */
const FDS_PER_CONNECTION = 4;
/** Each host's listeners: the relay's public one and its peer's private one. */
const FDS_PER_HOST = 2;

export interface TcpCapacity {
  /** The most peers a TCP run may have on this machine. */
  peers: number;
  /** The open-file limit it was computed from (the soft `ulimit -n`). */
  fdLimit: number;
  /** Why, in one sentence, to print when a scenario is refused. */
  reason: string;
}

/**
 * How many peers a TCP run may have here: a peer costs its two listeners and 4 descriptors per
 * connection (2 per end it holds), with up to `maxConnections` connections (the engine's setting,
 * 50 by default) or one to every other peer in a smaller swarm; the addresses of one block bound it too.
 */
export function tcpCapacity(o: { maxConnections?: number; fdLimit?: number } = {}): TcpCapacity {
  const fdLimit = o.fdLimit ?? openFileLimit();
  const maxConnections = o.maxConnections ?? 50;
  const fdsFor = (peers: number) => RESERVED_FDS + peers * (FDS_PER_HOST + (FDS_PER_CONNECTION / 2) * Math.min(peers - 1, maxConnections));
  // fdsFor grows with `peers`: the largest that fits, by bisection.
  let lo = 0;
  let hi = MAX_HOSTS;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fdsFor(mid) <= fdLimit) lo = mid;
    else hi = mid - 1;
  }
  const reason =
    lo === MAX_HOSTS
      ? `a loopback block holds ${MAX_HOSTS} hosts`
      : `the open-file limit is ${fdLimit} (ulimit -n); each peer needs ${FDS_PER_HOST} listening sockets and ${FDS_PER_CONNECTION} descriptors per connection, ` +
        `up to ${maxConnections} connections each (maxConnections), and ${RESERVED_FDS} are kept back`;
  return { peers: lo, fdLimit, reason };
}

/** The soft limit on open files (`ulimit -n`), from /proc on Linux; 1024 (the usual default) where it cannot be read. */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    const n = Number(soft);
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // Not Linux, or /proc unreadable: fall through.
  }
  return 1024;
}
