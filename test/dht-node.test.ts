// One DhtNode against scripted remotes on a fake datagram port: whom it queries, what it ignores.

import { describe, expect, it } from 'vitest';
import { decodeKrpc, encodeKrpc, type KrpcMessage } from '../engine/dht/krpc.ts';
import { DhtNode } from '../engine/dht/node.ts';
import { randomId } from '../engine/dht/node-id.ts';
import type { PeerAddress } from '../engine/ports.ts';
import { SeededRandom } from '../sim/random.ts';
import { Scheduler } from '../sim/scheduler.ts';

function harness() {
  const clock = new Scheduler();
  const random = new SeededRandom('node');
  const sent: { to: PeerAddress; m: KrpcMessage }[] = [];
  let deliver: (from: PeerAddress, bytes: Uint8Array) => void = () => {};
  const node = new DhtNode({
    clock,
    random,
    datagrams: { localAddress: { host: '10.0.0.1', port: 6881 }, send: (to, bytes) => sent.push({ to, m: decodeKrpc(bytes) }), onDatagram: (h) => (deliver = h) },
  });
  return { clock, random, node, sent, deliver: (from: PeerAddress, m: KrpcMessage) => deliver(from, encodeKrpc(m)) };
}

const remote = { host: '10.0.0.2', port: 6881 };
const other = { host: '10.0.0.3', port: 6881 };

describe('DhtNode', () => {
  it('does not query itself when a reply names it, and ignores a reply from another address than the one asked', () => {
    const h = harness();
    h.node.bootstrap([remote]);
    expect(h.sent.map((s) => [s.to, s.m.y === 'q' && s.m.query.method])).toEqual([[remote, 'find_node']]);
    const t = h.sent[0].m.t;
    const x = randomId(h.random);
    // The same transaction answered from a third address: not the node we asked.
    h.deliver(other, { t, y: 'r', response: { id: randomId(h.random), nodes: [{ id: x, address: other }] } });
    expect(h.node.stats.unmatched).toBe(1);
    expect(h.sent.length).toBe(1);
    h.deliver(remote, { t, y: 'r', response: { id: randomId(h.random), nodes: [{ id: h.node.id, address: h.node.address }, { id: x, address: other }] } });
    expect(h.sent.slice(1).map((s) => s.to)).toEqual([other]);
  });

  it('a query that is never answered fails after the time-out, and the lookup ends', () => {
    const h = harness();
    let result: unknown;
    h.node.bootstrap([remote], (r) => (result = r));
    h.clock.run(1999);
    expect(result).toBeUndefined();
    h.clock.run(2000);
    expect(h.node.stats.timeouts).toBe(1);
    expect(result).toMatchObject({ closest: [], queries: 1 });
    expect(h.node.pendingQueries).toBe(0);
  });

  it('answers get_peers with a token that a later announce_peer must bring back from the same IP', () => {
    const h = harness();
    const infoHash = randomId(h.random);
    const asker = randomId(h.random);
    h.deliver(remote, { t: Uint8Array.of(1), y: 'q', query: { method: 'get_peers', id: asker, infoHash } });
    const reply = h.sent[0].m;
    expect(reply.y).toBe('r');
    const token = reply.y === 'r' ? reply.response.token! : new Uint8Array();
    h.deliver(other, { t: Uint8Array.of(2), y: 'q', query: { method: 'announce_peer', id: randomId(h.random), infoHash, port: 7000, token, impliedPort: false } });
    expect(h.sent[1].m).toMatchObject({ y: 'e', error: { code: 203 } });
    h.deliver(remote, { t: Uint8Array.of(3), y: 'q', query: { method: 'announce_peer', id: asker, infoHash, port: 7000, token, impliedPort: true } });
    expect(h.sent[2].m.y).toBe('r');
    expect(h.node.storedPeers(infoHash)).toEqual([remote]); // implied_port: the datagram's source port
    // A node holding peers still names nodes, so the asker's lookup goes on to the k closest.
    h.deliver(other, { t: Uint8Array.of(4), y: 'q', query: { method: 'get_peers', id: randomId(h.random), infoHash } });
    expect(h.sent[3].m).toMatchObject({ y: 'r', response: { values: [remote], nodes: [{ address: remote }] } });
  });
});
