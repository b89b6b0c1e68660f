// The wire decoder (engine/wire.ts). Input: a stream of real messages (optionally after a
// handshake), encoded, maybe mutated, cut at random points. Properties: the decoder gives
// messages or a WireError, never another throw; pushing the stream in pieces gives exactly what one
// push gives (same items, same error, same bytes left over); every decoded message re-encodes to
// the bytes it came from; a valid stream decodes to the messages that were encoded; the buffered
// bytes stay under the documented bound; a broken decoder keeps throwing the same error.

import * as fc from 'fast-check';
import { type DecodedItem, encodeHandshake, encodeMessageBytes, HANDSHAKE_LENGTH, type Message, WireDecoder, WireError } from '../../engine/wire.ts';
import { ascii, mutatedBytes } from '../mutate.ts';
import { bytesEqual, concatBytes } from '../../engine/bytes.ts';
import { escaped, expect, type FuzzTarget } from '../target.ts';

const u32 = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0xffff_ffff, 0x7fff_ffff, 0x8000_0000), fc.nat({ max: 0xffff_ffff }));
const smallBytes = (max: number) => fc.uint8Array({ maxLength: max });

export const messageArbitrary: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>({ type: 'keep-alive' }, { type: 'choke' }, { type: 'unchoke' }, { type: 'interested' }, { type: 'not-interested' }, { type: 'have-all' }, { type: 'have-none' }),
  fc.record({ type: fc.constantFrom('have' as const, 'suggest' as const, 'allowed-fast' as const), index: u32 }),
  fc.record({ type: fc.constantFrom('request' as const, 'cancel' as const, 'reject' as const), index: u32, begin: u32, length: u32 }),
  fc.record({ type: fc.constant('piece' as const), index: u32, begin: u32, block: smallBytes(300) }),
  fc.record({ type: fc.constant('bitfield' as const), bits: smallBytes(40) }),
  fc.record({ type: fc.constant('port' as const), port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ type: fc.constant('extended' as const), id: fc.integer({ min: 0, max: 255 }), payload: smallBytes(80) }),
);

export interface WireInput {
  bytes: Uint8Array;
  /** The messages the bytes encode, when they were not mutated. */
  expected?: Message[];
  handshake: boolean;
  /** Cut points, as offsets taken modulo the stream length. */
  cuts: number[];
  maxMessageLength: number;
}

const handshakeBytes = fc.record({ infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }), peerId: fc.uint8Array({ minLength: 20, maxLength: 20 }), reserved: fc.uint8Array({ minLength: 8, maxLength: 8 }) }).map(encodeHandshake);

const stream = fc.record({ handshake: fc.boolean(), hs: handshakeBytes, messages: fc.array(messageArbitrary, { maxLength: 12 }) });

const TOKENS = [ascii('\x00\x00\x00\x00'), ascii('\xff\xff\xff\xff'), ascii('\x00\x00\x00\x01'), ascii('\x00\x10\x00\x01'), new Uint8Array([0, 0, 0, 13, 6]), new Uint8Array([0, 0, 0, 1, 99])];

export const wireTarget: FuzzTarget<WireInput> = {
  name: 'wire',
  description: 'engine/wire.ts WireDecoder: split pushes = one push, typed errors, re-encoding, bounded buffer',
  ciRuns: 400,
  slowMs: 200,
  arbitrary: fc
    .record({
      stream,
      cuts: fc.array(fc.nat({ max: 100_000 }), { maxLength: 10 }),
      maxMessageLength: fc.oneof(fc.constant(1_048_576), fc.integer({ min: 0, max: 400 })),
    })
    .chain(({ stream: s, cuts, maxMessageLength }) => {
      const valid = concatBytes([...(s.handshake ? [s.hs] : []), ...s.messages.map(encodeMessageBytes)]);
      return mutatedBytes(fc.constant(valid), TOKENS).map(({ bytes, mutated }) => ({
        bytes,
        ...(mutated ? {} : { expected: s.messages }),
        handshake: s.handshake,
        cuts,
        maxMessageLength,
      }));
    }),
  check: checkWire,
};

type Outcome = { items: DecodedItem[]; buffered: number; error?: WireError };

function decode(input: WireInput, chunks: Uint8Array[]): Outcome {
  const decoder = new WireDecoder({ expectHandshake: input.handshake, maxMessageLength: input.maxMessageLength });
  const items: DecodedItem[] = [];
  const bound = Math.max(HANDSHAKE_LENGTH, 4 + input.maxMessageLength);
  for (const chunk of chunks) {
    try {
      items.push(...decoder.push(chunk));
    } catch (error) {
      if (!(error instanceof WireError)) throw escaped(error, 'WireDecoder.push');
      // A broken decoder stays broken, with the same error.
      let again: unknown;
      try {
        decoder.push(new Uint8Array([0]));
      } catch (e) {
        again = e;
      }
      expect(again === error, 'a push after a WireError did not throw the same error');
      return { items, buffered: decoder.bufferedBytes, error };
    }
    expect(decoder.bufferedBytes < bound, () => `bufferedBytes ${decoder.bufferedBytes} is not below the bound ${bound}`);
  }
  return { items, buffered: decoder.bufferedBytes };
}

/** The same fault: messages equal but for the quoted bytes seen so far (a handshake's prefix). */
function sameFault(a: WireError, b: WireError): boolean {
  const unquoted = (e: WireError) => e.message.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return a.messageType === b.messageType && unquoted(a) === unquoted(b);
}

function encodeItem(item: DecodedItem): Uint8Array {
  return item.kind === 'handshake' ? encodeHandshake(item.handshake) : encodeMessageBytes(item.message);
}

function checkWire(input: WireInput): void {
  const { bytes } = input;
  const whole = decode(input, [bytes]);
  const cuts = [...new Set(input.cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  const split = decode(input, chunks);

  if (whole.error) {
    expect(split.error !== undefined, `one push failed with "${whole.error.message}" but the split pushes did not fail`);
    expect(sameFault(split.error, whole.error), () => `one push failed with "${whole.error!.message}", the split pushes with "${split.error!.message}"`);
    // The split pushes may hand out the messages before the fault; each must re-encode to the stream's start.
    const prefix = concatBytes(split.items.map(encodeItem));
    expect(bytesEqual(prefix, bytes.subarray(0, prefix.length)), 'messages handed out before the error do not re-encode to the start of the stream');
    return;
  }
  expect(split.error === undefined, () => `the split pushes failed with "${split.error!.message}" but one push did not`);
  expect(split.items.length === whole.items.length, () => `one push gave ${whole.items.length} items, split pushes ${split.items.length}`);
  expect(split.buffered === whole.buffered, () => `one push left ${whole.buffered} bytes buffered, split pushes ${split.buffered}`);
  const reencoded = concatBytes(whole.items.map(encodeItem));
  expect(reencoded.length + whole.buffered === bytes.length, () => `decoded items re-encode to ${reencoded.length} bytes + ${whole.buffered} buffered, of ${bytes.length} pushed`);
  expect(bytesEqual(reencoded, bytes.subarray(0, reencoded.length)), 'decoded items do not re-encode to the bytes they came from');
  expect(bytesEqual(concatBytes(split.items.map(encodeItem)), reencoded), 'split pushes decoded other items than one push');

  if (input.expected) {
    const messages = whole.items.filter((i) => i.kind === 'message');
    expect(whole.buffered === 0, `a valid stream left ${whole.buffered} bytes buffered`);
    expect(messages.length === input.expected.length, () => `a valid stream of ${input.expected!.length} messages decoded to ${messages.length}`);
  }
}
