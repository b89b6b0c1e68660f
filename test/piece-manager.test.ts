// Piece selection: rarest first with partial pieces ahead of equally rare new ones (libtorrent's
// ranking), seeded tie-breaks, endgame with its
// cancels; the SHA1 check and what a failed one does.

import { describe, expect, it } from 'vitest';
import { Bitfield } from '../engine/bitfield.ts';
import { MemoryStorage } from '../engine/memory-storage.ts';
import { createTorrent } from '../engine/metainfo.ts';
import { PieceManager } from '../engine/piece-manager.ts';
import { BLOCK_SIZE } from '../engine/wire.ts';
import { SeededRandom } from '../sim/random.ts';

const PIECE = 2 * BLOCK_SIZE;

function setup(pieces = 8, seed = 's', picker: 'rarest-first' | 'sequential' = 'rarest-first') {
  const payload = new SeededRandom('payload').bytes(pieces * PIECE - 1000); // short last piece
  const { torrent } = createTorrent({ name: 'x', pieceLength: PIECE, files: payload });
  const storage = new MemoryStorage(payload.length);
  const pm = new PieceManager(torrent, storage, new SeededRandom(seed), picker);
  const block = (i: number, begin: number, len = BLOCK_SIZE) => payload.subarray(i * PIECE + begin, i * PIECE + begin + len);
  return { pm, payload, storage, block, torrent };
}

const all = (n: number) => Bitfield.full(n);
const of = (n: number, idx: number[]) => {
  const b = new Bitfield(n);
  idx.forEach((i) => b.set(i));
  return b;
};

/** Piece 0's first block is asked of 'liar', its second of 'good'; the liar has sent a corrupt first block. */
function liarSentFirstBlock() {
  const { pm, block } = setup(2, 's', 'sequential');
  pm.grab('liar', all(2), 1);
  pm.grab('good', all(2), 1);
  const bad = block(0, 0).slice();
  bad[0] ^= 1;
  pm.blockReceived('liar', 0, 0, bad);
  return { pm, block };
}

