// Quantities in scenario files: sizes, rates, durations, counts, and ranges of them.
//
//   size       16MiB, 512KiB, 1.5GiB, 4096B, or a plain number of bytes
//   rate       2MiB/s, 256KiB/s, unlimited, or a plain number of bytes per second
//   duration   200ms, 30s, 2min, 1h, or a plain number of milliseconds
//   count      a whole number
//   fraction   a number in [0, 1]
//   frequency  3/min, 0.5/s, 10/h, or a plain number of events per minute
//
// Any of them may be a range `lo..hi` (`20..200`, `10ms..200ms`, `256KiB/s..2MiB/s`): a value
// drawn from the seed when the scenario is resolved (sim/scenario/resolve.ts).

import { limitNote, SCENARIO_LIMITS } from './limits.ts';

export type Quantity = 'size' | 'pieceLength' | 'rate' | 'duration' | 'count' | 'fraction' | 'frequency';

/** How a range is drawn: a whole number, a real number, or a power of two (piece lengths). */
export type DrawKind = 'int' | 'real' | 'pow2';

/** A range in a scenario file, still to be drawn from the seed. */
export class Range {
  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly draw: DrawKind,
  ) {}
}

/** A value in a scenario file: fixed, or a range drawn from the seed. */
export type Varying = number | Range;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

const SIZE_UNITS: Record<string, number> = { B: 1, KiB, MiB, GiB };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: SECOND, min: MINUTE, h: HOUR };
/** Frequencies are kept in events per minute (what the fault injector takes). */
const FREQUENCY_UNITS: Record<string, number> = { s: 60, min: 1, h: 1 / 60 };

/** What each quantity looks like, for error messages. */
export const EXAMPLES: Record<Quantity, string> = {
  size: 'a size such as 4MiB, 512KiB or 1048576 (bytes), or a range such as 1MiB..4MiB',
  pieceLength: 'a power of two of at least 16KiB such as 256KiB, or a range such as 16KiB..1MiB',
  rate: 'a rate such as 2MiB/s, 256KiB/s, unlimited or 65536 (bytes/s), or a range such as 256KiB/s..2MiB/s',
  duration: 'a duration such as 200ms, 30s, 2min or 1500 (ms), or a range such as 30s..60s',
  count: 'a whole number such as 20, or a range such as 20..200',
  fraction: 'a number from 0 to 1 such as 0.1, or a range such as 0.01..0.2',
  frequency: 'a frequency such as 3/min, 0.5/s or 2 (per minute), or a range such as 1/min..10/min',
};

const DRAW: Record<Quantity, DrawKind> = {
  size: 'int',
  pieceLength: 'pow2',
  rate: 'int',
  duration: 'int',
  count: 'int',
  fraction: 'real',
  frequency: 'real',
};

export class UnitError extends Error {}

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;

function withUnit(text: string, units: Record<string, number>, suffix = ''): number | undefined {
  const m = new RegExp(`^${NUMBER}\\s*([A-Za-z]+)${suffix}$`).exec(text);
  if (!m || !(m[2] in units)) return undefined;
  return Number(m[1]) * units[m[2]];
}

