// BEP 9/10 (engine/metadata.ts): the extension handshake and ut_metadata codecs, and the
// MetadataAssembler. Codec input: real messages, encoded and maybe mutated. Properties: the
// parsers give a value or an ExtensionError, never another throw; an unmutated message parses to
// what was encoded; every parsed value is within the documented bounds. Assembler input: an info
// dictionary cut into 16 KiB pieces, delivered in any order with duplicates, corrupt copies,
// wrong sizes and out-of-range indices. Property: it assembles iff every piece arrived and the
// SHA1 of the first copy of each is the info-hash, and then gives exactly those bytes; a piece
// that does not fit is an ExtensionError and changes nothing.

import * as fc from 'fast-check';
import {
  encodeExtHandshake,
  encodeMetadataMessage,
  ExtensionError,
  MAX_METADATA_SIZE,
  METADATA_PIECE_SIZE,
  MetadataAssembler,
  type MetadataMessage,
  metadataPieceCount,
  metadataPieceLength,
  parseExtHandshake,
  parseMetadataMessage,
} from '../../engine/metadata.ts';
import { sha1 } from '../../engine/metainfo.ts';
import { ascii, mutatedBytes } from '../mutate.ts';
import { bytesEqual, concatBytes } from '../../engine/bytes.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';

const TOKENS = ['i-1e', 'i0e', 'i16777217e', 'd', 'e', '8:msg_type', '5:piece', '10:total_size', '13:metadata_size', '1:m', '11:ut_metadata', 'i256e'].map(ascii);

const handshakeFields = fc.record({
  metadataSize: fc.option(fc.oneof(fc.integer({ min: 1, max: MAX_METADATA_SIZE }), fc.constantFrom(0, -1, MAX_METADATA_SIZE + 1, 2 ** 40)), { nil: undefined }),
  port: fc.option(fc.integer({ min: -1, max: 70_000 }), { nil: undefined }),
  client: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
  reqq: fc.option(fc.integer({ min: -5, max: 10_000 }), { nil: undefined }),
});

const metadataMessage: fc.Arbitrary<MetadataMessage> = fc.oneof(
  fc.record({ kind: fc.constantFrom('request' as const, 'reject' as const), piece: fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.constant(-1)) }),
  fc.record({ kind: fc.constant('data' as const), piece: fc.integer({ min: 0, max: 1100 }), totalSize: fc.oneof(fc.integer({ min: 1, max: MAX_METADATA_SIZE }), fc.constantFrom(0, MAX_METADATA_SIZE + 1)), data: fc.uint8Array({ maxLength: 64 }) }),
);

interface CodecInput {
  kind: 'codec';
  handshake: { bytes: Uint8Array; mutated: boolean; fields: Parameters<typeof encodeExtHandshake>[0] };
  message: { bytes: Uint8Array; mutated: boolean; value: MetadataMessage };
}

/** One delivery to the assembler: the piece's index as sent, and which copy of its bytes. */
interface Delivery {
  piece: number;
  /** 'good' bytes, 'corrupt' (right length, one byte changed), 'short' or 'long'. */
  copy: 'good' | 'corrupt' | 'short' | 'long';
  /** total_size as sent: the right one unless set. */
  wrongTotal: boolean;
}

interface AssemblerInput {
  kind: 'assembler';
  info: Uint8Array;
  /** The info-hash given to the assembler is the info's SHA1 unless this is set. */
  wrongHash: boolean;
  deliveries: Delivery[];
}

type MetadataInput = CodecInput | AssemblerInput;

const codecInput: fc.Arbitrary<CodecInput> = fc
  .record({ fields: handshakeFields, message: metadataMessage })
  .chain(({ fields, message }) =>
    fc.record({
      handshake: mutatedBytes(fc.constant(encodeExtHandshake(fields)), TOKENS).map((m) => ({ ...m, fields })),
      message: mutatedBytes(fc.constant(encodeMetadataMessage(message)), TOKENS).map((m) => ({ ...m, value: message })),
    }),
  )
  .map((x) => ({ kind: 'codec' as const, ...x }));

