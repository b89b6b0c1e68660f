// The wire checker (sim/wire-checker.ts), pure: byte streams built with engine/wire.ts's encoders,
// fed to one ConnectionChecker with the times and deliveries each case needs. Each rule fires on a
// bad stream and stays quiet on the same stream made correct.

import { describe, expect, it } from 'vitest';
import { encodeExtHandshake } from '../engine/metadata.ts';
import { reservedBytes } from '../engine/reserved-bits.ts';
import { BLOCK_SIZE, encodeHandshake, encodeMessageBytes, type Message } from '../engine/wire.ts';
import { ConnectionChecker, type Side, WIRE_CHECKER_LIMITS, WIRE_RULES, type WireCheckerOptions, type WireRule, type WireViolation } from '../sim/wire-checker.ts';

const PIECE_LENGTH = 2 * BLOCK_SIZE;
const PIECES = 10;
const LENGTH = PIECES * PIECE_LENGTH - 1000; // the last piece is short
const payload = Uint8Array.from({ length: LENGTH }, (_, i) => (i * 31 + 7) & 0xff);
const infoHash = new Uint8Array(20).fill(9);
const torrent = { pieceCount: PIECES, pieceLength: PIECE_LENGTH, length: LENGTH, infoHash };

interface Options {
  grace?: number;
  /** Both handshakes offer BEP 6 and BEP 10. */
  extensions?: boolean;
  /** Send the handshakes (default true). */
  handshakes?: boolean;
}

/** One connection between A and B, each side's stream counted so deliveries can be told. */
function connection(o: Options = {}) {
  const found: WireViolation[] = [];
  const counted: string[] = [];
  const options: WireCheckerOptions = { torrent, payload, chokeGrace: o.grace ?? 0, counted: (peer, rule) => counted.push(`${peer} ${rule}`) };
  const checker = new ConnectionChecker(options, 'A', 'B', (v) => found.push(v));
  const sent = { a: 0, b: 0 };
  const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');
  const c = {
    found,
    counted,
    rules: () => found.map((v) => `${v.peer} ${v.rule}`),
    raw(side: Side, bytes: Uint8Array, t = 0) {
      checker.sent(side, bytes, t);
      sent[side] += bytes.length;
    },
    send(side: Side, m: Message, t = 0) {
      c.raw(side, encodeMessageBytes(m), t);
    },
    /** Everything `from` sent so far reaches the other side. */
    deliver(from: Side, t = 0) {
      checker.delivered(other(from), sent[from], t);
    },
    /** Sent and delivered at once. */
    say(side: Side, m: Message, t = 0) {
      c.send(side, m, t);
      c.deliver(side, t);
    },
  };
  if (o.handshakes !== false) {
    const reserved = reservedBytes({ fast: o.extensions ?? false, extensionProtocol: o.extensions ?? false });
    for (const side of ['a', 'b'] as const) {
      c.raw(side, encodeHandshake({ infoHash, peerId: new Uint8Array(20).fill(side === 'a' ? 1 : 2), reserved }));
      c.deliver(side);
    }
  }
  return c;
}

const request = (index: number, begin: number, length = BLOCK_SIZE): Message => ({ type: 'request', index, begin, length });
const cancel = (index: number, begin: number, length = BLOCK_SIZE): Message => ({ type: 'cancel', index, begin, length });
const piece = (index: number, begin: number, length = BLOCK_SIZE): Message => {
  const at = index * PIECE_LENGTH + begin;
  return { type: 'piece', index, begin, block: payload.slice(at, at + length) };
};

describe('the rule table', () => {
  it('gives every rule a one-line meaning', () => {
    for (const [rule, meaning] of Object.entries(WIRE_RULES)) {
      expect(meaning.length, rule).toBeGreaterThan(20);
      expect(meaning, rule).not.toContain('\n');
    }
  });
});

