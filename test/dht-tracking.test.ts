// Tracking a torrent on the DHT (engine/dht/tracking.ts), the loop live mode and the simulator
// share: lookups with announces, the retry when nothing was found, pause and resume.

import { describe, expect, it } from 'vitest';
import { randomId } from '../engine/dht/node-id.ts';
import { DhtTracking } from '../engine/dht/tracking.ts';
import type { PeerAddress } from '../engine/ports.ts';
import { DhtSwarm } from '../sim/dht-swarm.ts';

function smallDht() {
  const dht = new DhtSwarm({ seed: 'tracking' });
  dht.grow(30, 50);
  return dht;
}

describe('DhtTracking', () => {
  it('finds the peer another node announced, and looks up again every interval', () => {
    const dht = smallDht();
    const infoHash = randomId(dht.random);
    const [a, b] = [dht.nodes[5], dht.nodes[20]];
    const seedSide = new DhtTracking(a.node, dht.scheduler, infoHash, () => {}, { announcePort: 51413, interval: 60_000 });
    const found: PeerAddress[][] = [];
    const leech = new DhtTracking(b.node, dht.scheduler, infoHash, (peers) => found.push(peers), { interval: 60_000, retry: 1_000 });
    seedSide.start();
    dht.scheduler.run(dht.scheduler.now() + 5_000);
    leech.start();
    dht.scheduler.run(dht.scheduler.now() + 5_000);
    expect(found.length).toBe(1);
    expect(found[0]).toContainEqual({ host: a.endpoint.address.host, port: 51413 });
    dht.scheduler.run(dht.scheduler.now() + 120_000);
    expect(leech.lookups).toBe(3); // at start, then twice an interval later
    seedSide.stop();
    leech.stop();
  });

  it('retries sooner when a lookup found nobody, doubling the wait', () => {
    const dht = smallDht();
    const t = new DhtTracking(dht.nodes[3].node, dht.scheduler, randomId(dht.random), () => {}, { interval: 600_000, retry: 1_000 });
    t.start();
    // Retries after ~1, 2, 4 and 8 s (plus each lookup's own time): five lookups within 20 s, not one.
    dht.scheduler.run(dht.scheduler.now() + 20_000);
    expect(t.lookups).toBeGreaterThanOrEqual(4);
    expect(t.lookups).toBeLessThanOrEqual(6);
    t.stop();
  });

  it('starts no lookup while paused, drops what one in flight finds, and looks up at once on resume', () => {
    const dht = smallDht();
    const infoHash = randomId(dht.random);
    const announcer = new DhtTracking(dht.nodes[7].node, dht.scheduler, infoHash, () => {}, { announcePort: 6881, interval: 60_000 });
    announcer.start();
    dht.scheduler.run(dht.scheduler.now() + 5_000);
    const found: PeerAddress[][] = [];
    const t = new DhtTracking(dht.nodes[12].node, dht.scheduler, infoHash, (p) => found.push(p), { interval: 10_000 });
    t.start();
    t.pause(); // the first lookup is in flight: its peers are dropped
    dht.scheduler.run(dht.scheduler.now() + 60_000);
    expect(t.paused).toBe(true);
    expect(t.lookups).toBe(1);
    expect(found).toEqual([]);
    t.resume();
    dht.scheduler.run(dht.scheduler.now() + 5_000);
    expect(t.lookups).toBe(2);
    expect(found).toHaveLength(1);
    t.stop();
    dht.scheduler.run(dht.scheduler.now() + 60_000);
    expect(t.lookups).toBe(2);
    announcer.stop();
  });
});