/** One fixed value of a quantity: a number as written, or a string with a unit. */
export function parseQuantity(kind: Quantity, value: unknown): number {
  const fail = (): never => {
    throw new UnitError(`expected ${EXAMPLES[kind]}, got ${show(value)}`);
  };
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value !== 'string') fail();
  else {
    const text = (value as string).trim();
    if (/^[+-]?(\d+(\.\d+)?|\.\d+)(e[+-]?\d+)?$/i.test(text)) n = Number(text);
    else if (kind === 'size' || kind === 'pieceLength') n = withUnit(text, SIZE_UNITS);
    else if (kind === 'rate') n = text === 'unlimited' ? Infinity : withUnit(text, SIZE_UNITS, '/s');
    else if (kind === 'duration') n = withUnit(text, DURATION_UNITS);
    else if (kind === 'frequency') {
      const m = new RegExp(`^${NUMBER}\\s*/\\s*([a-z]+)$`).exec(text);
      if (m && m[2] in FREQUENCY_UNITS) n = Number(m[1]) * FREQUENCY_UNITS[m[2]];
    }
  }
  if (n === undefined || Number.isNaN(n)) return fail();
  if (n === Infinity && kind !== 'rate') return fail();
  if (n < 0) throw new UnitError(`expected ${EXAMPLES[kind]}; it cannot be negative, got ${show(value)}`);
  if ((kind === 'count' || kind === 'size' || kind === 'pieceLength') && !Number.isInteger(n)) {
    throw new UnitError(`expected ${EXAMPLES[kind]}; it must be a whole number${kind === 'count' ? '' : ' of bytes'}, got ${show(value)}`);
  }
  if (kind === 'rate' && n !== Infinity) n = Math.round(n);
  if (kind === 'rate' && n === 0) throw new UnitError(`expected ${EXAMPLES[kind]}; a rate must be above 0, got ${show(value)}`);
  if (kind === 'duration' && n > SCENARIO_LIMITS.duration.value) {
    throw new UnitError(`expected a duration of at most ${formatDuration(SCENARIO_LIMITS.duration.value)}, got ${show(value)} ${limitNote('duration', formatDuration(SCENARIO_LIMITS.duration.value))}`);
  }
  if (kind === 'frequency' && n > SCENARIO_LIMITS.faultRatePerMinute.value) {
    const max = formatFrequency(SCENARIO_LIMITS.faultRatePerMinute.value);
    throw new UnitError(`expected a frequency of at most ${max} (10/s), got ${show(value)} ${limitNote('faultRatePerMinute', max)}`);
  }
  if (kind === 'fraction' && n > 1) throw new UnitError(`expected ${EXAMPLES[kind]}, got ${show(value)}`);
  if (kind === 'pieceLength' && !(n >= 16 * KiB && isPowerOfTwo(n))) {
    throw new UnitError(`expected ${EXAMPLES[kind]}, got ${show(value)}`);
  }
  return n;
}

/** A value that may be a range `lo..hi`. A range whose ends are equal is just that value. */
export function parseVarying(kind: Quantity, value: unknown): Varying {
  if (typeof value !== 'string' || !value.includes('..')) return parseQuantity(kind, value);
  const ends = value.split('..');
  if (ends.length !== 2) throw new UnitError(`expected ${EXAMPLES[kind]}, got ${show(value)}`);
  const [lo, hi] = ends.map((end) => parseQuantity(kind, end));
  if (lo > hi) throw new UnitError(`a range goes from low to high, got ${show(value)}`);
  if (lo === hi) return lo;
  if (hi === Infinity) throw new UnitError(`a range cannot end at unlimited, got ${show(value)}`);
  return new Range(lo, hi, DRAW[kind]);
}

/** The smallest and largest value a Varying can take. */
export function bounds(v: Varying): [number, number] {
  return v instanceof Range ? [v.lo, v.hi] : [v, v];
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** A value as the user wrote it, for messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

// Formatting: the exact value with the largest unit that expresses it as a short number, so a
// written file reads well and parses back to the same value.

function format(n: number, units: [string, number][], plain: string): string {
  for (const [name, factor] of units) {
    const v = n / factor;
    // At most three decimals, and exact: the text must parse back to the same number.
    if (v >= 1 && Number.isInteger(v * 1000) && v * factor === n) return `${v}${name}`;
  }
  return plain;
}

export function formatSize(bytes: number): string {
  return format(bytes, [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]], `${bytes}B`);
}

export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond === Infinity) return 'unlimited';
  return format(bytesPerSecond, [['GiB/s', GiB], ['MiB/s', MiB], ['KiB/s', KiB]], `${bytesPerSecond}B/s`);
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  return format(ms, [['h', HOUR], ['min', MINUTE], ['s', SECOND]], `${ms}ms`);
}

export function formatFrequency(perMinute: number): string {
  return `${perMinute}/min`;
}
