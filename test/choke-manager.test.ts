import { describe, expect, it } from 'vitest';
import { type ChokeCandidate, ChokeManager } from '../engine/choke-manager.ts';
import { defaultSettings } from '../engine/settings.ts';
import { SeededRandom } from '../sim/random.ts';

const peer = (key: string, rate: number, o: Partial<ChokeCandidate> = {}): ChokeCandidate => ({
  key,
  interested: true,
  snubbed: false,
  rate,
  total: rate,
  choked: true,
  peerChoking: true,
  sent: 0,
  announced: 0,
  ...o,
});

describe('ChokeManager', () => {
  const peers = [peer('a', 10), peer('b', 50), peer('c', 30), peer('d', 40), peer('e', 20), peer('f', 5), peer('g', 1)];

  it('unchokes the 4 best and one optimistic among the rest', () => {
    const cm = new ChokeManager(defaultSettings, new SeededRandom('x'));
    const u = cm.rechoke(0, peers, false);
    expect(u.size).toBe(5);
    for (const k of ['b', 'd', 'c', 'e']) expect(u.has(k)).toBe(true);
    expect(['a', 'f', 'g']).toContain(cm.optimisticKey);
  });

  it('keeps the optimistic unchoke for 30 s, then rotates it', () => {
    const picks = new Set<string | undefined>();
    const cm = new ChokeManager(defaultSettings, new SeededRandom('rot'));
    cm.rechoke(0, peers, false);
    const first = cm.optimisticKey;
    cm.rechoke(10_000, peers, false);
    cm.rechoke(20_000, peers, false);
    expect(cm.optimisticKey).toBe(first);
    for (let t = 30_000; t < 30_000 * 40; t += 30_000) {
      cm.rechoke(t, peers, false);
      picks.add(cm.optimisticKey);
    }
    expect(picks).toEqual(new Set(['a', 'f', 'g']));
  });

  it('skips snubbed and uninterested peers while leeching', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 2 }, new SeededRandom('s'));
    const u = cm.rechoke(0, [peer('a', 99, { snubbed: true }), peer('b', 98, { interested: false }), peer('c', 1), peer('d', 2)], false);
    expect([...u].sort()).toEqual(['c', 'd']);
  });

  it('seeding ranks by upload rate (the caller passes it) and does not skip snubbed peers', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 1 }, new SeededRandom('s'));
    const u = cm.rechoke(0, [peer('a', 99, { snubbed: true }), peer('b', 1)], true);
    expect(u.has('a')).toBe(true);
  });

  it('equal rates: the peer that gave more over the connection wins, then the earlier connection', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 1, optimisticUnchoke: false }, new SeededRandom('s'));
    expect([...cm.rechoke(0, [peer('freeRider', 0, { total: 0 }), peer('uploader', 0, { total: 9 })], false)]).toEqual(['uploader']);
  });

  it('equal rates and totals: the earlier connection wins', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 1 }, new SeededRandom('s'));
    const u = cm.rechoke(0, [peer('x', 5), peer('y', 5)], false);
    expect(u.has('x')).toBe(true);
  });

  it('rotates the optimistic unchoke oldest-waiting first: 20 choked peers, 1 slot, 30 min → each within ±1.5 s of the mean', () => {
    // 4 regular slots held by fast peers; the other 20 are choked, interested, and give nothing.
    const fast = ['f1', 'f2', 'f3', 'f4'].map((k) => peer(k, 1_000));
    const choked = Array.from({ length: 20 }, (_, i) => peer(`c${i}`, 0));
    const cm = new ChokeManager(defaultSettings, new SeededRandom('rotation'));
    const optimisticTime = new Map(choked.map((c) => [c.key, 0]));
    const step = defaultSettings.rechokeInterval;
    const end = 30 * 60_000;
    for (let t = 0; t < end; t += step) {
      const u = cm.rechoke(t, [...fast, ...choked], false);
      for (const f of fast) expect(u.has(f.key)).toBe(true);
      const turn = choked.filter((c) => u.has(c.key));
      expect(turn.length).toBe(1); // the one optimistic slot, always in use
      optimisticTime.set(turn[0].key, optimisticTime.get(turn[0].key)! + step);
    }
    const mean = end / choked.length; // 90 s
    for (const [key, ms] of optimisticTime) expect({ key, off: Math.abs(ms - mean) <= 1_500 }).toEqual({ key, off: true });
  });

  it('a peer unchoked into the free optimistic slot between rechokes has its turn: 30 s from then, and then the back of the line', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 0 }, new SeededRandom('free-slot'));
    const [a, b, c] = [peer('a', 0), peer('b', 0), peer('c', 0)];
    // `a` asks first, at 0.2 s, and takes the empty slot before any rechoke.
    expect(cm.hasFreeSlot(0)).toBe(true);
    cm.freeSlotTaken('a', 0, 200);
    expect(cm.optimisticKey).toBe('a');
    // The rechokes at 10 and 20 s keep it (its turn is not over); the one at 30 s, nearest 30.2 s, ends it.
    for (const t of [10_000, 20_000]) expect([...cm.rechoke(t, [a, b, c], false)]).toEqual(['a']);
    cm.rechoke(30_000, [a, b, c], false);
    expect(cm.optimisticKey).not.toBe('a');
    const second = cm.optimisticKey;
    cm.rechoke(60_000, [a, b, c], false);
    // Not counted as never unchoked: the third peer goes before it.
    expect(cm.optimisticKey).not.toBe('a');
    expect(cm.optimisticKey).not.toBe(second);
    cm.rechoke(90_000, [a, b, c], false);
    expect(cm.optimisticKey).toBe('a');
  });

  it('a free slot within the regular slots is no optimistic turn', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 2 }, new SeededRandom('regular'));
    cm.freeSlotTaken('a', 1, 200);
    expect(cm.optimisticKey).toBeUndefined();
  });

  it('a newcomer, never unchoked yet, goes before the peers that had a turn', () => {
    const cm = new ChokeManager({ ...defaultSettings, uploadSlots: 0 }, new SeededRandom('newcomer'));
    const ab = [peer('a', 0), peer('b', 0)];
    cm.rechoke(0, ab, false);
    const first = cm.optimisticKey;
    cm.rechoke(30_000, ab, false);
    expect(cm.optimisticKey).not.toBe(first); // the other one, never unchoked yet
    cm.rechoke(60_000, [...ab, peer('n', 0)], false);
    expect(cm.optimisticKey).toBe('n'); // never unchoked: before both
    cm.rechoke(90_000, [...ab, peer('n', 0)], false);
    expect(cm.optimisticKey).toBe(first); // then the oldest turn
  });
});
