import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIZE,
  DEFAULT_MAX_MESSAGE_LENGTH,
  HANDSHAKE_LENGTH,
  PROTOCOL,
  WireDecoder,
  WireError,
  encodeHandshake,
  encodeMessage,
  encodeMessageBytes,
  type DecodedItem,
  type Handshake,
  type Message,
} from '../engine/wire.ts';

function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 31) & 0xff;
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A raw frame: length prefix, id, payload — for building messages the encoder refuses to. */
function rawFrame(id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, 1 + payload.length);
  out[4] = id;
  out.set(payload, 5);
  return out;
}

function lengthPrefix(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

/** Deterministic pseudo-random integers (tests stay reproducible). */
function lcg(seed: number): (bound: number) => number {
  let state = seed >>> 0;
  return (bound) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % bound;
  };
}

function thrown(fn: () => unknown): WireError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return error as WireError;
  }
  throw new Error('expected a WireError');
}

const handshake: Handshake = {
  reserved: Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0x04),
  infoHash: bytesOf(20, 1),
  peerId: bytesOf(20, 2),
};

/** One of every message type, with field values that exercise all 32 bits. */
const everyMessage: Message[] = [
  { type: 'keep-alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'have', index: 0xdead_beef },
  { type: 'bitfield', bits: Uint8Array.of(0xff, 0x80, 0x01) },
  { type: 'request', index: 7, begin: BLOCK_SIZE * 3, length: BLOCK_SIZE },
  { type: 'piece', index: 0xffff_ffff, begin: 16384, block: bytesOf(100, 3) },
  { type: 'cancel', index: 1, begin: 2, length: 3 },
  { type: 'port', port: 65535 },
  { type: 'suggest', index: 42 },
  { type: 'have-all' },
  { type: 'have-none' },
  { type: 'reject', index: 9, begin: 0, length: 1 },
  { type: 'allowed-fast', index: 123456 },
  { type: 'extended', id: 0, payload: new TextEncoder().encode('d1:md11:ut_metadatai1eee') },
  { type: 'extended', id: 3, payload: new Uint8Array(0) },
];

const stream = concat([encodeHandshake(handshake), ...everyMessage.map(encodeMessageBytes)]);
const expectedItems: DecodedItem[] = [
  { kind: 'handshake', handshake },
  ...everyMessage.map((message): DecodedItem => ({ kind: 'message', message })),
];

function decodeInPieces(bytes: Uint8Array, cuts: number[], options?: ConstructorParameters<typeof WireDecoder>[0]) {
  const decoder = new WireDecoder(options);
  const items: DecodedItem[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    items.push(...decoder.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return { items, decoder };
}

describe('encoding', () => {
  it('encodes the handshake as pstrlen, pstr, reserved, info hash, peer id', () => {
    const bytes = encodeHandshake(handshake);
    expect(bytes.length).toBe(HANDSHAKE_LENGTH);
    expect(bytes[0]).toBe(19);
    expect(new TextDecoder().decode(bytes.subarray(1, 20))).toBe(PROTOCOL);
    expect(bytes.subarray(20, 28)).toEqual(handshake.reserved);
    expect(bytes.subarray(28, 48)).toEqual(handshake.infoHash);
    expect(bytes.subarray(48, 68)).toEqual(handshake.peerId);
  });

  it('rejects handshake fields of the wrong size', () => {
    expect(thrown(() => encodeHandshake({ ...handshake, infoHash: new Uint8Array(19) })).message).toBe(
      'handshake: info hash is 19 bytes, expected 20',
    );
    thrown(() => encodeHandshake({ ...handshake, peerId: new Uint8Array(21) }));
    thrown(() => encodeHandshake({ ...handshake, reserved: new Uint8Array(0) }));
  });

  it('encodes known messages byte for byte', () => {
    expect(encodeMessageBytes({ type: 'keep-alive' })).toEqual(Uint8Array.of(0, 0, 0, 0));
    expect(encodeMessageBytes({ type: 'interested' })).toEqual(Uint8Array.of(0, 0, 0, 1, 2));
    expect(encodeMessageBytes({ type: 'have', index: 0x01020304 })).toEqual(Uint8Array.of(0, 0, 0, 5, 4, 1, 2, 3, 4));
    expect(encodeMessageBytes({ type: 'port', port: 6881 })).toEqual(Uint8Array.of(0, 0, 0, 3, 9, 0x1a, 0xe1));
    expect(encodeMessageBytes({ type: 'have-all' })).toEqual(Uint8Array.of(0, 0, 0, 1, 0x0e));
    expect(encodeMessageBytes({ type: 'extended', id: 2, payload: Uint8Array.of(7) })).toEqual(
      Uint8Array.of(0, 0, 0, 3, 20, 2, 7),
    );
    expect(encodeMessageBytes({ type: 'request', index: 1, begin: 0x4000, length: 0x4000 })).toEqual(
      Uint8Array.of(0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0),
    );
  });

  it('encodes a piece as [13-byte header, the block itself] without copying', () => {
    const block = bytesOf(BLOCK_SIZE, 5);
    const parts = encodeMessage({ type: 'piece', index: 2, begin: 0x4000, block });
    expect(Array.isArray(parts)).toBe(true);
    const [header, body] = parts as Uint8Array[];
    expect(header).toEqual(Uint8Array.of(0, 0, 0x40, 0x09, 7, 0, 0, 0, 2, 0, 0, 0x40, 0));
    expect(body).toBe(block);
    expect(encodeMessageBytes({ type: 'piece', index: 2, begin: 0x4000, block })).toEqual(concat([header, block]));
  });

  it('returns a single array for every other message', () => {
    for (const m of everyMessage) {
      if (m.type !== 'piece') expect(encodeMessage(m)).toBeInstanceOf(Uint8Array);
    }
  });

  it('rejects field values that do not fit their wire width', () => {
    expect(thrown(() => encodeMessage({ type: 'have', index: -1 })).message).toBe(
      'have: index -1 is not an integer in [0, 4294967295]',
    );
    thrown(() => encodeMessage({ type: 'have', index: 2 ** 32 }));
    thrown(() => encodeMessage({ type: 'request', index: 0, begin: 1.5, length: 1 }));
    thrown(() => encodeMessage({ type: 'piece', index: NaN, begin: 0, block: new Uint8Array(1) }));
    thrown(() => encodeMessage({ type: 'port', port: 65536 }));
    expect(thrown(() => encodeMessage({ type: 'extended', id: 256, payload: new Uint8Array(0) })).messageType).toBe(
      'extended',
    );
  });
});

describe('decoding', () => {
  it('round-trips every message type', () => {
    for (const message of everyMessage) {
      const decoder = new WireDecoder({ expectHandshake: false });
      expect(decoder.push(encodeMessageBytes(message))).toEqual([{ kind: 'message', message }]);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('round-trips a piece written as [header, block]', () => {
    const message: Message = { type: 'piece', index: 5, begin: 0, block: bytesOf(BLOCK_SIZE, 9) };
    const decoder = new WireDecoder({ expectHandshake: false });
    const items = (encodeMessage(message) as Uint8Array[]).flatMap((chunk) => decoder.push(chunk));
    expect(items).toEqual([{ kind: 'message', message }]);
  });

  it('decodes the handshake and every message from one push', () => {
    expect(decodeInPieces(stream, []).items).toEqual(expectedItems);
  });

  it('gives the same result when the stream is split into two pushes at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { items, decoder } = decodeInPieces(stream, [cut]);
      expect(items, `split at ${cut}`).toEqual(expectedItems);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('gives the same result when fed one byte at a time', () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(decodeInPieces(stream, cuts).items).toEqual(expectedItems);
  });

  it('gives the same result for random splits, including empty pushes', () => {
    const next = lcg(12345);
    for (let round = 0; round < 200; round++) {
      const cuts: number[] = [];
      for (let at = next(20); at <= stream.length; at += next(40)) cuts.push(at);
      expect(decodeInPieces(stream, cuts).items).toEqual(expectedItems);
    }
  });

  it('skips the handshake when told not to expect one', () => {
    const bytes = concat(everyMessage.map(encodeMessageBytes));
    expect(decodeInPieces(bytes, [], { expectHandshake: false }).items).toEqual(expectedItems.slice(1));
  });

  it('returns handshake fields as copies, not views', () => {
    const bytes = encodeHandshake(handshake);
    const [item] = new WireDecoder().push(bytes);
    if (item.kind !== 'handshake') throw new Error('expected handshake');
    expect(item.handshake.peerId.buffer).not.toBe(bytes.buffer);
    expect(item.handshake.peerId.length).toBe(20);
  });

  it('accepts a piece with an empty block and a zero-length bitfield', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    expect(decoder.push(concat([rawFrame(7, new Uint8Array(8)), rawFrame(5, new Uint8Array(0))]))).toEqual([
      { kind: 'message', message: { type: 'piece', index: 0, begin: 0, block: new Uint8Array(0) } },
      { kind: 'message', message: { type: 'bitfield', bits: new Uint8Array(0) } },
    ]);
  });
});

describe('zero copy', () => {
  const header = (block: Uint8Array) =>
    (encodeMessage({ type: 'piece', index: 3, begin: 0x8000, block }) as Uint8Array[])[0];

  it('returns the block as a view of its chunk when header and block arrive as two pushes', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const block = bytesOf(BLOCK_SIZE, 4);
    expect(decoder.push(header(block))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(13);
    const [item] = decoder.push(block);
    if (item.kind !== 'message' || item.message.type !== 'piece') throw new Error('expected piece');
    expect(item.message.block.buffer).toBe(block.buffer);
    expect(item.message.block.byteOffset).toBe(block.byteOffset);
    expect(item.message.block.length).toBe(BLOCK_SIZE);
    expect(item.message).toMatchObject({ index: 3, begin: 0x8000 });
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('returns the block as a view when the whole message, among others, is one chunk', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const block = bytesOf(BLOCK_SIZE, 6);
    const chunk = concat([
      encodeMessageBytes({ type: 'unchoke' }),
      encodeMessageBytes({ type: 'piece', index: 1, begin: 0, block }),
      encodeMessageBytes({ type: 'have', index: 1 }),
    ]);
    const items = decoder.push(chunk);
    expect(items.map((i) => (i.kind === 'message' ? i.message.type : i.kind))).toEqual(['unchoke', 'piece', 'have']);
    const piece = items[1];
    if (piece.kind !== 'message' || piece.message.type !== 'piece') throw new Error('expected piece');
    expect(piece.message.block.buffer).toBe(chunk.buffer);
    expect(piece.message.block).toEqual(block);
  });

  it('returns the block as a view when the header straddles chunks but the block does not', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const block = bytesOf(BLOCK_SIZE, 8);
    const head = header(block);
    expect(decoder.push(head.subarray(0, 6))).toEqual([]);
    expect(decoder.push(head.subarray(6))).toEqual([]);
    const [item] = decoder.push(block);
    if (item.kind !== 'message' || item.message.type !== 'piece') throw new Error('expected piece');
    expect(item.message.block.buffer).toBe(block.buffer);
  });

  it('copies the block when it straddles chunks, with the right contents', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const block = bytesOf(BLOCK_SIZE, 10);
    const first = concat([header(block), block.subarray(0, 100)]);
    const second = block.slice(100);
    expect(decoder.push(first)).toEqual([]);
    const [item] = decoder.push(second);
    if (item.kind !== 'message' || item.message.type !== 'piece') throw new Error('expected piece');
    expect(item.message.block.buffer).not.toBe(first.buffer);
    expect(item.message.block.buffer).not.toBe(second.buffer);
    expect(item.message.block).toEqual(block);
  });

  it('keeps every block of a long header/block stream zero-copy', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    for (let i = 0; i < 1000; i++) {
      const block = new Uint8Array(BLOCK_SIZE);
      const items = [header(block), block].flatMap((chunk) => decoder.push(chunk));
      expect(items.length).toBe(1);
      const item = items[0];
      if (item.kind !== 'message' || item.message.type !== 'piece') throw new Error('expected piece');
      expect(item.message.block.buffer).toBe(block.buffer);
    }
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe('errors', () => {
  it('rejects a wrong protocol string length on the first byte', () => {
    const decoder = new WireDecoder();
    const error = thrown(() => decoder.push(Uint8Array.of(18)));
    expect(error.message).toMatch(/^handshake: unexpected protocol string length 18, expected 19/);
    expect(error.messageType).toBe('handshake');
  });

  it('rejects a wrong protocol string as soon as the differing byte arrives', () => {
    const bytes = encodeHandshake(handshake);
    bytes[19] = 'X'.charCodeAt(0);
    const decoder = new WireDecoder();
    expect(decoder.push(bytes.subarray(0, 19))).toEqual([]);
    const error = thrown(() => decoder.push(bytes.subarray(19, 20)));
    expect(error.message).toBe('handshake: unexpected protocol string "BitTorrent protocoX", expected "BitTorrent protocol"');
  });

  it('rejects something that is not a handshake at all (an HTTP request)', () => {
    const error = thrown(() => new WireDecoder().push(new TextEncoder().encode('GET / HTTP/1.1\r\n')));
    expect(error.message).toMatch(/^handshake: unexpected protocol string length 71/);
  });

  it('rejects an oversize length prefix before any of the body arrives', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const error = thrown(() => decoder.push(lengthPrefix(DEFAULT_MAX_MESSAGE_LENGTH + 1)));
    expect(error.message).toBe(
      `message length ${DEFAULT_MAX_MESSAGE_LENGTH + 1} exceeds the limit of ${DEFAULT_MAX_MESSAGE_LENGTH} bytes`,
    );
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects an oversize length prefix arriving a byte at a time', () => {
    const decoder = new WireDecoder({ expectHandshake: false, maxMessageLength: 100 });
    const prefix = lengthPrefix(0xffff_ffff);
    for (let i = 0; i < 3; i++) expect(decoder.push(prefix.subarray(i, i + 1))).toEqual([]);
    expect(thrown(() => decoder.push(prefix.subarray(3))).message).toBe(
      'message length 4294967295 exceeds the limit of 100 bytes',
    );
  });

  it('accepts a message exactly at the limit', () => {
    const decoder = new WireDecoder({ expectHandshake: false, maxMessageLength: 10 });
    const bits = bytesOf(9, 0);
    expect(decoder.push(encodeMessageBytes({ type: 'bitfield', bits }))).toEqual([
      { kind: 'message', message: { type: 'bitfield', bits } },
    ]);
    thrown(() => decoder.push(encodeMessageBytes({ type: 'bitfield', bits: bytesOf(10, 0) })));
  });

  const fixedSizes: [type: string, id: number, size: number][] = [
    ['choke', 0, 0],
    ['unchoke', 1, 0],
    ['interested', 2, 0],
    ['not-interested', 3, 0],
    ['have', 4, 4],
    ['request', 6, 12],
    ['cancel', 8, 12],
    ['port', 9, 2],
    ['suggest', 0x0d, 4],
    ['have-all', 0x0e, 0],
    ['have-none', 0x0f, 0],
    ['reject', 0x10, 12],
    ['allowed-fast', 0x11, 4],
  ];

  for (const [type, id, size] of fixedSizes) {
    it(`rejects a ${type} whose payload is not ${size} bytes`, () => {
      for (const wrong of [size - 1, size + 1, size + 100].filter((n) => n >= 0)) {
        const decoder = new WireDecoder({ expectHandshake: false });
        const error = thrown(() => decoder.push(rawFrame(id, new Uint8Array(wrong))));
        expect(error.message).toBe(`${type}: payload is ${wrong} bytes, expected ${size}`);
        expect(error.messageType).toBe(type);
      }
    });
  }

  it('rejects a bad payload length from the header alone, before the body arrives', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    // A 'have' claiming a 1000-byte payload: only the length prefix and id are pushed.
    expect(thrown(() => decoder.push(rawFrame(4, new Uint8Array(1000)).subarray(0, 5))).message).toBe(
      'have: payload is 1000 bytes, expected 4',
    );
  });

  it('rejects a piece shorter than its index and begin', () => {
    const error = thrown(() => new WireDecoder({ expectHandshake: false }).push(rawFrame(7, new Uint8Array(7))));
    expect(error.message).toBe('piece: payload is 7 bytes, expected at least 8');
    expect(error.messageType).toBe('piece');
  });

  it('rejects an extended message without its extended id', () => {
    const error = thrown(() => new WireDecoder({ expectHandshake: false }).push(rawFrame(20, new Uint8Array(0))));
    expect(error.message).toBe('extended: payload is 0 bytes, expected at least 1');
  });

  it('rejects an unknown message id, naming it', () => {
    const error = thrown(() => new WireDecoder({ expectHandshake: false }).push(rawFrame(42, new Uint8Array(4))));
    expect(error.message).toBe('unknown message id 42 (length 5)');
    expect(error.messageType).toBeUndefined();
  });

  it('throws the same error on every push after the first failure', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const first = thrown(() => decoder.push(concat([encodeMessageBytes({ type: 'choke' }), rawFrame(42, new Uint8Array(0))])));
    expect(thrown(() => decoder.push(encodeMessageBytes({ type: 'unchoke' })))).toBe(first);
    expect(thrown(() => decoder.push(new Uint8Array(0)))).toBe(first);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects a bad maxMessageLength option', () => {
    expect(() => new WireDecoder({ maxMessageLength: -1 })).toThrow(RangeError);
    expect(() => new WireDecoder({ maxMessageLength: 1.5 })).toThrow(RangeError);
  });
});

describe('bufferedBytes', () => {
  it('counts bytes held for an incomplete message and drops them once it completes', () => {
    const decoder = new WireDecoder({ expectHandshake: false });
    const bytes = encodeMessageBytes({ type: 'request', index: 1, begin: 2, length: 3 });
    expect(decoder.push(bytes.subarray(0, 10))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(10);
    expect(decoder.push(bytes.subarray(10))).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('stays below 4 + maxMessageLength however the stream is split', () => {
    const maxMessageLength = 200;
    const next = lcg(99);
    const messages: Message[] = [];
    for (let i = 0; i < 300; i++) {
      const candidate = everyMessage[next(everyMessage.length)];
      messages.push(candidate.type === 'piece' ? { ...candidate, block: bytesOf(next(190), i) } : candidate);
    }
    const bytes = concat(messages.map(encodeMessageBytes));
    const decoder = new WireDecoder({ expectHandshake: false, maxMessageLength });
    const decoded: Message[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + next(700);
      for (const item of decoder.push(bytes.subarray(at, at + size))) {
        if (item.kind === 'message') decoded.push(item.message);
      }
      expect(decoder.bufferedBytes).toBeLessThan(4 + maxMessageLength);
      at += size;
    }
    expect(decoded).toEqual(messages);
    expect(decoder.bufferedBytes).toBe(0);
  });
});