const assemblerInput: fc.Arbitrary<AssemblerInput> = fc
  .record({ size: fc.oneof(fc.integer({ min: 1, max: 3 * METADATA_PIECE_SIZE + 100 }), fc.constantFrom(METADATA_PIECE_SIZE, 2 * METADATA_PIECE_SIZE, 1)), fill: fc.integer({ min: 0, max: 255 }), wrongHash: fc.boolean() })
  .chain(({ size, fill, wrongHash }) => {
    const pieces = metadataPieceCount(size);
    const delivery = fc.record({
      piece: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: pieces - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, pieces, 2 ** 31) }),
      copy: fc.oneof({ weight: 8, arbitrary: fc.constant('good' as const) }, { weight: 1, arbitrary: fc.constantFrom('corrupt' as const, 'short' as const, 'long' as const) }),
      wrongTotal: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    });
    // Every piece once, shuffled, then extra deliveries: so completion is common, not rare.
    const all = fc.shuffledSubarray([...Array(pieces).keys()], { minLength: 0, maxLength: pieces });
    return fc.record({ base: all, extra: fc.array(delivery, { maxLength: 6 }), at: fc.nat() }).map(({ base, extra, at }) => {
      const deliveries: Delivery[] = base.map((piece) => ({ piece, copy: 'good', wrongTotal: false }));
      deliveries.splice(deliveries.length === 0 ? 0 : at % (deliveries.length + 1), 0, ...extra);
      const info = new Uint8Array(size).map((_, i) => (i * 31 + fill) & 0xff);
      return { kind: 'assembler' as const, info, wrongHash, deliveries };
    });
  });

export const metadataTarget: FuzzTarget<MetadataInput> = {
  name: 'metadata',
  description: 'engine/metadata.ts: BEP 10 handshake and BEP 9 codecs (typed errors, round trips), assembler (iff SHA1 matches)',
  ciRuns: 300,
  slowMs: 200,
  arbitrary: fc.oneof(codecInput, assemblerInput),
  check: (input) => (input.kind === 'codec' ? checkCodecs(input) : checkAssembler(input)),
};

function checkCodecs({ handshake, message }: CodecInput): void {
  const h = typedOutcome(() => parseExtHandshake(handshake.bytes), [ExtensionError], 'parseExtHandshake');
  if ('value' in h) {
    const v = h.value;
    expect(v.utMetadata === undefined || (Number.isInteger(v.utMetadata) && v.utMetadata >= 0 && v.utMetadata <= 255), `ut_metadata id ${v.utMetadata}`);
    expect(v.metadataSize === undefined || (v.metadataSize > 0 && v.metadataSize <= MAX_METADATA_SIZE), `metadata_size ${v.metadataSize} accepted`);
    expect(v.port === undefined || (v.port > 0 && v.port <= 0xffff), `port ${v.port} accepted`);
    expect(v.client === undefined || v.client.length <= 64, 'client name not bounded');
    if (!handshake.mutated) {
      const f = handshake.fields;
      expect(v.metadataSize === f.metadataSize, `metadata_size ${f.metadataSize} encoded, ${v.metadataSize} parsed`);
      expect(v.reqq === (f.reqq !== undefined && f.reqq > 0 ? f.reqq : undefined), 'reqq not parsed back');
    }
  } else if (!handshake.mutated) {
    const size = handshake.fields.metadataSize;
    expect(size !== undefined && !(size > 0 && size <= MAX_METADATA_SIZE), () => `a valid extension handshake was refused: ${h.error.message}`);
  }

  const m = typedOutcome(() => parseMetadataMessage(message.bytes), [ExtensionError], 'parseMetadataMessage');
  const parsed = 'value' in m ? m.value : undefined;
  if (parsed?.kind === 'unknown') {
    // BEP 9/10: a msg_type past 0..2 is ignored; one we encoded is never that.
    const t = parsed.msgType;
    expect(Number.isInteger(t) && (t < 0 || t > 2), `msg_type ${t} parsed as unknown`);
    expect(message.mutated, 'a ut_metadata message we encoded parsed as an unknown msg_type');
  } else if (parsed) {
    const v = parsed;
    expect(Number.isInteger(v.piece) && v.piece >= 0 && v.piece <= MAX_METADATA_SIZE / METADATA_PIECE_SIZE, `piece ${v.piece} accepted`);
    if (v.kind === 'data') expect(v.totalSize > 0 && v.totalSize <= MAX_METADATA_SIZE, `total_size ${v.totalSize} accepted`);
    if (!message.mutated) {
      expect(bytesEqual(encodeMetadataMessage(v), message.bytes), 'a parsed ut_metadata message does not re-encode to its bytes');
      expect(v.kind === message.value.kind && v.piece === message.value.piece, 'ut_metadata message parsed to another message');
    }
  } else if (!message.mutated) {
    const v = message.value;
    const bad = v.piece < 0 || v.piece > MAX_METADATA_SIZE / METADATA_PIECE_SIZE || (v.kind === 'data' && !(v.totalSize > 0 && v.totalSize <= MAX_METADATA_SIZE));
    expect(bad, () => `a valid ut_metadata message was refused: ${'error' in m ? m.error.message : '?'}`);
  }
}

