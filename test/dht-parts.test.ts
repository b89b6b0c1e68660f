// The DHT node's parts, each alone: the routing table (buckets, splitting, states, replacement),
// tokens (rotation), the peer store (expiry, bounds), transactions (time-outs, source check) and
// the iterative lookup (α, convergence, bounds).

import { describe, expect, it } from 'vitest';
import type { Clock, PeerAddress } from '../engine/ports.ts';
import { Lookup } from '../engine/dht/lookup.ts';
import { commonPrefixLength, compareDistance, idKey, type NodeId, randomId, randomIdWithPrefix } from '../engine/dht/node-id.ts';
import { PeerStore } from '../engine/dht/peer-store.ts';
import { RoutingTable } from '../engine/dht/routing-table.ts';
import { TokenIssuer } from '../engine/dht/tokens.ts';
import { Transactions } from '../engine/dht/transactions.ts';
import { SeededRandom } from '../sim/random.ts';
import { Scheduler } from '../sim/scheduler.ts';

const LIMITS = { k: 8, replacementsPerBucket: 8, questionableAfter: 15 * 60_000, badAfterFailures: 2 };
const addr = (i: number): PeerAddress => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 6881 });

describe('routing table', () => {
  const random = new SeededRandom('table');
  const ours = randomId(random);

  it('splits only the bucket holding our id: far buckets stay at k, near nodes keep coming in', () => {
    const table = new RoutingTable(ours, LIMITS, 0);
    for (let i = 0; i < 2000; i++) table.heard({ id: randomId(random), address: addr(i) }, true, 0);
    // Half of all ids fall in bucket 0: k of them are kept, the rest wait as replacements.
    expect(table.contacts().filter((c) => commonPrefixLength(ours, c.id) === 0).length).toBe(8);
    expect(table.replacementsOf(0).length).toBe(8);
    expect(table.bucketCount).toBeGreaterThan(6);
    expect(table.size).toBeLessThanOrEqual(8 * table.bucketCount);
    // A node sharing 30 bits with us always finds room: its bucket is split off on demand.
    const near = randomIdWithPrefix(random, ours, 30);
    expect(table.heard({ id: near, address: addr(5000) }, true, 0).added).toBe(true);
    expect(table.find(near)).toBeDefined();
  });

  it('a full far bucket takes a newcomer only in place of a bad node, and asks for a ping of a questionable one', () => {
    const table = new RoutingTable(ours, LIMITS, 0);
    const far = Array.from({ length: 9 }, (_, i) => ({ id: randomIdWithPrefix(random, ours, 0), address: addr(i) }));
    for (const n of far.slice(0, 8)) table.heard(n, true, 0);
    // Bucket 0 cannot split once a second bucket exists for near ids.
    table.heard({ id: randomIdWithPrefix(random, ours, 5), address: addr(100) }, true, 0);
    const fresh = table.heard(far[8], true, 1000);
    expect(fresh).toEqual({ added: false }); // all good: no ping asked
    const later = 16 * 60_000; // everyone questionable now
    const r = table.heard(far[8], true, later);
    expect(r.added).toBe(false);
    expect(r.ping && idKey(r.ping.id)).toBe(idKey(far[0].id)); // the stalest
    table.failed(far[0].id, later);
    expect(table.find(far[0].id)).toBeDefined(); // one failure: questionable still
    table.failed(far[0].id, later);
    expect(table.find(far[0].id)).toBeUndefined(); // bad: the replacement took its place
    expect(table.find(far[8].id)).toBeDefined();
  });

  it('does not move a known id to another address (a spoofed source), and never holds our own id', () => {
    const table = new RoutingTable(ours, LIMITS, 0);
    const n = { id: randomId(random), address: addr(1) };
    table.heard(n, true, 0);
    table.heard({ id: n.id, address: addr(2) }, true, 10);
    expect(table.find(n.id)?.address).toEqual(addr(1));
    expect(table.heard({ id: ours, address: addr(3) }, true, 0).added).toBe(false);
  });

  it('closest gives the n nearest contacts in order, skipping bad ones', () => {
    const table = new RoutingTable(ours, LIMITS, 0);
    for (let i = 0; i < 500; i++) table.heard({ id: randomId(random), address: addr(i) }, true, 0);
    const target = randomId(random);
    const all = table.contacts().sort((a, b) => compareDistance(a.id, b.id, target));
    expect(table.closest(target, 8, 0).map((c) => c.key)).toEqual(all.slice(0, 8).map((c) => c.key));
    table.failed(all[0].id, 0);
    table.failed(all[0].id, 0);
    expect(table.closest(target, 8, 0).map((c) => c.key)).not.toContain(all[0].key);
  });

  it('reports buckets idle for the refresh period', () => {
    const table = new RoutingTable(ours, LIMITS, 0);
    table.heard({ id: randomId(random), address: addr(1) }, true, 0);
    expect(table.staleBuckets(14 * 60_000, 15 * 60_000)).toEqual([]);
    expect(table.staleBuckets(15 * 60_000, 15 * 60_000)).toEqual([0]);
    table.refreshed(0, 15 * 60_000);
    expect(table.staleBuckets(15 * 60_000, 15 * 60_000)).toEqual([]);
  });
});

