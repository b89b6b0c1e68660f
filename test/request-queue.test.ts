// The request queue sized by rate (`requestQueueTime`, 3 s by default as libtorrent's
// `request_queue_time`): 2 requests before a peer's first block, slow start from there (one
// more per block, as libtorrent's), then a peer that sends one block a second is kept 3 s busy (3 requests in flight), not `hiWatermark`
// (25) deep, where its blocks would wait 25 s, age into endgame copies and arrive twice; and the
// rate is the recent one, so a peer that slows down is sized down.

import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../engine/settings.ts';
import { Bench } from './helpers/puppet.ts';

const SECOND = 1_000;

/**
 * A seed puppet that answers its oldest request after each gap of `gaps` (ms), 128 pieces of 32 KiB, a
 * 256-block torrent; returns the requests in flight after each answer.
 */
function answering(settings: { requestQueueTime?: number }, gaps: number[]): { before: number; inFlight: number[] } {
  const b = new Bench({ size: 256 * 16 * 1024, settings: { ...settings, fastExtension: false } });
  const seed = b.dialingPuppet('S');
  seed.handshake().send({ type: 'bitfield', bits: new Uint8Array(16).fill(0xff) }).send({ type: 'unchoke' }); // all 128 pieces
  b.run();
  const before = seed.requests().length;
  let answered = 0;
  const inFlight: number[] = [];
  for (const gap of gaps) {
    const r = seed.requests()[answered++];
    if (!r) throw new Error(`no request ${answered} of ${seed.requests().length}: ${b.steps('S').slice(-12).join(' ')}`);
    seed.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, r.length) });
    b.run(gap);
    inFlight.push(seed.requests().length - answered);
  }
  return { before, inFlight };
}

const every = (ms: number, count: number) => Array.from({ length: count }, () => ms);

describe('the request queue follows the peer rate', () => {
  const byDefault = { requestQueueTime: defaultSettings.requestQueueTime };

  it('a peer sending 16 KiB/s has at most 3 requests in flight once its rate is known (the default, 3 s); 25 with requestQueueTime 0', () => {
    const sized = answering(byDefault, every(SECOND, 40)).inFlight;
    expect(Math.max(...sized.slice(-10))).toBeLessThanOrEqual(3);
    expect(Math.min(...sized.slice(-10))).toBeGreaterThanOrEqual(2); // libtorrent's min_request_queue
    const fixed = answering({ requestQueueTime: 0 }, every(SECOND, 40)).inFlight; // always hiWatermark
    expect(Math.max(...fixed.slice(-20))).toBeGreaterThanOrEqual(20); // refilled to 25 below 5
  });

  it('a peer that has sent nothing since the unchoke gets 2 requests; after its first block, slow start: one more per block, until its rate is known', () => {
    const { before, inFlight } = answering(byDefault, every(SECOND / 10, 12));
    expect(before).toBe(2);
    // After the i-th block (from 0) the queue is 2 + i; it is refilled to that when it drops below loWatermark (5).
    inFlight.forEach((n, i) => expect(n).toBeLessThanOrEqual(2 + i));
    expect(inFlight[0]).toBe(2);
    expect(Math.max(...inFlight)).toBeGreaterThanOrEqual(10); // grown, with no rate measured yet (1.2 s of 3)
    expect(answering({ requestQueueTime: 0 }, []).before).toBeGreaterThanOrEqual(20);
  });

  it('slow start spares a slow uplink: one block per 1.5 s keeps at most 3 requests in flight from the first block on (hiWatermark before slow start: 25)', () => {
    const flights = answering(byDefault, every(1_500, 12)).inFlight;
    expect(Math.max(...flights)).toBeLessThanOrEqual(3);
  });

  it('the rate outlives a choke: re-unchoked, a peer that sent 10 blocks/s gets a deep queue at once (a new one gets 2)', () => {
    const b = new Bench({ size: 256 * 16 * 1024, settings: { ...byDefault, fastExtension: false } });
    const seed = b.dialingPuppet('S');
    seed.handshake().send({ type: 'bitfield', bits: new Uint8Array(16).fill(0xff) }).send({ type: 'unchoke' });
    b.run();
    for (let answered = 0; answered < 50; answered++) {
      const r = seed.requests()[answered];
      seed.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, r.length) });
      b.run(SECOND / 10);
    }
    seed.send({ type: 'choke' });
    b.run(SECOND);
    const beforeUnchoke = seed.requests().length;
    seed.send({ type: 'unchoke' });
    b.run(10);
    expect(seed.requests().length - beforeUnchoke).toBeGreaterThanOrEqual(20); // 10 blocks/s × 3 s, capped at hiWatermark 25
  });

  it('sizes by the recent rate: after 10 s at 10 blocks/s and 30 s at 1 block/s, at most 5 requests in flight, not the 11 of the average since the unchoke', () => {
    // 30 s: the deep queue of the fast phase drains first (it is refilled only below loWatermark).
    const flights = answering(byDefault, [...every(SECOND / 10, 100), ...every(SECOND, 30)]).inFlight;
    expect(Math.max(...flights.slice(90, 100))).toBeGreaterThanOrEqual(10); // fast: a deep queue
    expect(Math.max(...flights.slice(-5))).toBeLessThanOrEqual(5); // the average since the unchoke: 11
  });
});