describe('request-while-choked', () => {
  it('fires on a REQUEST before the UNCHOKE reached the requester, and not after', () => {
    const bad = connection();
    bad.send('b', { type: 'unchoke' }); // written, not yet delivered to A
    bad.send('a', request(0, 0), 5);
    expect(bad.rules()).toEqual(['A request-while-choked']);
    expect(bad.found[0].message).toBe('REQUEST 0:0+16384 while B chokes it (never unchoked it)');
    expect(bad.found[0].bytes).toBe('0000000d06000000000000000000004000');

    const good = connection();
    good.say('b', { type: 'unchoke' });
    good.send('a', request(0, 0), 5);
    expect(good.rules()).toEqual([]);
  });

  it('judges by the last CHOKE delivered, and allows a REQUEST inside the grace after it', () => {
    const c = connection({ grace: 1000 });
    c.say('b', { type: 'unchoke' }, 0);
    c.say('b', { type: 'choke' }, 100);
    c.send('a', request(0, 0), 900); // 0.8 s after the CHOKE reached A: its socket may not be read yet
    expect(c.rules()).toEqual([]);
    c.send('a', request(0, BLOCK_SIZE), 1300);
    expect(c.rules()).toEqual(['A request-while-choked']);
    expect(c.found[0].message).toBe('REQUEST 0:16384+16384 while B chokes it (choked 1.2 s ago)');

    const memory = connection({ grace: 0 });
    memory.say('b', { type: 'unchoke' }, 0);
    memory.say('b', { type: 'choke' }, 100);
    memory.send('a', request(0, 0), 100);
    expect(memory.rules()).toEqual(['A request-while-choked']);
  });

  it('exempts the pieces the other side allowed fast (BEP 6)', () => {
    const c = connection({ extensions: true });
    c.say('b', { type: 'have-all' });
    c.say('b', { type: 'allowed-fast', index: 3 });
    c.send('a', request(3, 0));
    expect(c.rules()).toEqual([]);
    c.send('a', request(4, 0));
    expect(c.rules()).toEqual(['A request-while-choked']);
  });
});

describe('unrequested-piece and piece-length', () => {
  it('fires on a PIECE nobody requested, and not on one requested', () => {
    const bad = connection();
    bad.say('b', { type: 'unchoke' });
    bad.send('b', piece(2, 0));
    expect(bad.rules()).toEqual(['B unrequested-piece']);
    expect(bad.found[0].message).toBe('PIECE 2:0+16384, which A never requested');

    const good = connection();
    good.say('b', { type: 'unchoke' });
    good.say('a', request(2, 0));
    good.send('b', piece(2, 0));
    expect(good.rules()).toEqual([]);
    // Answered once: a second copy is not asked for.
    good.send('b', piece(2, 0));
    expect(good.rules()).toEqual(['B unrequested-piece']);
  });

  it('lets a PIECE cross a CANCEL (BEP 3)', () => {
    const c = connection();
    c.say('b', { type: 'unchoke' });
    c.say('a', request(1, 0));
    c.send('a', cancel(1, 0)); // on its way while B answers
    c.send('b', piece(1, 0));
    expect(c.rules()).toEqual([]);
  });

  it("fires on a PIECE for a request the sender's own CHOKE discarded (no BEP 6), unless within the grace", () => {
    for (const [grace, expected] of [
      [0, ['B unrequested-piece']],
      [1000, []],
    ] as const) {
      const c = connection({ grace });
      c.say('b', { type: 'unchoke' }, 0);
      c.say('a', request(1, 0), 10);
      c.send('b', { type: 'choke' }, 20);
      c.send('b', piece(1, 0), 500);
      expect(c.rules(), `grace ${grace}`).toEqual(expected);
    }
  });

  it('serves both copies of a block asked again after a CHOKE, when the first copy arrives after the UNCHOKE', () => {
    // A partition holds B's CHOKE and UNCHOKE and A's first REQUEST; A asks again after the CHOKE.
    const c = connection();
    c.say('b', { type: 'unchoke' }, 0);
    c.send('b', { type: 'choke' }, 10);
    c.send('b', { type: 'unchoke' }, 20);
    c.send('a', request(1, 0), 30); // A does not know of the CHOKE yet
    c.deliver('b', 40); // CHOKE and UNCHOKE reach A: its request is discarded, as far as A knows
    c.send('a', request(1, 0), 41);
    c.deliver('a', 50); // both copies reach B, which unchokes A: it may serve both
    c.send('b', piece(1, 0), 60);
    c.send('b', piece(1, 0), 61);
    expect(c.rules()).toEqual([]);
  });

  it('fires piece-length on a PIECE of another length than requested', () => {
    const bad = connection();
    bad.say('b', { type: 'unchoke' });
    bad.say('a', request(0, 0, 1000));
    bad.send('b', piece(0, 0, 2000));
    expect(bad.rules()).toEqual(['B piece-length']);
    expect(bad.found[0].message).toBe('PIECE 0:0+2000; A requested 0:0+1000');

    const good = connection();
    good.say('b', { type: 'unchoke' });
    good.say('a', request(0, 0, 1000));
    good.send('b', piece(0, 0, 1000));
    expect(good.rules()).toEqual([]);
  });
});

