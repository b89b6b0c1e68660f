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
});