describe('tokens', () => {
  it('accepts a token from the host it was issued to for one to two rotation periods, then refuses it', () => {
    let now = 0;
    const tokens = new TokenIssuer({ now: () => now }, new SeededRandom('tokens'), 300_000, 8);
    const token = tokens.issue('10.0.0.1');
    expect(token.length).toBe(8);
    expect(tokens.accepts('10.0.0.1', token)).toBe(true);
    expect(tokens.accepts('10.0.0.2', token)).toBe(false);
    now = 299_999;
    expect(tokens.accepts('10.0.0.1', token)).toBe(true);
    now = 300_000; // rotated once: the previous secret still counts
    expect(tokens.accepts('10.0.0.1', token)).toBe(true);
    expect(tokens.issue('10.0.0.1')).not.toEqual(token);
    now = 600_000; // rotated twice
    expect(tokens.accepts('10.0.0.1', token)).toBe(false);
  });
});

describe('peer store', () => {
  const hash = (b: number) => new Uint8Array(20).fill(b);

  it('expires peers after their last announce, newest first, and bounds peers and info-hashes', () => {
    const store = new PeerStore({ maxInfoHashes: 2, maxPeersPerInfoHash: 3, expiry: 1000 });
    store.announce(hash(1), addr(1), 0);
    store.announce(hash(1), addr(2), 500);
    expect(store.peers(hash(1), 999, 10)).toEqual([addr(2), addr(1)]);
    expect(store.peers(hash(1), 1000, 10)).toEqual([addr(2)]);
    expect(store.peers(hash(1), 1500, 10)).toEqual([]);
    for (let i = 0; i < 5; i++) store.announce(hash(2), addr(10 + i), 2000 + i);
    expect(store.peers(hash(2), 2010, 10)).toEqual([addr(14), addr(13), addr(12)]);
    expect(store.peers(hash(2), 2010, 2)).toEqual([addr(14), addr(13)]);
    store.announce(hash(3), addr(20), 2020);
    store.announce(hash(4), addr(21), 2030); // evicts hash 2, announced to least recently
    expect(store.peers(hash(2), 2040, 10)).toEqual([]);
    expect(store.infoHashes).toBe(2);
    store.sweep(10_000);
    expect(store.infoHashes).toBe(0);
  });
});

