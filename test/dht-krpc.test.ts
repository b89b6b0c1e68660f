// KRPC (engine/dht/krpc.ts) and node ids (engine/dht/node-id.ts): each message round-trips, the
// wire form is BEP 5's, and every bad message is a KrpcError naming what is wrong, with the
// transaction id when one was readable.

import { describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import { COMPACT_NODE_BYTES, decodeKrpc, encodeKrpc, KrpcError, type KrpcMessage } from '../engine/dht/krpc.ts';
import { commonPrefixLength, compareDistance, randomIdWithPrefix, xorDistance } from '../engine/dht/node-id.ts';
import { SeededRandom } from '../sim/random.ts';

const id = (byte: number) => new Uint8Array(20).fill(byte);
const text = (b: Uint8Array) => new TextDecoder('latin1').decode(b);
const t = Uint8Array.of(0xaa, 0x01);

function fails(bytes: Uint8Array): KrpcError {
  try {
    decodeKrpc(bytes);
  } catch (e) {
    if (e instanceof KrpcError) return e;
    throw e;
  }
  throw new Error('decoded');
}

describe('KRPC codec', () => {
  const messages: [string, KrpcMessage][] = [
    ['ping', { t, y: 'q', query: { method: 'ping', id: id(1) } }],
    ['find_node', { t, y: 'q', query: { method: 'find_node', id: id(1), target: id(2) }, version: Uint8Array.of(0x53, 0x4c, 0, 1) }],
    ['get_peers', { t, y: 'q', query: { method: 'get_peers', id: id(1), infoHash: id(3) } }],
    ['announce_peer', { t, y: 'q', query: { method: 'announce_peer', id: id(1), infoHash: id(3), port: 6881, token: Uint8Array.of(1, 2, 3), impliedPort: true } }],
    ['a reply with nodes', { t, y: 'r', response: { id: id(4), nodes: [{ id: id(5), address: { host: '10.0.0.1', port: 6881 } }, { id: id(6), address: { host: '192.168.255.3', port: 1 } }], token: Uint8Array.of(9) } }],
    ['a reply with peers', { t, y: 'r', response: { id: id(4), values: [{ host: '1.2.3.4', port: 65535 }], token: Uint8Array.of(9, 9) } }],
    ['an error', { t, y: 'e', error: { code: 203, message: 'bad token' } }],
  ];

  it.each(messages)('%s round-trips', (_name, m) => {
    expect(decodeKrpc(encodeKrpc(m))).toEqual(m);
  });

  it("writes BEP 5's wire form: sorted keys, compact node info of 26 bytes, compact peers of 6", () => {
    expect(text(encodeKrpc(messages[0][1]))).toBe(`d1:ad2:id20:${'\x01'.repeat(20)}e1:q4:ping1:t2:\xaa\x011:y1:qe`);
    const reply = encodeKrpc(messages[4][1]);
    expect(text(reply)).toContain(`5:nodes${2 * COMPACT_NODE_BYTES}:`);
    expect(text(reply)).toContain('\x0a\x00\x00\x01\x1a\xe1'); // 10.0.0.1:6881
    expect(text(encodeKrpc(messages[5][1]))).toContain('6:valuesl6:\x01\x02\x03\x04\xff\xffe');
    expect(text(encodeKrpc(messages[6][1]))).toContain('1:eli203e9:bad tokene');
  });

  it('reads a query from another client (unknown keys ignored, implied_port absent)', () => {
    const m = decodeKrpc(bencodeValue({ t: 'xy', y: 'q', q: 'announce_peer', v: 'LT12', ro: 1, a: { id: id(7), info_hash: id(8), port: 51413, token: 'abcd', want: ['n4'] } }));
    expect(m).toMatchObject({ y: 'q', query: { method: 'announce_peer', port: 51413, impliedPort: false } });
  });

  it.each([
    ['not bencoding', new TextEncoder().encode('d1:t'), 'bencode', undefined],
    ['not a dictionary', bencodeValue(['x']), 'not-a-dictionary', undefined],
    ['no transaction id', bencodeValue({ y: 'q', q: 'ping', a: { id: id(1) } }), 'transaction', undefined],
    ['an unknown type', bencodeValue({ t: 'ab', y: 'z' }), 'type', 'ab'],
    ['an unknown method', bencodeValue({ t: 'ab', y: 'q', q: 'vote', a: { id: id(1) } }), 'method-unknown', 'ab'],
    ['no arguments', bencodeValue({ t: 'ab', y: 'q', q: 'ping' }), 'missing-field', 'ab'],
    ['a short id', bencodeValue({ t: 'ab', y: 'q', q: 'ping', a: { id: 'short' } }), 'bad-field', 'ab'],
    ['a port of 0', bencodeValue({ t: 'ab', y: 'q', q: 'announce_peer', a: { id: id(1), info_hash: id(2), port: 0, token: 'x' } }), 'bad-field', 'ab'],
    ['an empty token', bencodeValue({ t: 'ab', y: 'q', q: 'announce_peer', a: { id: id(1), info_hash: id(2), port: 1, token: '' } }), 'bad-field', 'ab'],
    ['nodes cut inside an entry', bencodeValue({ t: 'ab', y: 'r', r: { id: id(1), nodes: new Uint8Array(27) } }), 'bad-field', 'ab'],
    ['a peer of 5 bytes', bencodeValue({ t: 'ab', y: 'r', r: { id: id(1), values: [new Uint8Array(5)] } }), 'bad-field', 'ab'],
    ['an error without a message', bencodeValue({ t: 'ab', y: 'e', e: [201] }), 'bad-field', 'ab'],
    ['nesting deeper than KRPC', bencodeValue({ t: 'ab', y: 'r', r: { id: id(1), values: [[new Uint8Array(6)]] } }), 'bencode', undefined],
  ] as const)('%s is a KrpcError (%s)', (_name, bytes, kind, transaction) => {
    const e = fails(bytes);
    expect(e.kind).toBe(kind);
    expect(e.transactionId === undefined ? undefined : text(e.transactionId)).toBe(transaction);
    expect(e.message).toMatch(/^KRPC message: /);
  });

  it('tells whether a bad message was a query (it deserves an error reply) and refuses datagrams over the size bound unread', () => {
    expect(fails(bencodeValue({ t: 'ab', y: 'q', q: 'ping', a: { id: 'short' } })).wasQuery).toBe(true);
    expect(fails(bencodeValue({ t: 'ab', y: 'r', r: { id: 'short' } })).wasQuery).toBe(false);
    expect(() => decodeKrpc(new Uint8Array(1501))).toThrow(/1501 bytes, more than the 1500/);
  });

  it('drops compact entries with port 0 (they cannot be queried)', () => {
    const nodes = new Uint8Array(COMPACT_NODE_BYTES * 2);
    nodes[COMPACT_NODE_BYTES + 25] = 7;
    const m = decodeKrpc(bencodeValue({ t: 'ab', y: 'r', r: { id: id(1), nodes } }));
    expect(m.y === 'r' && m.response.nodes?.map((n) => n.address)).toEqual([{ host: '0.0.0.0', port: 7 }]);
  });
});

describe('node ids', () => {
  it('XOR distance orders ids by closeness to a target', () => {
    const target = id(0);
    expect(xorDistance(id(0x0f), id(0xf0))).toEqual(id(0xff));
    expect(compareDistance(id(1), id(2), target)).toBeLessThan(0);
    expect(compareDistance(id(3), id(3), target)).toBe(0);
    expect(compareDistance(id(0x80), id(0x7f), target)).toBeGreaterThan(0);
  });

  it('a random id with a prefix shares exactly that many leading bits', () => {
    const random = new SeededRandom('ids');
    const ours = id(0x5a);
    for (const prefix of [0, 1, 7, 8, 9, 63, 159]) {
      for (let i = 0; i < 20; i++) expect(commonPrefixLength(ours, randomIdWithPrefix(random, ours, prefix))).toBe(prefix);
    }
    expect(commonPrefixLength(ours, ours)).toBe(160);
  });
});