describe('PieceManager', () => {
  it('picks the rarest piece first', () => {
    const { pm } = setup(4);
    pm.addPeerPieces(of(4, [0, 1, 2, 3]));
    pm.addPeerPieces(of(4, [0, 1, 3]));
    pm.addPeerPieces(of(4, [0, 3]));
    // availability: 0:3, 1:2, 2:1, 3:3
    const got = pm.grab('a', all(4), 2);
    expect(got.map((b) => b.index)).toEqual([2, 2]);
    const next = pm.grab('a', all(4), 2);
    expect(next.map((b) => b.index)).toEqual([1, 1]);
  });

  it('asks for a rarer new piece before a partial one, as libtorrent ranks them: a seed is not asked for what other peers can give', () => {
    const { pm } = setup(4);
    // Piece 0 is held by three peers, the others by none but the one we ask.
    for (let i = 0; i < 3; i++) pm.addPeerPieces(of(4, [0]));
    expect(pm.grab('leecher', of(4, [0]), 1, { outstanding: 0, now: 0, peers: 4 })).toEqual([{ index: 0, begin: 0, length: BLOCK_SIZE }]);
    // The seed has everything: piece 0's free block waits for the leechers; a piece only the seed has comes first.
    const fromSeed = pm.grab('seed', all(4), 1, { outstanding: 0, now: 0, peers: 4 });
    expect(fromSeed).toHaveLength(1);
    expect(fromSeed[0].index).not.toBe(0);
    // When nothing rarer is left, the partial piece is taken before an equally rare new one.
    pm.addPeerPieces(of(4, [1, 2, 3]));
    pm.addPeerPieces(of(4, [1, 2, 3]));
    pm.addPeerPieces(of(4, [1, 2, 3]));
    pm.addPeerPieces(of(4, [1, 2, 3]));
    pm.addPeerPieces(of(4, [0]));
    // availability now: 0:4, 1-3:4 each; the partial pieces (0 and the seed's) are finished first.
    const next = pm.grab('other', all(4), 2, { outstanding: 0, now: 0, peers: 4 });
    expect(next.map((b) => b.index).sort()).toEqual([0, fromSeed[0].index].sort());
  });

  it('takes every partial piece first once they pile up past 1.5 per connected peer (libtorrent\'s prioritize_partials)', () => {
    const { pm } = setup(8);
    // Two peers, three partial pieces (each with one free block left): 3 > 1.5 × 2 would not hold, 3 > 1.5 × 1 does.
    for (let i = 0; i < 3; i++) pm.grab(`p${i}`, of(8, [i]), 1, { outstanding: 0, now: 0 });
    pm.addPeerPieces(of(8, [0, 1, 2]));
    pm.addPeerPieces(of(8, [0, 1, 2]));
    // Pieces 3-7 are rarer (held by nobody we know of) and win while partial pieces are few...
    expect(pm.grab('x', all(8), 1, { outstanding: 0, now: 0, peers: 2 })[0].index).toBeGreaterThanOrEqual(3);
    // ...and lose once there are more partial pieces than 1.5 per connected peer.
    expect(pm.grab('y', all(8), 1, { outstanding: 0, now: 0, peers: 1 })[0].index).toBeLessThan(3);
  });

  it('finishes partial pieces before starting new ones', () => {
    const { pm } = setup(4);
    const first = pm.grab('a', all(4), 1); // starts one piece, takes one of its two blocks
    expect(first).toHaveLength(1);
    const second = pm.grab('b', all(4), 1);
    expect(second[0].index).toBe(first[0].index);
    expect(second[0].begin).toBe(BLOCK_SIZE);
  });

  it('breaks ties at random, from the seed: same seed same choice, and every tied piece can win', () => {
    const firstPick = (seed: string) => setup(8, seed).pm.grab('a', all(8), 1)[0].index;
    expect(firstPick('x')).toBe(firstPick('x'));
    const winners = new Set(Array.from({ length: 200 }, (_, i) => firstPick(`seed${i}`)));
    expect(winners.size).toBe(8);
  });

  it('sequential picker takes pieces in order', () => {
    const { pm } = setup(4, 's', 'sequential');
    expect(pm.grab('a', all(4), 6).map((b) => b.index)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('only asks a peer for pieces it has', () => {
    const { pm } = setup(4);
    expect(pm.grab('a', of(4, [3]), 10).map((b) => b.index)).toEqual([3, 3]);
    expect(pm.grab('b', of(4, [3]), 10)).toEqual([]); // not endgame yet: others are missing
  });

  it('sizes the last block of a short last piece', () => {
    const { pm } = setup(2, 's', 'sequential');
    const blocks = pm.grab('a', all(2), 4);
    expect(blocks.at(-1)).toEqual({ index: 1, begin: BLOCK_SIZE, length: BLOCK_SIZE - 1000 });
  });

  it('verifies a piece with SHA1 when its last block arrives', () => {
    const { pm, block } = setup(2, 's', 'sequential');
    pm.grab('a', all(2), 2);
    expect(pm.blockReceived('a', 0, 0, block(0, 0))).toEqual({ status: 'stored', cancels: [] });
    const r = pm.blockReceived('a', 0, BLOCK_SIZE, block(0, BLOCK_SIZE));
    expect(r).toEqual({ status: 'stored', cancels: [], piece: { index: 0, ok: true, contributors: ['a'] } });
    expect(pm.have.has(0)).toBe(true);
  });

  it('a failed check frees the piece and names the peers that sent it', () => {
    const { pm, block } = setup(2, 's', 'sequential');
    pm.grab('a', all(2), 1);
    pm.grab('b', all(2), 1);
    pm.blockReceived('a', 0, 0, block(0, 0));
    const bad = block(0, BLOCK_SIZE).slice();
    bad[5] ^= 0xff;
    const r = pm.blockReceived('b', 0, BLOCK_SIZE, bad);
    expect(r).toMatchObject({ status: 'stored', piece: { index: 0, ok: false, contributors: ['a', 'b'] } });
    expect(pm.have.has(0)).toBe(false);
    // The whole piece is asked for again.
    expect(pm.grab('c', all(2), 2)).toEqual([
      { index: 0, begin: 0, length: BLOCK_SIZE },
      { index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE },
    ]);
  });

  it('a piece that failed and then passes names the sender of the bad block, and clears the others', () => {
    const { pm, block } = liarSentFirstBlock();
    expect(pm.blockReceived('good', 0, BLOCK_SIZE, block(0, BLOCK_SIZE))).toMatchObject({ piece: { ok: false, contributors: ['liar', 'good'] } });
    pm.grab('other', all(2), 2);
    pm.blockReceived('other', 0, 0, block(0, 0));
    const r = pm.blockReceived('other', 0, BLOCK_SIZE, block(0, BLOCK_SIZE));
    expect(r).toMatchObject({ piece: { ok: true, culprits: ['liar'], cleared: ['good'] } });
  });

  it("parole: a peer on parole gets only pieces of its own, which nobody else joins while it has blocks of them in flight", () => {
    const { torrent, payload } = setup(4, 's', 'sequential');
    const onParole = new Set(['x']);
    const pm = new PieceManager<string>(torrent, new MemoryStorage(payload.length), new SeededRandom('s'), 'sequential', undefined, undefined, { copies: 2, after: 0 }, (peer) => onParole.has(peer));
    expect(pm.grab('a', all(4), 1)).toEqual([{ index: 0, begin: 0, length: BLOCK_SIZE }]);
    // x does not join a's piece 0: it starts piece 1, and takes one block of it.
    expect(pm.grab('x', all(4), 1)).toEqual([{ index: 1, begin: 0, length: BLOCK_SIZE }]);
    // b finishes a's piece 0, then skips x's piece 1 for a new one.
    expect(pm.grab('b', all(4), 2)).toEqual([{ index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE }, { index: 2, begin: 0, length: BLOCK_SIZE }]);
    // x goes on with its own piece.
    expect(pm.grab('x', all(4), 1)).toEqual([{ index: 1, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
    // Once x gave its blocks back (it left), piece 1 is anyone's again.
    pm.giveBack('x', [{ index: 1, begin: 0, length: BLOCK_SIZE }, { index: 1, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
    expect(pm.grab('c', all(4), 2)).toEqual([{ index: 1, begin: 0, length: BLOCK_SIZE }, { index: 1, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
    // Without parole the same calls share pieces: x would have joined piece 0.
    const open = new PieceManager<string>(torrent, new MemoryStorage(payload.length), new SeededRandom('s'), 'sequential');
    open.grab('a', all(4), 1);
    expect(open.grab('x', all(4), 1)).toEqual([{ index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
  });

  it('parole: a piece its owner left with no block received is taken over by another peer on parole, not left for good', () => {
    const payload = new SeededRandom('payload').bytes(PIECE);
    const { torrent } = createTorrent({ name: 'x', pieceLength: PIECE, files: payload });
    const pm = new PieceManager<string>(torrent, new MemoryStorage(payload.length), new SeededRandom('s'), 'rarest-first', undefined, undefined, { copies: 2, after: 0 }, () => true);
    expect(pm.grab('x', all(1), 1)).toEqual([{ index: 0, begin: 0, length: BLOCK_SIZE }]);
    // y, on parole too, may not join x's piece while x has a block of it in flight...
    expect(pm.grab('y', all(1), 2)).toEqual([]);
    // ...but once x is gone (banned, its blocks discarded; or it left), the piece is y's.
    pm.giveBack('x', [{ index: 0, begin: 0, length: BLOCK_SIZE }]);
    expect(pm.grab('y', all(1), 2)).toEqual([
      { index: 0, begin: 0, length: BLOCK_SIZE },
      { index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE },
    ]);
    // A piece holding a block from someone else stays out of a parole peer's reach.
    const other = new PieceManager<string>(torrent, new MemoryStorage(payload.length), new SeededRandom('s'), 'rarest-first', undefined, undefined, { copies: 2, after: 0 }, (peer) => peer !== 'honest');
    other.grab('honest', all(1), 1);
    other.blockReceived('honest', 0, 0, payload.subarray(0, BLOCK_SIZE));
    expect(other.grab('z', all(1), 2)).toEqual([]);
  });

  it("a banned peer's blocks of unfinished pieces are discarded and fetched again: the piece passes without them", () => {
    const { pm, block } = liarSentFirstBlock();
    expect(pm.discardBlocksFrom((peer) => peer === 'liar')).toBe(1);
    expect(pm.discardBlocksFrom((peer) => peer === 'liar')).toBe(0);
    // The discarded block is free again; the piece passes with the good senders alone.
    expect(pm.grab('other', all(2), 1)).toEqual([{ index: 0, begin: 0, length: BLOCK_SIZE }]);
    pm.blockReceived('other', 0, 0, block(0, 0));
    expect(pm.blockReceived('good', 0, BLOCK_SIZE, block(0, BLOCK_SIZE))).toMatchObject({ piece: { index: 0, ok: true, contributors: ['other', 'good'] } });
  });

  it('rejects blocks nobody asked for, and blocks asked of someone else', () => {
    const { pm, block } = setup(2, 's', 'sequential');
    expect(pm.blockReceived('a', 0, 0, block(0, 0)).status).toBe('unexpected');
    pm.grab('a', all(2), 1);
    expect(pm.blockReceived('b', 0, 0, block(0, 0)).status).toBe('unexpected');
    expect(pm.blockReceived('a', 0, 0, block(0, 0, 100)).status).toBe('unexpected');
  });

  it('endgame: an idle peer gets one in-flight block, and the first arrival cancels the other', () => {
    const { pm, block } = setup(1);
    expect(pm.grab('a', all(1), 10)).toHaveLength(2);
    expect(pm.endgame).toBe(true);
    const last = BLOCK_SIZE - 1000; // the short last block
    const dup = pm.grab('b', all(1), 10);
    expect(dup).toEqual([{ index: 0, begin: BLOCK_SIZE, length: last }]); // the last asked
    const r = pm.blockReceived('b', 0, BLOCK_SIZE, block(0, BLOCK_SIZE, last));
    expect(r).toEqual({ status: 'stored', cancels: [{ peer: 'a', block: { index: 0, begin: BLOCK_SIZE, length: last } }] });
    // The late copy from 'a' is no longer expected; we hold it (a duplicate if it comes).
    expect(pm.blockReceived('a', 0, BLOCK_SIZE, block(0, BLOCK_SIZE, last)).status).toBe('unexpected');
    expect(pm.holdsBlock({ index: 0, begin: BLOCK_SIZE })).toBe(true);
    expect(pm.holdsBlock({ index: 0, begin: 0 })).toBe(false);
  });

  it('endgame bound: never more than endgameCopies requests of a block in flight; only for a peer with none in flight; only blocks asked endgameAfter ago', () => {
    const payload = new SeededRandom('payload').bytes(4 * PIECE);
    const { torrent } = createTorrent({ name: 'x', pieceLength: PIECE, files: payload });
    const copies = 2;
    const pm = new PieceManager<string>(torrent, new MemoryStorage(payload.length), new SeededRandom('s'), 'rarest-first', undefined, undefined, { copies, after: 20_000 });
    expect(pm.grab('a', all(4), 100, { outstanding: 0, now: 0 })).toHaveLength(8); // every block, at t = 0
    // Too young: nothing is asked twice before 20 s.
    expect(pm.grab('b', all(4), 100, { outstanding: 0, now: 19_999 })).toEqual([]);
    // A peer with a request in flight takes no busy block.
    expect(pm.grab('b', all(4), 100, { outstanding: 1, now: 30_000 })).toEqual([]);
    // Eleven idle peers, one after another, each asking again and again: at most `copies` per block.
    const peers = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
    let granted = 0;
    for (let round = 0; round < 3; round++) for (const p of peers) granted += pm.grab(p, all(4), 100, { outstanding: 0, now: 30_000 }).length;
    expect(granted).toBe(8 * (copies - 1)); // each of the 8 blocks once more, then no more
    // The debug recount checks the bound block by block (`requests in flight of block`).
    const requested = pm.recountCounters([]);
    expect([...requested.values()].reduce((x, y) => x + y, 0)).toBe(8 * copies);
  });

  it('endgame: a block its holder is sending now is never copied; the others are', () => {
    const payload = new SeededRandom('payload').bytes(PIECE);
    const { torrent } = createTorrent({ name: 'x', pieceLength: PIECE, files: payload });
    // 'a' is sending block 0 (the oldest of its requests): a copy would arrive twice.
    const sending = (holder: string, block: { index: number; begin: number }) => holder === 'a' && block.begin === 0;
    const pm = new PieceManager<string>(torrent, new MemoryStorage(payload.length), new SeededRandom('s'), 'rarest-first', undefined, undefined, { copies: 2, after: 0, sending });
    expect(pm.grab('a', all(1), 10, { outstanding: 0, now: 0 })).toHaveLength(2);
    expect(pm.grab('b', all(1), 10, { outstanding: 0, now: 1 })).toEqual([{ index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
    expect(pm.grab('c', all(1), 10, { outstanding: 0, now: 1 })).toEqual([]); // block 1 has its two copies; block 0 is being sent
  });

  it('blocks given back are handed out again', () => {
    const { pm } = setup(1);
    const blocks = pm.grab('a', all(1), 10);
    pm.giveBack('a', blocks);
    expect(pm.endgame).toBe(false);
    expect(pm.grab('b', all(1), 10)).toEqual(blocks);
  });

  it('a storage write failure gives the block back', () => {
    const { pm, block, storage } = setup(1);
    pm.grab('a', all(1), 2);
    storage.write = () => {
      throw new Error('disk full');
    };
    expect(pm.blockReceived('a', 0, 0, block(0, 0))).toEqual({ status: 'write-failed', error: 'disk full' });
    expect(pm.grab('b', all(1), 1)).toEqual([{ index: 0, begin: 0, length: BLOCK_SIZE }]);
  });

  it('recheck keeps the pieces whose bytes verify', () => {
    const { torrent, payload } = setup(4);
    const data = payload.slice();
    data[PIECE * 2 + 3] ^= 1; // corrupt piece 2
    data.fill(0, PIECE * 3); // piece 3 missing
    const pm = new PieceManager(torrent, new MemoryStorage(data.length, data), new SeededRandom('r'));
    expect(pm.recheck()).toBe(2);
    expect([0, 1, 2, 3].map((i) => pm.have.has(i))).toEqual([true, true, false, false]);
    expect(pm.left).toBe(PIECE + (PIECE - 1000));
  });
});