function checkAssembler({ info, wrongHash, deliveries }: AssemblerInput): void {
  const infoHash = wrongHash ? sha1(concatBytes([info, ascii('x')])) : sha1(info);
  const assembler = new MetadataAssembler(info.length, infoHash);
  const firstCopy = new Map<number, Uint8Array>();
  for (const d of deliveries) {
    const inRange = d.piece >= 0 && d.piece < assembler.pieceCount;
    const want = inRange ? metadataPieceLength(info.length, d.piece) : 16;
    const good = inRange ? info.subarray(d.piece * METADATA_PIECE_SIZE, d.piece * METADATA_PIECE_SIZE + want) : new Uint8Array(want);
    const data = d.copy === 'good' ? good : d.copy === 'corrupt' ? good.map((b, i) => (i === 0 ? b ^ 1 : b)) : d.copy === 'short' ? good.subarray(0, want - 1) : concatBytes([good, new Uint8Array(1)]);
    const total = d.wrongTotal ? info.length + 1 : info.length;
    const fits = inRange && !d.wrongTotal && data.length === want;
    const missingBefore = assembler.missing().length;
    const outcome = typedOutcome(() => assembler.add(d.piece, total, data), [ExtensionError], 'MetadataAssembler.add');
    expect(('error' in outcome) === !fits, () => `piece ${d.piece} (${d.copy}, total ${total}) was ${'error' in outcome ? 'refused' : 'taken'}`);
    if (!fits) expect(assembler.missing().length === missingBefore, 'a refused piece changed what is missing');
    else if (!firstCopy.has(d.piece)) firstCopy.set(d.piece, data.slice());
  }
  const complete = firstCopy.size === assembler.pieceCount;
  expect(assembler.complete === complete, `complete is ${assembler.complete} with ${firstCopy.size} of ${assembler.pieceCount} pieces`);
  const assembled = complete ? concatBytes([...firstCopy.entries()].sort((a, b) => a[0] - b[0]).map(([, bytes]) => bytes)) : undefined;
  const matches = assembled !== undefined && bytesEqual(sha1(assembled), infoHash);
  const verified = assembler.verified();
  expect((verified !== undefined) === matches, `verified() ${verified ? 'gave bytes' : 'gave nothing'} although the SHA1 ${matches ? 'matches' : 'does not match'}`);
  if (verified) expect(bytesEqual(verified, assembled!), 'verified() gave other bytes than the pieces');
}
