// Parsers for commander options that take numbers (and the transport), shared by the commands. A bad value is an
// `InvalidArgumentError`, which commander reports as one line naming the option.
// (They live here, not in main.ts: main.ts imports every command, so a command importing main.ts
// would make a cycle.)

import { InvalidArgumentError } from 'commander';
import { parseShard, type Shard } from '../sim/scenario/shard.ts';
import { TRANSPORTS, type Transport } from '../sim/scenario/types.ts';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** `--seed`: what a scenario file's `seeds` may hold — a whole number, or a word (no spaces). */
export function seedArg(value: string): string {
  if (!/^[\w.-]+$/.test(value)) throw new InvalidArgumentError(`expected a seed: a whole number or a word of letters, digits, '.', '_' or '-', got "${value}"`);
  return value;
}

/** `--jobs N`: at least one. */
export function jobCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of jobs, at least 1, got "${value}"`);
  return n;
}

/** `--shard I/N`. */
export function shardOption(value: string): Shard {
  const shard = parseShard(value);
  if (typeof shard === 'string') throw new InvalidArgumentError(shard);
  return shard;
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new InvalidArgumentError(`expected a port in 0..65535, got "${value}"`);
  return n;
}

/** `--transport memory|tcp`. */
export function transportOption(value: string): Transport {
  if ((TRANSPORTS as readonly string[]).includes(value)) return value as Transport;
  throw new InvalidArgumentError(`expected ${TRANSPORTS.join(' or ')}, got '${value}'`);
}
