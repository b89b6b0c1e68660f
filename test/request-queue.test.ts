// The request queue sized by rate (`requestQueueTime` 3 s, libtorrent's `request_queue_time`): a peer
// that sends one block a second is kept 3 s busy (3 requests in flight), not `hiWatermark` (25)
// deep, where its blocks would wait 25 s, age into endgame copies and arrive twice.

import { describe, expect, it } from 'vitest';
import { Bench } from './helpers/puppet.ts';

const SECOND = 1_000;

/** A seed puppet that answers its oldest request once a second for 40 s (the first 25 requests, made before its rate was known, drain by 25 s); the requests in flight each second after. */
function slowSeed(settings: { requestQueueTime?: number }): number[] {
  const b = new Bench({ size: 64 * 16 * 1024, settings: { ...settings, fastExtension: false } });
  const seed = b.dialingPuppet('S');
  seed.handshake().send({ type: 'bitfield', bits: new Uint8Array(4).fill(0xff) }).send({ type: 'unchoke' }); // all 32 pieces
  b.run();
  let answered = 0;
  const inFlight: number[] = [];
  for (let s = 0; s < 40; s++) {
    const r = seed.requests()[answered++];
    if (!r) throw new Error(`no request ${answered} of ${seed.requests().length} at ${s}: ${b.steps('S').slice(-12).join(' ')}`);
    seed.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, r.length) });
    b.run(SECOND);
    inFlight.push(seed.requests().length - answered);
  }
  return inFlight;
}

describe('the request queue follows the peer rate', () => {
  it('a peer sending 16 KiB/s has at most 3 requests in flight once its rate is known (requestQueueTime 3 s); 25 by default', () => {
    const sized = slowSeed({ requestQueueTime: 3_000 });
    expect(sized[0]).toBeGreaterThan(3); // the rate is not known yet: hiWatermark
    expect(Math.max(...sized.slice(-10))).toBeLessThanOrEqual(3);
    expect(Math.min(...sized.slice(-10))).toBeGreaterThanOrEqual(2); // libtorrent's min_request_queue
    const fixed = slowSeed({}); // the default, 0: always hiWatermark
    expect(Math.max(...fixed.slice(-20))).toBeGreaterThanOrEqual(20); // refilled to 25 below 5
  });
});
