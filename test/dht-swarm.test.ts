// The simulated DHT: datagrams on virtual time (sim/datagrams.ts) and DHT nodes of the engine on
// them (sim/dht-swarm.ts). Lookups converge on the true k closest, get_peers finds what was
// announced, tokens are enforced, bad datagrams are answered with KRPC errors, lossy links and
// churn are survived, a partition is honoured, and a seed gives the same run every time.

import { describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import { decodeKrpc, encodeKrpc } from '../engine/dht/krpc.ts';
import { idKey, randomId } from '../engine/dht/node-id.ts';
import type { LookupResult } from '../engine/dht/lookup.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { SimDatagramNetwork } from '../sim/datagrams.ts';
import { DhtSwarm } from '../sim/dht-swarm.ts';
import { SeededRandom } from '../sim/random.ts';
import { Scheduler } from '../sim/scheduler.ts';

const a = (i: number) => ({ host: `10.0.0.${i}`, port: 6881 });

describe('datagrams on virtual time', () => {
  it('arrive after the latency, may overtake each other under jitter, and are lost to loss, partitions and gone hosts', () => {
    const scheduler = new Scheduler();
    const net = new SimDatagramNetwork(scheduler, new SeededRandom('dg'), { jitter: 50 });
    const x = net.bind(a(1), 10), y = net.bind(a(2), 30);
    const got: [number, number][] = [];
    y.onDatagram((from, bytes) => {
      expect(from).toEqual(a(1));
      got.push([bytes[0], scheduler.now()]);
    });
    for (let i = 0; i < 20; i++) x.send(a(2), Uint8Array.of(i));
    scheduler.run();
    expect(got.length).toBe(20);
    for (const [, at] of got) expect(at >= 20 && at < 70).toBe(true);
    expect(got.map(([i]) => i)).not.toEqual([...Array(20).keys()]); // reordered
    net.partition([[a(1)], [a(2)]]);
    x.send(a(2), Uint8Array.of(99));
    net.repair();
    net.loss = 1;
    x.send(a(2), Uint8Array.of(98));
    net.loss = 0;
    x.send(a(3), Uint8Array.of(97)); // nobody there
    x.send(a(2), Uint8Array.of(96));
    net.unbind(y); // leaves while the datagram is under way
    scheduler.run();
    expect(got.length).toBe(20);
    expect(net.stats).toEqual({ sent: 24, delivered: 20, lost: 1, unreachable: 2, cut: 1 });
  });
});

function swarmOf(nodes: number, seed = '1', loss = 0): DhtSwarm {
  const swarm = new DhtSwarm({ seed, loss });
  swarm.grow(nodes, 10);
  return swarm;
}

function ok(r: LookupResult | { error: string }): LookupResult {
  if ('error' in r) throw new Error(r.error);
  return r;
}

describe('a simulated DHT of 300 nodes', () => {
  const swarm = swarmOf(300);

  it('every node bootstrapped into a routing table of its neighbourhood', () => {
    for (const n of swarm.nodes) expect(n.node.table.size).toBeGreaterThanOrEqual(8);
  });

  it('find_node converges on the true k closest within few hops and bounded messages', () => {
    let exact = 0;
    for (let i = 0; i < 20; i++) {
      const target = randomId(swarm.random);
      const r = ok(swarm.lookup(swarm.nodes[swarm.random.int(0, 299)], target, 'find_node'));
      const truth = swarm.closestTo(target, 8).map((n) => idKey(n.node.id));
      if (r.closest.map((c) => idKey(c.info.id)).join() === truth.join()) exact++;
      expect(r.queries).toBeLessThanOrEqual(64);
      expect(r.hops).toBeLessThanOrEqual(6);
    }
    expect(exact).toBeGreaterThanOrEqual(19);
  });

  it('get_peers finds a peer announced by another node, stored at the nodes closest to the info-hash', () => {
    const infoHash = randomId(swarm.random);
    ok(swarm.lookup(swarm.nodes[10], infoHash, 'get_peers', 51413));
    const holders = swarm.closestTo(infoHash, 8).filter((n) => n.node.storedPeers(infoHash).length > 0);
    expect(holders.length).toBeGreaterThanOrEqual(7);
    expect(holders[0].node.storedPeers(infoHash)).toEqual([{ host: swarm.nodes[10].node.address.host, port: 51413 }]);
    const found = ok(swarm.lookup(swarm.nodes[200], infoHash, 'get_peers'));
    expect(found.peers).toEqual([{ host: swarm.nodes[10].node.address.host, port: 51413 }]);
  });

  it('refuses an announce with a token it did not issue, answering error 203', () => {
    const target = swarm.nodes[5];
    const probe = swarm.net.bind({ host: '192.168.0.1', port: 9 }, 5);
    const replies: Uint8Array[] = [];
    probe.onDatagram((_from, bytes) => replies.push(bytes));
    const infoHash = randomId(swarm.random);
    probe.send(target.node.address, encodeKrpc({ t: Uint8Array.of(1, 2), y: 'q', query: { method: 'announce_peer', id: randomId(swarm.random), infoHash, port: 1, token: Uint8Array.of(1, 2, 3, 4), impliedPort: false } }));
    probe.send(target.node.address, bencodeValue({ t: 'zz', y: 'q', q: 'ping', a: { id: 'short' } }));
    probe.send(target.node.address, bencodeValue({ t: 'zy', y: 'q', q: 'vote', a: {} }));
    probe.send(target.node.address, new TextEncoder().encode('not bencoding'));
    swarm.scheduler.run(swarm.scheduler.now() + 500);
    const decoded = replies.map((r) => decodeKrpc(r));
    // Jitter reorders the replies: compare as a set of codes.
    expect(decoded.map((m) => (m.y === 'e' ? m.error.code : m.y)).sort()).toEqual([203, 203, 204]);
    expect(target.node.storedPeers(infoHash)).toEqual([]);
    expect(target.node.stats.badMessages).toBeGreaterThanOrEqual(3);
    swarm.net.unbind(probe);
  });

  it('the same seed gives the same run: ids, tables and datagram counts', () => {
    const again = swarmOf(300);
    const first = swarmOf(300);
    expect(again.nodes.map((n) => idKey(n.node.id))).toEqual(first.nodes.map((n) => idKey(n.node.id)));
    expect(again.net.stats).toEqual(first.net.stats);
    expect(again.nodes.map((n) => n.node.table.size)).toEqual(first.nodes.map((n) => n.node.table.size));
    expect(swarmOf(300, '2').net.stats).not.toEqual(first.net.stats);
  });
});

describe('faults', () => {
  it('under 20 % loss and after a fifth of the nodes leave, get_peers still finds an announced peer', () => {
    const swarm = swarmOf(300, '3');
    const hashes = Array.from({ length: 10 }, () => randomId(swarm.random));
    hashes.forEach((h, i) => ok(swarm.lookup(swarm.nodes[i + 1], h, 'get_peers', 6000 + i)));
    for (const n of swarm.random.sample(swarm.nodes.slice(20), 60)) swarm.kill(n);
    swarm.net.loss = 0.2;
    let found = 0;
    hashes.forEach((h, i) => {
      const r = ok(swarm.lookup(swarm.nodes[250 - i].alive ? swarm.nodes[250 - i] : swarm.nodes[15], h, 'get_peers'));
      if (r.peers.some((p) => p.port === 6000 + i)) found++;
    });
    expect(found).toBeGreaterThanOrEqual(9);
  });

  it('a partition keeps a lookup on its own side', () => {
    const swarm = swarmOf(120, '4');
    const left = swarm.nodes.slice(0, 60), right = swarm.nodes.slice(60);
    swarm.net.partition([left.map((n) => n.node.address), right.map((n) => n.node.address)]);
    const r = ok(swarm.lookup(left[5], randomId(swarm.random), 'find_node'));
    const leftIds = new Set(left.map((n) => idKey(n.node.id)));
    expect(r.closest.length).toBeGreaterThan(0);
    for (const c of r.closest) expect(leftIds.has(idKey(c.info.id))).toBe(true);
  });
});

describe('trace', () => {
  it('KRPC traffic is traced as krpc events, queries with their method', () => {
    const events: TraceEvent[] = [];
    const swarm = new DhtSwarm({ seed: '5', trace: { emit: (e) => events.push(e) } });
    swarm.grow(10, 10);
    const queries = events.filter((e) => e.kind === 'krpc' && e.dir === 'out' && e.y === 'q');
    expect(queries.length).toBeGreaterThan(0);
    expect(new Set(queries.map((e) => e.method))).toContain('find_node');
    expect(events.filter((e) => e.kind === 'krpc' && e.dir === 'in' && e.y === 'r').length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ peer: expect.stringMatching(/^D\d+$/), remote: expect.stringMatching(/^10\.0\.0\.\d+:6881$/) });
  });
});
