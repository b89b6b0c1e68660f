// BitTyrant's unchoker (engine/bittyrant.ts), the random choker, and the per-connection upload
// cap that lets a tyrant give each peer what it takes to be reciprocated and no more.

import { describe, expect, it } from 'vitest';
import { TYRANT, TyrantUnchoker } from '../engine/bittyrant.ts';
import { type ChokeCandidate, ChokeManager } from '../engine/choke-manager.ts';
import type { PeerProcess } from '../engine/peer.ts';
import { defaultSettings } from '../engine/settings.ts';
import { SeededRandom } from '../sim/random.ts';
import { checkScenario, runScenario } from '../sim/scenario/load.ts';
import { Bench } from './helpers/puppet.ts';

const KiB = 1024;
const ROUND = 10_000;

const candidate = (key: string, o: Partial<ChokeCandidate> = {}): ChokeCandidate => ({
  key,
  interested: true,
  snubbed: false,
  rate: 0,
  total: 0,
  choked: true,
  peerChoking: true,
  sent: 0,
  announced: 0,
  ...o,
});

describe('TyrantUnchoker', () => {
  it('first unchokes an equal split of a standard client, then sizes each peer by what it announces and unchokes as many as the capacity pays for', () => {
    const t = new TyrantUnchoker<string>(100 * KiB, 5);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    // Round 1: nothing known, u_p = 100/5 KiB/s each: five fit.
    expect(t.pick(0, keys.map((k) => candidate(k)))).toHaveLength(5);
    // Round 2: each announced 250 KiB of pieces in 10 s (25 KiB/s downloaded): it gives each of a
    // standard active set about 5 KiB/s, so u_p = d_p = 5 KiB/s, and all eight fit in 100 KiB/s.
    const picked = t.pick(ROUND, keys.map((k) => candidate(k, { announced: 250 * KiB })));
    expect(picked).toEqual(keys);
    expect(t.estimateOf('a')).toEqual({ up: (25 * KiB) / TYRANT.activeSetGuess, down: (25 * KiB) / TYRANT.activeSetGuess });
  });

  it('ranks by d_p / u_p: a peer that sends back much for little comes first, and the budget stops the list', () => {
    const t = new TyrantUnchoker<string>(20 * KiB, 5);
    t.pick(0, [candidate('cheap'), candidate('dear'), candidate('mid')]);
    // After one round: cheap sent 100 KiB (10 KiB/s) back; the others announced pieces only.
    const got = t.pick(ROUND, [
      candidate('dear', { announced: 500 * KiB }), // d = u = 10 KiB/s: ratio 1
      candidate('mid', { announced: 250 * KiB }), // d = u = 5 KiB/s: ratio 1
      candidate('cheap', { rate: 100 * KiB, peerChoking: false }), // d = 10 KiB/s, u = 4 KiB/s: ratio 2.5
    ]);
    expect(got[0]).toBe('cheap');
    // cheap (4 KiB/s, the initial 20/5) + dear (10) + mid (5) = 19 of 20 KiB/s.
    expect(got).toEqual(['cheap', 'dear', 'mid']);
    // With 12 KiB/s: cheap (2.4) fits, dear (10) does not, and the list stops there.
    const tight = new TyrantUnchoker<string>(12 * KiB, 5);
    tight.pick(0, [candidate('cheap'), candidate('dear'), candidate('mid')]);
    expect(tight.pick(ROUND, [candidate('dear', { announced: 500 * KiB }), candidate('mid', { announced: 250 * KiB }), candidate('cheap', { rate: 100 * KiB, peerChoking: false })])).toEqual(['cheap']);
  });

  it(`lowers u_p by ${TYRANT.shrink * 100} % after ${TYRANT.reciprocatedRounds} rounds reciprocated, raises it by ${TYRANT.grow * 100} % when an unchoked peer does not reciprocate`, () => {
    const t = new TyrantUnchoker<string>(100 * KiB, 5);
    t.pick(0, [candidate('r'), candidate('n')]);
    const start = t.estimateOf('r')!.up;
    const round = (i: number) => t.pick(i * ROUND, [candidate('r', { rate: 50 * KiB, peerChoking: false }), candidate('n', { announced: 0 })]);
    round(1);
    const nSized = t.estimateOf('n')!.up; // sized from its (zero) announcements: the floor
    round(2);
    expect(t.estimateOf('r')!.up).toBe(start);
    round(3);
    expect(t.estimateOf('r')!.up).toBeCloseTo(start * (1 - TYRANT.shrink), 9);
    expect(t.estimateOf('n')!.up).toBeCloseTo(nSized * (1 + TYRANT.grow) ** 2, 9);
    expect(t.estimateOf('r')!.down).toBe((50 * KiB) / (ROUND / 1000));
  });

  it('always unchokes one peer, never one that is not interested or snubs us, and forgets closed connections', () => {
    const t = new TyrantUnchoker<string>(1 * KiB, 5);
    expect(t.pick(0, [candidate('big'), candidate('no', { interested: false }), candidate('snub', { snubbed: true })])).toEqual(['big']);
    t.pick(ROUND, [candidate('big')]);
    expect(t.estimateOf('no')).toBeUndefined();
  });

  it('measures its capacity from what it sent in a round when none is configured', () => {
    const t = new TyrantUnchoker<string>(0, 5);
    const keys = Array.from({ length: 12 }, (_, i) => `p${i}`);
    t.pick(0, keys.map((k) => candidate(k)));
    // 2 MiB sent in the round: 200 KiB/s+, so u_p starts near 40 KiB/s and twelve 20 KiB/s peers fit.
    const got = t.pick(ROUND, keys.map((k) => candidate(k, { sent: (2048 * KiB) / 12, announced: 1000 * KiB })));
    expect(got).toHaveLength(10);
  });
});

