// Adversaries that abuse the protocol itself: `malformed` sends messages that break the framing
// rules, `huge-length` announces a ~2 GiB message and trickles it, `request-flood` asks for far
// more than any peer may queue.

import { concatBytes } from '../../engine/bytes.ts';
import { BLOCK_SIZE, encodeMessageBytes, type Message } from '../../engine/wire.ts';
import type { Script, SessionTools } from './script.ts';

/** A raw message frame: length prefix, id, payload — whatever the payload's size. */
function frame(id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const bytes = new Uint8Array(5 + payload.length);
  new DataView(bytes.buffer).setUint32(0, 1 + payload.length);
  bytes[4] = id;
  bytes.set(payload, 5);
  return bytes;
}

export interface MalformedMessage {
  name: string;
  bytes(s: SessionTools): Uint8Array;
}

/**
 * What `malformed` sends, one per connection in this order (its n-th connection sends entry
 * n mod length): wrong payload sizes, ids nobody defined, messages of extensions never agreed,
 * and well-framed messages that break BEP 3's rules.
 */
export const MALFORMED_MESSAGES: readonly MalformedMessage[] = [
  { name: 'have with a 3-byte payload', bytes: () => frame(4, new Uint8Array(3)) },
  { name: 'request with an 11-byte payload', bytes: () => frame(6, new Uint8Array(11)) },
  { name: 'cancel with a 13-byte payload', bytes: () => frame(8, new Uint8Array(13)) },
  { name: 'choke with a payload', bytes: () => frame(0, new Uint8Array(1)) },
  { name: 'piece shorter than its header', bytes: () => frame(7, new Uint8Array(4)) },
  { name: 'port with a 3-byte payload', bytes: () => frame(9, new Uint8Array(3)) },
  { name: 'an unknown message id', bytes: (s) => frame(s.random.int(21, 255), s.random.bytes(s.random.int(0, 16))) },
  { name: 'bitfield of the wrong size', bytes: (s) => frame(5, new Uint8Array(Math.ceil(s.shape.pieceCount / 8) + 1)) },
  { name: 'have past the last piece', bytes: (s) => encodeMessageBytes({ type: 'have', index: s.shape.pieceCount }) },
  {
    name: 'bitfield after a have',
    bytes: (s) => concatBytes([encodeMessageBytes({ type: 'have', index: 0 }), encodeMessageBytes({ type: 'bitfield', bits: s.shape.fullBitfield() })]),
  },
  { name: 'have-all without the Fast extension', bytes: () => frame(0x0e) },
  { name: 'extended message without BEP 10', bytes: () => frame(20, new Uint8Array([0, 0x64, 0x65])) },
];

export const malformed: Script = {
  claimsEverything: false,
  sendsHandshake: true,
  redialDelay: 5_000,
  attach(s) {
    const bad = MALFORMED_MESSAGES[s.index % MALFORMED_MESSAGES.length];
    // A keep-alive first, so the bad message is not the connection's first bytes after the handshake.
    return { handshaken: () => s.raw(concatBytes([encodeMessageBytes({ type: 'keep-alive' }), bad.bytes(s)])) };
  },
};

/** The length prefix `huge-length` announces: 2 GiB. */
export const HUGE_LENGTH = 2 ** 31;
/** After the prefix it trickles one byte per this many ms, as if the message were on its way. */
export const TRICKLE_PERIOD = 1_000;

export const hugeLength: Script = {
  claimsEverything: false,
  sendsHandshake: true,
  redialDelay: 10_000,
  attach(s) {
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, HUGE_LENGTH);
    return {
      handshaken: () => {
        // The prefix in two halves: the receiver must judge it only once all four bytes are in.
        s.raw(prefix.slice(0, 2));
        s.after(100, () => {
          s.raw(prefix.slice(2));
          s.every(TRICKLE_PERIOD, () => s.raw(new Uint8Array([7])));
        });
      },
    };
  },
};

/** The flood: bursts of this many REQUESTs, this often, at most this many bursts a connection. */
export const FLOOD_BURST = 500;
export const FLOOD_PERIOD = 1_000;
export const FLOOD_BURSTS = 20;

type Request = Extract<Message, { type: 'request' }>;

/** A REQUEST that no peer may serve: past the last piece, empty, too long, or out of its piece. */
function invalidRequest(s: SessionTools): Request {
  const b = s.shape.randomBlock(s.random);
  const size = s.shape.pieceSize(b.index);
  const variants: Request[] = [
    { type: 'request', index: s.shape.pieceCount + b.index, begin: b.begin, length: b.length },
    { type: 'request', index: b.index, begin: b.begin, length: 0 },
    { type: 'request', index: b.index, begin: 0, length: 2 * BLOCK_SIZE },
    { type: 'request', index: b.index, begin: size, length: BLOCK_SIZE },
    { type: 'request', index: b.index, begin: size - 100, length: BLOCK_SIZE },
    { type: 'request', index: 0xffff_ffff, begin: 0xffff_ffff, length: 0xffff_ffff },
  ];
  return s.random.pick(variants);
}

/**
 * Interested, holding nothing, and asking without pause: half of each burst are real blocks, a
 * quarter repeat a block already asked, a quarter are requests no peer may serve. It floods
 * whether or not it is unchoked.
 */
export const requestFlood: Script = {
  claimsEverything: false,
  sendsHandshake: true,
  redialDelay: 10_000,
  attach(s) {
    const asked: Request[] = [];
    const next = (): Request => {
      const roll = s.random.next();
      if (roll < 0.25 && asked.length > 0) return s.random.pick(asked);
      if (roll < 0.5) return invalidRequest(s);
      const b = s.shape.randomBlock(s.random);
      const r: Request = { type: 'request', ...b };
      if (asked.length < 64) asked.push(r);
      return r;
    };
    const burst = () => s.raw(concatBytes(Array.from({ length: FLOOD_BURST }, () => encodeMessageBytes(next()))));
    return {
      handshaken: () => {
        s.send({ type: 'interested' });
        burst();
        s.every(FLOOD_PERIOD, burst, FLOOD_BURSTS - 1);
      },
    };
  },
};