describe('bitfields and ranges', () => {
  const full = new Uint8Array([0xff, 0xc0]); // 10 pieces

  it('fires late-bitfield on a BITFIELD after INTERESTED, not after BEP 10 extended and PORT', () => {
    const bad = connection();
    bad.send('b', { type: 'interested' });
    bad.send('b', { type: 'bitfield', bits: full });
    expect(bad.rules()).toEqual(['B late-bitfield']);

    const good = connection({ extensions: true });
    good.send('b', { type: 'extended', id: 0, payload: encodeExtHandshake({ reqq: 10 }) });
    good.send('b', { type: 'port', port: 6881 });
    good.send('b', { type: 'keep-alive' });
    good.send('b', { type: 'bitfield', bits: full });
    expect(good.rules()).toEqual([]);
  });

  it('fires malformed-bitfield on a wrong size or spare bits set', () => {
    const c = connection();
    c.send('b', { type: 'bitfield', bits: new Uint8Array(3) });
    expect(c.rules()).toEqual(['B malformed-bitfield']);
    expect(c.found[0].message).toBe('BITFIELD of 3 bytes; 10 pieces take 2');
    const spare = connection();
    spare.send('b', { type: 'bitfield', bits: new Uint8Array([0xff, 0xe0]) });
    expect(spare.rules()).toEqual(['B malformed-bitfield']);
    const good = connection();
    good.send('b', { type: 'bitfield', bits: full });
    expect(good.rules()).toEqual([]);
  });

  it('fires have-out-of-range on a HAVE past the last piece', () => {
    const c = connection();
    c.send('b', { type: 'have', index: 9 });
    expect(c.rules()).toEqual([]);
    c.send('b', { type: 'have', index: 10 });
    expect(c.rules()).toEqual(['B have-out-of-range']);
  });

  it('fires request-out-of-range past the last piece, past its piece, of length 0 or over 128 KiB', () => {
    const c = connection();
    c.say('b', { type: 'unchoke' });
    const lastSize = LENGTH - 9 * PIECE_LENGTH;
    c.send('a', request(9, lastSize - 100, 100)); // the last bytes of the short last piece: fine
    expect(c.rules()).toEqual([]);
    c.send('a', request(10, 0));
    c.send('a', request(9, lastSize - 100, 101));
    c.send('a', request(0, 0, 0));
    c.send('a', request(0, 0, 128 * 1024 + 1));
    expect(c.rules()).toEqual(Array(4).fill('A request-out-of-range'));
  });
});

