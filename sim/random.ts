// One seed root, split into named sub-streams: each component draws from its own stream, so adding
// a peer or a fault does not change the numbers any other component sees.

import seedrandom from 'seedrandom';
import type { Random } from '../engine/ports.ts';

export class SeededRandom implements Random {
  private readonly prng: seedrandom.PRNG;

  constructor(seed: string) {
    this.prng = seedrandom.alea(seed);
  }

  next(): number {
    return this.prng();
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** The first `k` items of a seeded shuffle of `items` (a copy; `items` is untouched). */
  sample<T>(items: readonly T[], k: number): T[] {
    const a = items.slice();
    const n = Math.min(k, a.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (a.length - i));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, n);
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    const whole = length & ~3;
    // Little-endian explicitly, so the bytes are the same on every machine.
    for (let i = 0; i < whole; i += 4) view.setUint32(i, (this.next() * 0x100000000) >>> 0, true);
    for (let i = whole; i < length; i++) out[i] = (this.next() * 256) | 0;
    return out;
  }
}

export class SeedRoot {
  constructor(readonly seed: string) {}

  /** The sub-stream called `name`; the same name always gives the same numbers. */
  stream(name: string): SeededRandom {
    return new SeededRandom(`${this.seed}/${name}`);
  }
}
