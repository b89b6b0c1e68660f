// HTTP tracker replies (live/tracker-reply.ts parseAnnounceReply). Input: a reply built from BEP
// 3/23/7 fields — interval, failure reason, compact `peers` (sometimes ~125,000 of them, 750 KB,
// under the 1 MiB body limit), dictionary peer lists with bad entries, `peers6` — then maybe
// mutated. Properties: the parser never throws (garbage is an error result); an ok result has a
// non-negative interval or none (a missing or malformed one is left to the client's default, as
// libtorrent does) and only usable peers (port 1..65535, a host, a 20-byte peer id if any);
// an unmutated reply gives exactly the peers it lists, in order, its interval if valid, its
// `warning message` (control characters blanked) and its `tracker id`.

import * as fc from 'fast-check';
import { type BInput, bencodeValue } from '../../engine/bdecode.ts';
import type { AnnouncePeer } from '../../engine/ports.ts';
import { parseAnnounceReply } from '../../live/tracker-reply.ts';
import { applyMutations, ascii, type Mutation, mutationArbitrary } from '../mutate.ts';
import { bytesEqual, concatBytes } from '../../engine/bytes.ts';
import { escaped, expect, type FuzzTarget } from '../target.ts';

/** `count` compact entries of `size` bytes, filled from `seed` (cheap to draw, whatever the count). */
function compactEntries(count: number, size: number, seed: number): Uint8Array {
  const out = new Uint8Array(count * size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const peerCount = fc.oneof({ weight: 200, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(125_000, 174_000) });

const dictPeer = fc.record({
  ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom<BInput>('', 7, 'host.example')),
  port: fc.oneof(fc.integer({ min: 1, max: 0xffff }), fc.constantFrom<BInput>(0, -1, 65536, '80')),
  id: fc.option(fc.uint8Array({ minLength: 19, maxLength: 21 }), { freq: 2 }),
});

const replyArbitrary = fc.record({
  interval: fc.oneof(fc.integer({ min: 0, max: 3600 }), fc.constantFrom<BInput>(-1, 2 ** 53 - 1, '1800')),
  hasInterval: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  failure: fc.option(fc.string({ maxLength: 30 }), { freq: 8 }),
  peers: fc.oneof(
    fc.record({ kind: fc.constant('compact' as const), count: peerCount, seed: fc.nat(), extra: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }) }),
    fc.record({ kind: fc.constant('dict' as const), list: fc.array(fc.oneof({ weight: 9, arbitrary: dictPeer }, { weight: 1, arbitrary: fc.constant(null) }), { maxLength: 10 }) }),
    fc.record({ kind: fc.constant('none' as const) }),
  ),
  peers6: fc.option(fc.record({ count: peerCount, seed: fc.nat() }), { freq: 3 }),
  complete: fc.option(fc.integer({ min: 0, max: 10_000 }), { freq: 2 }),
  warning: fc.option(fc.string({ maxLength: 40 }), { freq: 4 }),
  trackerId: fc.option(fc.uint8Array({ maxLength: 30 }), { freq: 4 }),
});

type ReplySpec = typeof replyArbitrary extends fc.Arbitrary<infer S> ? S : never;

function build(spec: ReplySpec): { body: Uint8Array; expected: { ok: false } | { ok: true; peers: AnnouncePeer[]; interval: number | undefined; warning: string | undefined; trackerId: Uint8Array | undefined } } {
  const reply: { [key: string]: BInput } = {};
  if (spec.hasInterval) reply.interval = spec.interval;
  if (spec.failure !== null) reply['failure reason'] = spec.failure;
  if (spec.complete !== null) reply.complete = spec.complete;
  // `!= null`: reproducers saved before these fields existed lack them.
  if (spec.warning != null) reply['warning message'] = spec.warning;
  if (spec.trackerId != null) reply['tracker id'] = spec.trackerId;
  const peers: AnnouncePeer[] = [];
  let valid = spec.failure === null;
  const interval = spec.hasInterval && typeof spec.interval === 'number' && spec.interval >= 0 ? spec.interval : undefined;
  if (spec.peers.kind === 'compact') {
    const bytes = compactEntries(spec.peers.count, 6, spec.peers.seed);
    reply.peers = spec.peers.extra ? concatBytes([bytes, new Uint8Array(spec.peers.extra)]) : bytes;
    if (spec.peers.extra) valid = false;
    for (let i = 0; i < bytes.length; i += 6) {
      const port = (bytes[i + 4] << 8) | bytes[i + 5];
      if (port > 0) peers.push({ host: `${bytes[i]}.${bytes[i + 1]}.${bytes[i + 2]}.${bytes[i + 3]}`, port });
    }
  } else if (spec.peers.kind === 'dict') {
    reply.peers = spec.peers.list.map((p) => (p === null ? 5 : { ip: p.ip, port: p.port, ...(p.id ? { 'peer id': p.id } : {}) }));
    for (const p of spec.peers.list) {
      if (p === null || typeof p.ip !== 'string' || p.ip === '' || typeof p.port !== 'number' || p.port <= 0 || p.port > 0xffff) continue;
      peers.push(p.id && p.id.length === 20 ? { host: p.ip, port: p.port, peerId: p.id } : { host: p.ip, port: p.port });
    }
  }
  if (spec.peers6 !== null) {
    const bytes = compactEntries(spec.peers6.count, 18, spec.peers6.seed);
    reply.peers6 = bytes;
    for (let i = 0; i < bytes.length; i += 18) {
      const port = (bytes[i + 16] << 8) | bytes[i + 17];
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(((bytes[i + 2 * g] << 8) | bytes[i + 2 * g + 1]).toString(16));
      if (port > 0) peers.push({ host: groups.join(':'), port });
    }
  }
  const warning = spec.warning ? spec.warning.replace(/[\u0000-\u001f\u007f]/g, ' ') : undefined;
  const trackerId = spec.trackerId?.length ? spec.trackerId : undefined;
  return { body: bencodeValue(reply), expected: valid ? { ok: true, peers, interval, warning, trackerId } : { ok: false } };
}