describe('too-many-requests', () => {
  /** B allows A two outstanding requests. */
  function limited() {
    const c = connection({ extensions: true });
    c.say('b', { type: 'extended', id: 0, payload: encodeExtHandshake({ reqq: 2 }) });
    c.say('b', { type: 'unchoke' });
    return c;
  }

  it("fires on more outstanding requests than the other side's reqq", () => {
    const c = limited();
    c.send('a', request(0, 0));
    c.send('a', request(0, BLOCK_SIZE));
    c.send('a', request(1, 0));
    expect(c.rules()).toEqual(['A too-many-requests']);
    expect(c.found[0].message).toBe("REQUEST 1:0+16384 makes 3 outstanding; B's BEP 10 handshake allows 2 (reqq)");
  });

  it('stays quiet when answers, rejects and cancels keep them within it', () => {
    const c = limited();
    c.say('a', request(0, 0));
    c.say('a', request(0, BLOCK_SIZE));
    c.say('b', piece(0, 0));
    c.send('a', request(1, 0));
    c.say('b', { type: 'reject', index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE });
    c.send('a', cancel(1, 0));
    c.send('a', request(2, 0));
    c.send('a', request(3, 0));
    expect(c.rules()).toEqual([]);
  });

  it('counts none after a CHOKE reached the requester without BEP 6', () => {
    const c = connection(); // no BEP 6: a choke clears the queue
    // No BEP 10 either, so no reqq: the count is what it would be judged by.
    c.say('b', { type: 'unchoke' });
    c.say('a', request(0, 0));
    c.say('b', { type: 'choke' });
    c.say('b', { type: 'unchoke' });
    c.say('a', request(0, BLOCK_SIZE));
    c.say('b', piece(0, BLOCK_SIZE));
    expect(c.rules()).toEqual([]);
  });
});

describe('bad-data', () => {
  it('fires on a block that differs from the payload, and not on the real one', () => {
    const c = connection();
    c.say('b', { type: 'unchoke' });
    c.say('a', request(3, 0));
    const m = piece(3, 0) as Extract<Message, { type: 'piece' }>;
    m.block[100] ^= 1;
    c.send('b', m);
    expect(c.rules()).toEqual(['B bad-data']);
    expect(c.found[0].message).toBe(`PIECE 3:0+16384: the block differs from the payload at byte ${3 * PIECE_LENGTH + 100} of the torrent`);

    const good = connection();
    good.say('b', { type: 'unchoke' });
    good.say('a', request(3, 0));
    good.send('b', piece(3, 0));
    expect(good.rules()).toEqual([]);
  });

  it('accepts a view of the payload itself', () => {
    const c = connection();
    c.say('b', { type: 'unchoke' });
    c.say('a', request(1, 0));
    c.send('b', { type: 'piece', index: 1, begin: 0, block: payload.subarray(PIECE_LENGTH, PIECE_LENGTH + BLOCK_SIZE) });
    expect(c.rules()).toEqual([]);
  });
});

describe('unnegotiated-message', () => {
  it('fires on BEP 6 and BEP 10 messages the handshakes did not both offer', () => {
    const bad = connection();
    bad.send('b', { type: 'have-all' });
    bad.send('b', { type: 'extended', id: 0, payload: encodeExtHandshake({}) });
    expect(bad.rules()).toEqual(['B unnegotiated-message', 'B unnegotiated-message']);
    const good = connection({ extensions: true });
    good.send('b', { type: 'have-all' });
    good.send('b', { type: 'extended', id: 0, payload: encodeExtHandshake({}) });
    expect(good.rules()).toEqual([]);
  });
});

describe('malformed and bad-handshake', () => {
  it('reports bytes that do not decode, with the message, and checks that direction no further', () => {
    const c = connection();
    const unknownId = new Uint8Array([0, 0, 0, 2, 99, 0]);
    c.raw('b', unknownId);
    c.send('b', { type: 'have', index: 1000 });
    expect(c.rules()).toEqual(['B malformed']);
    expect(c.found[0].message).toBe('unknown message id 99 (length 2) (at byte 68 of its stream); not checked further');
    expect(c.found[0].bytes).toBe('000000026300');
    // The other direction is still checked.
    c.send('a', { type: 'have', index: 1000 });
    expect(c.rules()).toEqual(['B malformed', 'A have-out-of-range']);
  });

  it('checks the messages before the bad one in the same chunk, and shows a head cut across chunks', () => {
    const c = connection();
    const good = encodeMessageBytes({ type: 'have', index: 10 });
    const bad = new Uint8Array([0, 0, 0, 4, 4, 0, 0, 1]); // a HAVE of 3 bytes
    const chunk = new Uint8Array([...good, ...bad.subarray(0, 2)]);
    c.raw('b', chunk);
    c.raw('b', bad.subarray(2));
    expect(c.rules()).toEqual(['B have-out-of-range', 'B malformed']);
    expect(c.found[1].message).toBe('have: payload is 3 bytes, expected 4 (at byte 77 of its stream); not checked further');
    expect(c.found[1].bytes).toBe('0000000404000001');
  });

  it('fires bad-handshake on another info-hash or protocol string', () => {
    const wrongHash = connection({ handshakes: false });
    wrongHash.raw('a', encodeHandshake({ infoHash: new Uint8Array(20).fill(1), peerId: new Uint8Array(20), reserved: new Uint8Array(8) }));
    expect(wrongHash.rules()).toEqual(['A bad-handshake']);
    const wrongProtocol = connection({ handshakes: false });
    wrongProtocol.raw('a', new TextEncoder().encode('\x13BitTorrent protocoX'));
    expect(wrongProtocol.rules()).toEqual(['A bad-handshake']);
    const good = connection({ handshakes: false });
    good.raw('a', encodeHandshake({ infoHash, peerId: new Uint8Array(20), reserved: new Uint8Array(8) }));
    expect(good.rules()).toEqual([]);
  });
});

