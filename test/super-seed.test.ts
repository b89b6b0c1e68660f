// BEP 16 super-seeding, on the wire with scripted peers (test/helpers/puppet.ts): a super-seed
// advertises nothing, reveals one piece per peer with HAVE, and a new one only once the piece a
// peer was given is seen on another peer; and the choice of piece (engine/super-seed.ts).

import { describe, expect, it } from 'vitest';
import { Bitfield } from '../engine/bitfield.ts';
import { SuperSeeder } from '../engine/super-seed.ts';
import { SeededRandom } from '../sim/random.ts';
import { Bench, PIECES, type Puppet } from './helpers/puppet.ts';

const haves = (p: Puppet) => p.received.filter((m) => m.type === 'have').map((m) => (m as { index: number }).index);

function superSeedBench(superSeed = true) {
  const b = new Bench({ initial: 'complete', settings: { superSeed } });
  const p0 = b.dialingPuppet('P0');
  const p1 = b.dialingPuppet('P1');
  p0.handshake();
  p1.handshake();
  b.run();
  return { b, p0, p1 };
}

describe('super-seeding (BEP 16)', () => {
  it('a plain seed sends its full BITFIELD (superSeed off, the default)', () => {
    const { p0 } = superSeedBench(false);
    expect(p0.has('bitfield')).toBe(true);
    expect(haves(p0)).toEqual([]);
  });

  it('advertises no pieces and reveals one to each peer, different pieces', () => {
    const { p0, p1 } = superSeedBench();
    expect(p0.has('bitfield')).toBe(false);
    expect(p1.has('bitfield')).toBe(false);
    expect(haves(p0)).toHaveLength(1);
    expect(haves(p1)).toHaveLength(1);
    expect(haves(p0)[0]).not.toBe(haves(p1)[0]);
  });

  it('reveals a new piece only once the one given has been seen on another peer', () => {
    const { b, p0, p1 } = superSeedBench();
    const [given] = haves(p0);
    // P0 downloads it and says so: only P0 holds it, so nothing new yet.
    p0.send({ type: 'interested' });
    b.run();
    p0.send({ type: 'have', index: given });
    b.run(1_000);
    expect(haves(p0)).toEqual([given]);
    // P1 has it too now (from P0): it has spread, and P0 is shown another piece.
    p1.send({ type: 'have', index: given });
    b.run();
    expect(haves(p0)).toHaveLength(2);
    expect(haves(p0)[1]).not.toBe(given);
    // P1's own piece has not spread: P1 was shown nothing more.
    expect(haves(p1)).toHaveLength(1);
  });

  it('a peer that holds the revealed piece already (its BITFIELD) is shown another', () => {
    const b = new Bench({ initial: 'complete', settings: { superSeed: true } });
    const p = b.dialingPuppet('P0');
    p.handshake();
    b.run();
    const [first] = haves(p);
    p.bitfield([first]);
    b.run();
    expect(haves(p)).toHaveLength(2);
    expect(haves(p)[1]).not.toBe(first);
  });
});

describe('SuperSeeder', () => {
  const peer = (key: string, pieces: number[] = []) => {
    const b = new Bitfield(PIECES);
    pieces.forEach((i) => b.set(i));
    return { key, pieces: b };
  };

  it('reveals what is rarest and unpromised; never promises again a piece only we hold', () => {
    const s = new SuperSeeder<string>(PIECES, new SeededRandom('s'));
    const availability = [2, 0, 1, 0];
    const a = s.reveal(peer('a'), (i) => availability[i]);
    expect([1, 3]).toContain(a);
    const b = s.reveal(peer('b'), (i) => availability[i]);
    expect(b).toBe(a === 1 ? 3 : 1); // the other piece nobody holds
    // Pieces 1 and 3 are promised and held by none: c gets the rarest of the rest.
    expect(s.reveal(peer('c'), (i) => availability[i])).toBe(2);
    expect(s.reveal(peer('d', [0, 2]), (i) => availability[i])).toBeUndefined();
    // A departed peer's promise is withdrawn.
    s.forget('a');
    expect(s.reveal(peer('d', [0, 2]), (i) => availability[i])).toBe(a);
  });

  it('spread: a peer whose piece it and another peer hold', () => {
    const s = new SuperSeeder<string>(PIECES, new SeededRandom('s'));
    const a = peer('a');
    const index = s.reveal(a, () => 0)!;
    a.pieces.set(index);
    expect(s.spread(index, [a], 1)).toEqual([]); // only a holds it
    expect(s.spread(index, [a], 2)).toEqual(['a']);
  });
});
