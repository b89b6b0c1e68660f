// Endgame spares what a sending peer has committed: the block on the wire and the one behind it in
// its socket buffer (the two oldest of our requests to it). A CANCEL would recall neither, so a
// copy of either would arrive twice; a block further back in its queue is copied.

import { describe, expect, it } from 'vitest';
import { Bench, PIECE_LENGTH } from './helpers/puppet.ts';

const BLOCK = 16 * 1024;
const key = (r: { index: number; begin: number }) => `${r.index}:${r.begin}`;

describe('endgame and the blocks a sending peer has committed', () => {
  it('copies the block behind the two oldest requests at a peer that sent a block a moment ago, and neither of those two', () => {
    // 3 pieces of 2 blocks. S has pieces 0 and 1; T has piece 2, then (proven by it) the others.
    const b = new Bench({ size: 3 * PIECE_LENGTH, settings: { endgameAfter: 2_000, fastExtension: false } });
    const s = b.dialingPuppet('S');
    s.handshake().send({ type: 'bitfield', bits: new Uint8Array([0xc0]) }).send({ type: 'unchoke' });
    const t = b.dialingPuppet('T');
    t.handshake().send({ type: 'bitfield', bits: new Uint8Array([0x20]) }).send({ type: 'unchoke' });
    b.run();
    const asked = s.requests();
    expect(asked).toHaveLength(4); // both pieces, one after the other (which first is a seeded draw)
    expect(asked[0].index).toBe(asked[1].index);
    for (const r of t.requests()) t.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, BLOCK) });
    b.run(1_500);
    // S sends its oldest block now: asked[1] is on its wire, asked[2] in its buffer, asked[3] waits.
    s.send({ type: 'piece', index: asked[0].index, begin: asked[0].begin, block: b.block(asked[0].index, asked[0].begin, BLOCK) });
    b.run(600); // S's requests are 2.1 s old, past endgameAfter; its last block came 0.6 s ago
    const before = t.requests().length;
    t.send({ type: 'have', index: 0 }).send({ type: 'have', index: 1 });
    b.run(50);
    const copies = () => t.requests().slice(before).map(key);
    expect(copies()).toEqual([key(asked[3])]);
    // T answers it: the next copy would be asked[2] or asked[1], both committed at S: none.
    t.send({ type: 'piece', index: asked[3].index, begin: asked[3].begin, block: b.block(asked[3].index, asked[3].begin, BLOCK) });
    b.run(50);
    expect(copies()).toEqual([key(asked[3])]);
  });
});