describe('streams cut anywhere', () => {
  it('gives the same violations fed byte by byte as in one chunk', () => {
    const stream = (feed: (c: ReturnType<typeof connection>, bytes: Uint8Array) => void) => {
      const c = connection({ handshakes: false });
      const bytes = new Uint8Array([
        ...encodeHandshake({ infoHash, peerId: new Uint8Array(20), reserved: new Uint8Array(8) }),
        ...encodeMessageBytes({ type: 'interested' }),
        ...encodeMessageBytes({ type: 'bitfield', bits: new Uint8Array(2) }),
        ...encodeMessageBytes(request(20, 0)),
        ...encodeMessageBytes({ type: 'have', index: 11 }),
        0, 0, 0, 9, 200, 1, 2, 3, 4, 5, 6, 7, 8,
      ]);
      feed(c, bytes);
      return c.found;
    };
    const whole = stream((c, bytes) => c.raw('b', bytes));
    const split = stream((c, bytes) => bytes.forEach((_, i) => c.raw('b', bytes.subarray(i, i + 1))));
    expect(whole.map((v) => v.rule)).toEqual(['late-bitfield', 'request-out-of-range', 'have-out-of-range', 'malformed']);
    expect(split.map((v) => [v.rule, v.message])).toEqual(whole.map((v) => [v.rule, v.message]));
    // The malformed message is shown as far as it had arrived: byte by byte, up to its id.
    expect(whole[3].bytes).toBe('00000009c80102030405060708');
    expect(split[3].bytes).toBe('00000009c8');
  });
});

describe('bounds', () => {
  it(`reports at most ${WIRE_CHECKER_LIMITS.maxReportsPerConnection} violations per connection and counts them all`, () => {
    const c = connection();
    for (let i = 0; i < 50; i++) c.send('a', { type: 'have', index: 100 + i });
    expect(c.found).toHaveLength(WIRE_CHECKER_LIMITS.maxReportsPerConnection);
    expect(c.counted).toHaveLength(50);
    expect(new Set(c.counted)).toEqual(new Set<string>(['A have-out-of-range' satisfies `A ${WireRule}`]));
  });

  it('tracks at most maxTrackedRequests requests per direction, and then stops judging PIECEs to it', () => {
    const c = connection({ extensions: true });
    c.say('b', { type: 'unchoke' });
    const pieceLength = PIECE_LENGTH;
    let n = 0;
    // Requests of 1 byte each: enough distinct blocks in the torrent.
    for (let index = 0; index < PIECES - 1 && n <= WIRE_CHECKER_LIMITS.maxTrackedRequests; index++) {
      for (let begin = 0; begin < pieceLength && n <= WIRE_CHECKER_LIMITS.maxTrackedRequests; begin += 8, n++) c.send('a', request(index, begin, 1));
    }
    c.deliver('a');
    expect(c.rules()).toEqual([]);
    // A PIECE for the request not tracked is not judged.
    c.send('b', piece(0, 0, 1));
    c.send('b', piece(8, 8001, 1));
    expect(c.rules()).toEqual([]);
  });
});