const TOKENS = ['e', 'd', 'i-1e', '5:peers', '6:peers6', '8:interval', '14:failure reason', '4:ip', '4:port', 'le'].map(ascii);

/** The reply's fields and the mutations of its bytes, not the bytes: a reproducer of a 750 KB reply stays small. */
export interface TrackerHttpInput {
  spec: ReplySpec;
  mutations: Mutation[];
}

export const trackerHttpTarget: FuzzTarget<TrackerHttpInput> = {
  name: 'tracker-http',
  description: 'live/tracker-reply.ts parseAnnounceReply: never throws, only usable peers, exact peers of a valid reply (any size)',
  ciRuns: 200,
  slowMs: 1000,
  arbitrary: fc.record({
    spec: replyArbitrary,
    mutations: fc.oneof(fc.constant([] as Mutation[]), fc.array(mutationArbitrary(TOKENS), { minLength: 1, maxLength: 3 })),
  }),
  check: (input) => {
    const { body, expected } = build(input.spec);
    // Mutations that happen to change nothing still count as mutated: the exact-peers oracle is then skipped.
    checkReply(applyMutations(body, input.mutations), input.mutations.length === 0 ? expected : undefined);
  },
};

function checkReply(body: Uint8Array, expected: ReturnType<typeof build>['expected'] | undefined): void {
  let result;
  try {
    result = parseAnnounceReply(body);
  } catch (error) {
    throw escaped(error, 'parseAnnounceReply');
  }
  if (!result.ok) {
    expect(typeof result.error === 'string' && result.error.length > 0, 'an error result without a message');
    expect(expected?.ok !== true, () => `a valid reply was refused: ${!result.ok ? result.error : ''}`);
    return;
  }
  const interval = result.interval;
  expect(interval === undefined || (Number.isSafeInteger(interval) && interval >= 0), `interval ${interval}`);
  expect(result.warning === undefined || (result.warning.length <= 1024 && !/[\u0000-\u001f\u007f]/.test(result.warning)), 'a warning with control characters or over 1 KiB');
  expect(result.trackerId === undefined || (result.trackerId.length > 0 && result.trackerId.length <= 1024), 'an empty or oversized tracker id');
  for (const p of result.peers) {
    expect(Number.isInteger(p.port) && p.port > 0 && p.port <= 0xffff, `peer port ${p.port}`);
    expect(typeof p.host === 'string' && p.host.length > 0, `peer host ${JSON.stringify(p.host)}`);
    expect(p.peerId === undefined || p.peerId.length === 20, 'a peer id that is not 20 bytes');
  }
  if (expected) {
    expect(expected.ok, 'an invalid reply (failure reason or odd compact length) was accepted');
    expect(result.interval === expected.interval, `interval ${result.interval}, the reply's valid interval is ${expected.interval}`);
    expect(result.warning === expected.warning, `warning ${JSON.stringify(result.warning)}, the reply says ${JSON.stringify(expected.warning)}`);
    expect((result.trackerId === undefined) === (expected.trackerId === undefined) && (!expected.trackerId || bytesEqual(result.trackerId!, expected.trackerId)), 'tracker id differs from the reply');
    expect(result.peers.length === expected.peers.length, `${expected.peers.length} peers in the reply, ${result.peers.length} parsed`);
    for (let i = 0; i < expected.peers.length; i++) {
      const a = result.peers[i];
      const b = expected.peers[i];
      expect(a.host === b.host && a.port === b.port && (a.peerId === undefined) === (b.peerId === undefined), () => `peer ${i}: ${a.host}:${a.port} parsed, ${b.host}:${b.port} in the reply`);
    }
  }
}
