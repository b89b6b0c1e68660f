// The bencode decoder (engine/bdecode.ts), with its network defaults. Input: encoded values (nested lists and
// dictionaries, integers at the safe-integer edges, byte strings) or deep nesting, maybe mutated,
// with trailing bytes. Properties: bdecode gives a value or a BdecodeError whose position lies in
// the input, never another throw (no stack overflow at any depth); a decoded value re-encodes to
// the same bytes (for a valid input) or to bytes of the same length that decode to the same value
// (unsorted keys); bdecodePrefix's end is where the value ends, whatever follows; nesting beyond
// the bound is refused.

import * as fc from 'fast-check';
import { BDECODE_LIMITS, type BValue, bdecode, BdecodeError, bdecodePrefix, bencodeValue } from '../../engine/bdecode.ts';
import { ascii, mutatedBytes } from '../mutate.ts';
import { bytesEqual, concatBytes } from '../../engine/bytes.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';

const integer = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31), 2 ** 32), fc.maxSafeInteger());
const byteString = fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.constantFrom(ascii('__proto__'), ascii('constructor'), ascii('peers'), ascii('interval')));

/** Bencode values, as bencodeValue takes them (dictionary keys as latin-1 strings). */
export const bvalueArbitrary: fc.Arbitrary<BValue> = fc.letrec<{ value: BValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    integer,
    byteString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'toString', 'm', 'ut_metadata')).map(latin1Key), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A key as a latin-1 string of its UTF-8 bytes, the form bdecode gives keys in. */
function latin1Key(text: string): string {
  return String.fromCharCode(...new TextEncoder().encode(text));
}

/** `depth` lists or dictionaries inside each other: the stack-depth attack. */
const deepNesting = fc.record({ depth: fc.integer({ min: 1, max: 20_000 }), dict: fc.boolean() }).map(({ depth, dict }) =>
  ascii(dict ? `${'d1:a'.repeat(depth)}i0e${'e'.repeat(depth)}` : `${'l'.repeat(depth)}${'e'.repeat(depth)}`),
);

const TOKENS = ['i', 'e', 'l', 'd', ':', '-', '0', 'i-0e', 'i01e', '4294967296:', '99999999999999999:', 'le', 'de', '1:a', 'i9007199254740993e'].map(ascii);

export interface BencodeInput {
  bytes: Uint8Array;
  mutated: boolean;
  /** Appended after the value to check bdecodePrefix's end. */
  trailer: Uint8Array;
}

export const bencodeTarget: FuzzTarget<BencodeInput> = {
  name: 'bencode',
  description: 'engine/bdecode.ts: typed errors with positions, re-encoding, prefix ends, bounded depth',
  ciRuns: 400,
  slowMs: 200,
  arbitrary: fc.record({
    value: mutatedBytes(fc.oneof({ weight: 6, arbitrary: bvalueArbitrary.map((v) => bencodeValue(v)) }, { weight: 1, arbitrary: deepNesting }), TOKENS),
    trailer: fc.uint8Array({ maxLength: 6 }),
  }).map(({ value, trailer }) => ({ bytes: value.bytes, mutated: value.mutated, trailer })),
  check: checkBencode,
};

const MAX_DEPTH = BDECODE_LIMITS.networkDepth;

function nestingOf(v: BValue): number {
  // Iterative, so that the oracle itself does not overflow on deep values.
  let deepest = 0;
  const stack: [BValue, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x === 'number' || x instanceof Uint8Array) continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, d + 1]);
  }
  return deepest;
}

function checkBencode(input: BencodeInput): void {
  const { bytes } = input;
  const outcome = typedOutcome(() => bdecode(bytes), [BdecodeError], 'bdecode');
  if ('error' in outcome) {
    const position = (outcome.error as BdecodeError).position;
    expect(Number.isInteger(position) && position >= 0 && position <= bytes.length, `BdecodeError position ${position} is outside the input of ${bytes.length} bytes`);
    expect(outcome.error.message.includes(`byte ${position}`), 'BdecodeError message does not name its position');
    expect(!input.mutated ? /nested deeper/.test(outcome.error.message) : true, () => `a valid encoding was refused: ${outcome.error.message}`);
    return;
  }
  const value = outcome.value;
  expect(nestingOf(value) <= MAX_DEPTH, `a value nested ${nestingOf(value)} deep was accepted (bound ${MAX_DEPTH})`);
  const again = bencodeValue(value);
  if (!input.mutated) expect(bytesEqual(again, bytes), 'encode(decode(x)) differs from a valid x');
  else {
    // Only the order of dictionary keys may differ from the input.
    expect(again.length === bytes.length, () => `re-encoding gave ${again.length} bytes, the input has ${bytes.length}`);
    expect(bytesEqual(bencodeValue(bdecode(again)), again), 'the re-encoded value does not decode back to itself');
  }
  // The value ends where it ends, whatever follows it.
  const withTrailer = concatBytes([bytes, input.trailer]);
  const prefix = typedOutcome(() => bdecodePrefix(withTrailer), [BdecodeError], 'bdecodePrefix');
  expect('value' in prefix, () => `bdecodePrefix refused a valid value followed by bytes: ${'error' in prefix ? prefix.error.message : ''}`);
  expect(prefix.value.end === bytes.length, `bdecodePrefix says the value ends at ${prefix.value.end}, it ends at ${bytes.length}`);
  if (input.trailer.length > 0) {
    const whole = typedOutcome(() => bdecode(withTrailer), [BdecodeError], 'bdecode');
    expect('error' in whole, 'bdecode accepted trailing bytes after a value');
  }
}