describe('transactions', () => {
  it('a reply settles only from the address the query went to; silence times out once, with one timer for all', () => {
    const clock = new Scheduler();
    let timers = 0;
    const counting: Clock = { now: () => clock.now(), setTimer: (d, fn) => (timers++, clock.setTimer(d, fn)) };
    const timedOut: string[] = [];
    const tx = new Transactions<string>(counting, new SeededRandom('tx'), 2000, 3, (c) => timedOut.push(c));
    const a = tx.open(addr(1), 'a')!;
    clock.run(500);
    const b = tx.open(addr(2), 'b')!;
    tx.open(addr(3), 'c');
    expect(tx.open(addr(4), 'd')).toBeUndefined(); // bounded
    expect(tx.settle(a, addr(9))).toBeUndefined(); // wrong source
    expect(tx.settle(b, addr(2))).toBe('b');
    expect(tx.settle(b, addr(2))).toBeUndefined(); // once
    clock.run(1999);
    expect(timedOut).toEqual([]);
    clock.run(2000);
    expect(timedOut).toEqual(['a']);
    clock.run(10_000);
    expect(timedOut).toEqual(['a', 'c']);
    expect(timers).toBe(2); // armed for a, re-armed for c
    expect(tx.size).toBe(0);
  });
});

describe('lookup', () => {
  // A toy network: 300 ids; each node knows the 8 closest others to any target it is asked.
  const random = new SeededRandom('lookup');
  const ids: NodeId[] = Array.from({ length: 300 }, () => randomId(random));
  const info = (i: number) => ({ id: ids[i], address: addr(i) });
  const closestTo = (target: NodeId, n: number) => ids.map((_, i) => i).sort((a, b) => compareDistance(ids[a], ids[b], target)).slice(0, n);
  const limits = { k: 8, alpha: 3, maxCandidates: 32, maxQueries: 64, maxNodesPerReply: 16, maxPeers: 50 };

  it('keeps at most α queries in flight and converges on the true k closest', () => {
    const target = randomId(random);
    const lookup = new Lookup(target, limits, [0, 1, 2, 3].map(info));
    let maxInFlight = 0;
    const inFlight: number[] = [];
    for (let round = 0; round < 100 && !lookup.done; round++) {
      inFlight.push(...lookup.next().map((c) => ids.findIndex((id) => idKey(id) === c.key)));
      maxInFlight = Math.max(maxInFlight, inFlight.length);
      const i = inFlight.shift()!;
      // Each node answers with its 8 closest to the target, except node 7, which never answers.
      if (i === 7) lookup.failed(idKey(ids[i]));
      else lookup.replied(info(i), { nodes: closestTo(target, 9).filter((j) => j !== i).slice(0, 8).map(info) });
    }
    expect(lookup.done).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    const r = lookup.result();
    expect(r.closest.map((c) => idKey(c.info.id))).toEqual(closestTo(target, 9).filter((j) => j !== 7).slice(0, 8).map((j) => idKey(ids[j])));
    expect(r.queries).toBeLessThanOrEqual(limits.maxQueries);
  });

  it('asks a node that timed out once more, and drops it after a second time-out', () => {
    const target = randomId(random);
    const lookup = new Lookup(target, limits, [info(0)]);
    const [first] = lookup.next();
    lookup.failed(first.key, true);
    const [again] = lookup.next();
    expect(again.key).toBe(first.key);
    lookup.failed(again.key, true);
    expect(lookup.next()).toEqual([]);
    expect(lookup.done).toBe(true);
    expect(lookup.result()).toMatchObject({ closest: [], queries: 2 });
  });

  it('stops at its query budget when every reply names new nodes (a Sybil crowd)', () => {
    const target = randomId(random);
    const lookup = new Lookup(target, { ...limits, maxQueries: 10 }, [info(0)]);
    let sent = 0;
    while (!lookup.done) {
      const asked = lookup.next();
      sent += asked.length;
      for (const c of asked) lookup.replied(c.info, { nodes: Array.from({ length: 8 }, () => ({ id: randomIdWithPrefix(random, target, 100), address: addr(999) })) });
    }
    expect(sent).toBe(10);
  });
});