describe("chokeAlgorithm: the ChokeManager's regular slots", () => {
  const peers = Array.from({ length: 10 }, (_, i) => candidate(`p${i}`, { rate: (10 - i) * KiB, total: (10 - i) * KiB }));
  const regular = (cm: ChokeManager, t: number) => [...cm.rechoke(t, peers, false)].filter((k) => k !== cm.optimisticKey).sort();

  it('random: uploadSlots distinct interested peers a seeded draw picks, not the best uploaders, the same for the same seed', () => {
    const settings = { ...defaultSettings, chokeAlgorithm: 'random' as const };
    const a = new ChokeManager(settings, new SeededRandom('r'));
    const b = new ChokeManager(settings, new SeededRandom('r'));
    const draws = [0, 1, 2, 3, 4, 5].map((i) => regular(a, i * ROUND));
    expect(draws).toEqual([0, 1, 2, 3, 4, 5].map((i) => regular(b, i * ROUND)));
    for (const d of draws) expect(new Set(d).size).toBe(defaultSettings.uploadSlots);
    expect(draws.filter((d) => d.join() !== 'p0,p1,p2,p3').length).toBeGreaterThan(3);
    const tft = new ChokeManager(defaultSettings, new SeededRandom('r'));
    expect(regular(tft, 0)).toEqual(['p0', 'p1', 'p2', 'p3']);
  });

  it('a seed shares round robin whatever its leecher choker', () => {
    for (const chokeAlgorithm of ['random', 'bittyrant'] as const) {
      const cm = new ChokeManager({ ...defaultSettings, chokeAlgorithm, uploadCapacity: 100 * KiB }, new SeededRandom('s'));
      const seeding = peers.map((p, i) => ({ ...p, rate: -i * KiB }));
      const got = [...cm.rechoke(0, seeding, true)].filter((k) => k !== cm.optimisticKey).sort();
      expect(got, chokeAlgorithm).toEqual(['p0', 'p1', 'p2', 'p3']);
      expect(cm.uploadCapOf('p0')).toBe(Infinity); // seeding, nobody is capped
    }
  });
});

describe('the per-connection upload cap', () => {
  it('sends a capped connection one block at once, then one per block-time of its cap; lifting it sends the rest', () => {
    const b = new Bench({ initial: 'complete', size: 16 * 32 * KiB });
    const p = b.dialingPuppet('P');
    p.handshake().send({ type: 'interested' });
    b.run(100);
    expect(p.has('unchoke')).toBe(true);
    const peer = [...(b.client as unknown as { peerManager: { peers: Map<unknown, PeerProcess> } }).peerManager.peers.values()][0];
    peer.uploadCapTo(16 * KiB); // a block a second
    for (let i = 0; i < 10; i++) p.send({ type: 'request', index: i, begin: 0, length: 16 * KiB });
    const pieces = () => p.received.filter((m) => m.type === 'piece').length;
    b.run(500);
    expect(pieces()).toBe(1);
    b.run(3000); // 3.6 s in: the first block, then one a second
    expect(pieces()).toBe(4);
    peer.uploadCapTo(Infinity);
    b.run(100);
    expect(pieces()).toBe(10);
  });
});

describe('a tyrant in a swarm', () => {
  it('unchokes more peers at once than the same peer standard, and completes (its gain: experiments/bittyrant.yaml)', () => {
    const swarm = (behaviour: string) => ({
      name: 'tyrant',
      torrent: { size: '8MiB', pieceLength: '256KiB' },
      groups: [
        { name: 'S', role: 'seed', upload: '1MiB/s' },
        { name: 'std', count: 12, upload: '16KiB/s..128KiB/s', download: '4MiB/s' },
        { name: 'X', count: 1, upload: '256KiB/s', download: '4MiB/s', behaviour },
      ],
      timeLimit: '10min',
    });
    const widest = (behaviour: string) => {
      const open = new Set<string>();
      let most = 0;
      let leeching = true; // a seed shares round robin: count a leecher's unchokes only
      let last = 0; // a rechoke unchokes and chokes at one instant: count between instants
      const result = runScenario(checkScenario(swarm(behaviour)), 1, {
        observe: (s) => {
          const before = s.observer;
          s.observer = {
            emit(e) {
              before?.emit(e);
              if (e.t > last) [most, last] = [Math.max(most, open.size), e.t];
              if (e.peer === 'X0' && e.kind === 'complete') leeching = false;
              if (e.peer === 'X0' && e.kind === 'disconnect' && e.remote !== undefined) open.delete(e.remote);
              if (!leeching || e.peer !== 'X0' || e.kind !== 'state' || e.remote === undefined) return;
              if (e.amChoking === false) open.add(e.remote);
              else if (e.amChoking === true) open.delete(e.remote);
            },
          };
        },
      });
      const x = result.peers.find((p) => p.label === 'X0')!;
      return { most, time: (x.completedAt ?? NaN) - x.joinedAt, ok: result.ok };
    };
    const honest = widest('honest');
    const tyrant = widest('tyrant');
    expect(honest.ok && tyrant.ok).toBe(true);
    expect(honest.most).toBe(defaultSettings.uploadSlots + 1); // 4 + the optimistic one
    expect(tyrant.most).toBeGreaterThan(defaultSettings.uploadSlots + 3);
    expect(tyrant.time).toBeGreaterThan(0);
  });
});
