// Mutations of valid inputs: start from real structure (messages, torrents, scenario files) and
// break it in the ways that find bugs — bit flips, interesting bytes, inserted tokens of the
// format, deleted, duplicated and truncated ranges. Positions are drawn as plain integers and
// taken modulo the length, so every mutation applies to any input and shrinks towards the start.

import * as fc from 'fast-check';

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number; to: number }
  | { kind: 'truncate'; at: number };

/** Bytes that matter to most parsers: boundaries of integers and lengths, NUL, high bit. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x2d, 0x30, 0x39, 0x3a];

export function mutationArbitrary(tokens: readonly Uint8Array[] = []): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 1 << 20 });
  const inserted = tokens.length > 0 ? fc.oneof(fc.constantFrom(...tokens), fc.uint8Array({ minLength: 1, maxLength: 8 })) : fc.uint8Array({ minLength: 1, maxLength: 8 });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at, value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: inserted }),
    fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 64 }), to: at }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
  );
}

export function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  const position = (x: number, room = n) => (room === 0 ? 0 : x % room);
  switch (m.kind) {
    case 'flip':
    case 'set': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      const i = position(m.at);
      out[i] = m.kind === 'flip' ? out[i] ^ (1 << m.bit) : m.value;
      return out;
    }
    case 'insert': {
      const i = position(m.at, n + 1);
      const out = new Uint8Array(n + m.bytes.length);
      out.set(bytes.subarray(0, i));
      out.set(m.bytes, i);
      out.set(bytes.subarray(i), i + m.bytes.length);
      return out;
    }
    case 'delete': {
      if (n === 0) return bytes;
      const i = position(m.at);
      const out = new Uint8Array(n - Math.min(m.length, n - i));
      out.set(bytes.subarray(0, i));
      out.set(bytes.subarray(i + m.length), i);
      return out;
    }
    case 'duplicate': {
      if (n === 0) return bytes;
      const i = position(m.at);
      const piece = bytes.subarray(i, i + m.length);
      return applyMutation(bytes, { kind: 'insert', at: m.to, bytes: piece.slice() });
    }
    case 'truncate':
      return bytes.subarray(0, position(m.at, n + 1)).slice();
  }
}

export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = bytes;
  for (const m of mutations) out = applyMutation(out, m);
  return out;
}

/**
 * `base` mutated by 0..maxMutations mutations (none in about a third of the inputs, so the valid
 * path is fuzzed too). The value records whether it was mutated, for oracles that hold only for
 * valid input.
 */
export function mutatedBytes(base: fc.Arbitrary<Uint8Array>, tokens: readonly Uint8Array[] = [], maxMutations = 6): fc.Arbitrary<{ bytes: Uint8Array; mutated: boolean }> {
  return fc
    .tuple(base, fc.oneof({ weight: 1, arbitrary: fc.constant([] as Mutation[]) }, { weight: 2, arbitrary: fc.array(mutationArbitrary(tokens), { minLength: 1, maxLength: maxMutations }) }))
    .map(([original, mutations]) => {
      const bytes = applyMutations(original, mutations);
      return { bytes, mutated: mutations.length > 0 && !sameContent(bytes, original) };
    });
}

function sameContent(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
