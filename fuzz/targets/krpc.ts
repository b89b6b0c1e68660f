// KRPC (engine/dht/krpc.ts) and the DHT node that reads it (engine/dht/node.ts). Input: a KRPC
// message of any kind (queries of the four methods, replies with nodes, peers and tokens, errors),
// encoded and maybe mutated. Properties: decodeKrpc gives a message or a KrpcError, never another
// throw; an unmutated message decodes to exactly what was encoded; whatever decodes re-encodes to
// bytes that decode to the same message (a fixed point); decoded ids are 20 bytes, ports in
// 1..65535 (an announce with implied_port aside), tokens within their bound; a DhtNode fed the
// datagram never throws, and whatever it sends back is a well-formed KRPC message.

import * as fc from 'fast-check';
import { bytesEqual } from '../../engine/bytes.ts';
import { decodeKrpc, encodeKrpc, KrpcError, type KrpcMessage, type KrpcQuery, type NodeInfo } from '../../engine/dht/krpc.ts';
import { DhtNode } from '../../engine/dht/node.ts';
import type { DatagramPort, PeerAddress } from '../../engine/ports.ts';
import { SeededRandom } from '../../sim/random.ts';
import { Scheduler } from '../../sim/scheduler.ts';
import { ascii, mutatedBytes } from '../mutate.ts';
import { escaped, expect, type FuzzTarget, typedOutcome } from '../target.ts';

const TOKENS = ['1:q', '1:r', '1:e', '1:y', '1:t', '2:id', '5:nodes', '6:values', '5:token', '9:info_hash', '4:port', '12:implied_port', '4:ping', '9:find_node', '9:get_peers', '13:announce_peer', 'i0e', 'i65536e', 'le', 'de', '20:', '26:', '6:'].map(ascii);

const id = fc.uint8Array({ minLength: 20, maxLength: 20 });
const address: fc.Arbitrary<PeerAddress> = fc.record({ host: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.')), port: fc.integer({ min: 1, max: 0xffff }) });
const node: fc.Arbitrary<NodeInfo> = fc.record({ id, address });
const token = fc.uint8Array({ minLength: 1, maxLength: 40 });
const t = fc.uint8Array({ minLength: 1, maxLength: 16 });

const query: fc.Arbitrary<KrpcQuery> = fc.oneof(
  fc.record({ method: fc.constant('ping' as const), id }),
  fc.record({ method: fc.constant('find_node' as const), id, target: id }),
  fc.record({ method: fc.constant('get_peers' as const), id, infoHash: id }),
  fc.record({ method: fc.constant('announce_peer' as const), id, infoHash: id, port: fc.integer({ min: 1, max: 0xffff }), token, impliedPort: fc.boolean() }),
);

const message: fc.Arbitrary<KrpcMessage> = fc.oneof(
  fc.record({ t, y: fc.constant('q' as const), query }, { requiredKeys: ['t', 'y', 'query'] }),
  fc.record({ t, y: fc.constant('q' as const), query, version: fc.uint8Array({ maxLength: 4 }) }),
  fc.record({ t, y: fc.constant('r' as const), response: fc.record({ id, nodes: fc.array(node, { maxLength: 16 }), values: fc.array(address, { maxLength: 60 }), token }, { requiredKeys: ['id'] }) }),
  fc.record({ t, y: fc.constant('e' as const), error: fc.record({ code: fc.integer({ min: -1000, max: 1000 }), message: fc.stringMatching(/^[ -~]{0,40}$/) }) }),
);

interface KrpcInput {
  value: KrpcMessage;
  bytes: Uint8Array;
  mutated: boolean;
}

/** A node on a private clock, with a datagram port that keeps what the node sends. */
function nodeUnderTest(): { node: DhtNode; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const datagrams: DatagramPort = { localAddress: { host: '10.0.0.1', port: 6881 }, send: (_to, bytes) => sent.push(bytes), onDatagram: () => {} };
  return { node: new DhtNode({ clock: new Scheduler(), random: new SeededRandom('krpc-fuzz'), datagrams }), sent };
}

export const krpcTarget: FuzzTarget<KrpcInput> = {
  name: 'krpc',
  description: 'engine/dht/krpc.ts and the DhtNode reading it: KrpcError only, exact round trips, re-encoding a fixed point, ids/ports/tokens in range, the node never throws and answers well-formed KRPC',
  ciRuns: 300,
  slowMs: 200,
  arbitrary: message.chain((value) => mutatedBytes(fc.constant(encodeKrpc(value)), TOKENS).map((m) => ({ value, ...m }))),
  check: ({ bytes, mutated }) => {
    const outcome = typedOutcome(() => decodeKrpc(bytes), [KrpcError], 'decodeKrpc');
    if (!('value' in outcome)) {
      expect(mutated, () => `a valid KRPC message was refused: ${outcome.error.message}`);
      expect((outcome.error as KrpcError).kind !== undefined, 'a KrpcError without a kind');
    } else {
      const m = outcome.value;
      const again = encodeKrpc(m);
      if (!mutated) expect(bytesEqual(again, bytes), 'an unmutated message did not re-encode to its bytes');
      expect(bytesEqual(encodeKrpc(decodeKrpc(again)), again), 'decode∘encode is not a fixed point');
      if (m.y === 'q') {
        expect(m.query.id.length === 20, 'a query id of the wrong length');
        if (m.query.method === 'announce_peer') {
          expect(m.query.impliedPort || (m.query.port >= 1 && m.query.port <= 0xffff), `port ${m.query.port} accepted`);
          expect(m.query.token.length >= 1 && m.query.token.length <= 40, 'token out of bounds');
        }
      } else if (m.y === 'r') {
        expect(m.response.id.length === 20, 'a reply id of the wrong length');
        for (const n of m.response.nodes ?? []) expect(n.id.length === 20 && n.address.port >= 1, 'a bad node accepted');
        for (const p of m.response.values ?? []) expect(p.port >= 1 && p.port <= 0xffff, `peer port ${p.port} accepted`);
      }
    }
    const { node, sent } = nodeUnderTest();
    try {
      node.receive({ host: '10.0.0.2', port: 6881 }, bytes);
    } catch (error) {
      throw escaped(error, 'DhtNode.receive');
    }
    for (const reply of sent) {
      const r = typedOutcome(() => decodeKrpc(reply), [], 'decodeKrpc of what the node sent');
      expect('value' in r, 'the node sent a datagram that is not KRPC');
    }
  },
};
