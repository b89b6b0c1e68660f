// UDP tracker replies (live/udp-tracker.ts, BEP 15). The parsing lives inside UdpTracker, so the
// target drives a real UdpTracker against a fake tracker on 127.0.0.1 that answers each request
// as the input says: the right or a wrong action, the transaction id echoed or not, short, long
// or error packets, any interval, counts and peer bytes. Properties: announce() always settles
// with a result, never a throw or rejection; the requests are well-formed (BEP 15 magic, the
// connection id we gave, 98-byte announce); a valid exchange gives exactly the interval, counts
// and peers (port > 0) of the reply; anything else is an error result naming the tracker.

import { createSocket, type Socket } from 'node:dgram';
import * as fc from 'fast-check';
import { UdpTracker } from '../../live/udp-tracker.ts';
import { bytesEqual } from '../../engine/bytes.ts';
import { escaped, expect, type FuzzTarget } from '../target.ts';

interface ReplySpec {
  /** The action written in the reply: 0 connect, 1 announce, 3 error, or garbage. */
  action: number;
  echoTid: boolean;
  /** Bytes cut from the end (a short reply), or added to it. */
  cut: number;
  extra: number;
  body: Uint8Array;
}

export interface UdpInput {
  connect: ReplySpec & { connectionId: Uint8Array };
  announce: ReplySpec & { interval: number; leechers: number; seeders: number };
}

const reply = (rightAction: number) =>
  fc.record({
    action: fc.oneof({ weight: 8, arbitrary: fc.constant(rightAction) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 2, 3, 0xffff_ffff) }),
    echoTid: fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    cut: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }) }),
    extra: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
    body: fc.uint8Array({ maxLength: 6 * 40 }),
  });

const u32 = fc.oneof(fc.integer({ min: 0, max: 4000 }), fc.constantFrom(0xffff_ffff, 0x8000_0000));

const inputArbitrary: fc.Arbitrary<UdpInput> = fc.record({
  connect: fc.record({ connectionId: fc.uint8Array({ minLength: 8, maxLength: 8 }) }).chain((c) => reply(0).map((r) => ({ ...r, ...c }))),
  announce: fc.record({ interval: u32, leechers: u32, seeders: u32 }).chain((a) => reply(1).map((r) => ({ ...r, ...a }))),
});

/** The fake tracker, shared by all inputs of a run (they run one at a time); unref'd. */
let server: Promise<{ socket: Socket; port: number }> | undefined;
/** The input being run; `client` is the port its UdpTracker sends from (learnt from its first packet). */
let current: InputState | undefined;

interface InputState {
  input: UdpInput;
  faults: string[];
  client?: number;
  /** The try waiting for a reply the tracker must ignore, while there is one: its step, and what ends it. */
  ignoredTry?: { step: 'connect' | 'announce'; expire: () => void };
}

/** Barriers in flight, by token: each resolves when the fake tracker reads it. */
const barriers = new Map<string, () => void>();
let barrierCount = 0;

/**
 * Sends the fake tracker a packet from itself and waits until it reads it. Loopback datagrams are
 * queued as they are sent, so whatever an earlier input's socket sent is read (and dropped: no
 * input is current) before this: it cannot be taken for the next input's connect.
 */
async function drainEarlierInputs(): Promise<void> {
  const { socket, port } = await fakeTracker();
  const token = `barrier ${barrierCount++}`;
  await new Promise<void>((resolve) => {
    // A lost barrier (a full receive buffer) must not stop the run: after a second, go on.
    const fallback = setTimeout(resolve, 1_000);
    barriers.set(token, () => {
      clearTimeout(fallback);
      resolve();
    });
    socket.send(Buffer.from(token, 'latin1'), port, '127.0.0.1');
  });
  barriers.delete(token);
}

/** The fake tracker's port (for test/fuzz.test.ts, which sends it a stray packet). */
export async function fakeTrackerPort(): Promise<number> {
  return (await fakeTracker()).port;
}

function fakeTracker(): Promise<{ socket: Socket; port: number }> {
  server ??= new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.on('error', reject);
    socket.on('message', (msg, from) => {
      if (from.port === socket.address().port) {
        // Our own barrier: every packet sent before it has been read.
        barriers.get(msg.toString('latin1'))?.();
        return;
      }
      if (!current) return;
      const isConnect = msg.length >= 16 && msg.readUInt32BE(8) === 0;
      // Each input has a UdpTracker (and socket) of its own, whose first packet is a connect: the
      // port it comes from is this input's. A packet from another port is an earlier input's, sent
      // in time but read late on a loaded machine: it is no part of this exchange.
      if (isConnect) current.client ??= from.port;
      if (from.port !== current.client) return;
      const spec = isConnect ? current.input.connect : current.input.announce;
      if (isConnect) {
        if (msg.length !== 16 || msg.readBigUInt64BE(0) !== 0x41727101980n) current.faults.push('connect request without the BEP 15 magic or not 16 bytes');
      } else if (msg.length !== 98 || !bytesEqual(new Uint8Array(msg.subarray(0, 8)), current.input.connect.connectionId)) {
        current.faults.push(`announce request of ${msg.length} bytes without the connection id given`);
      }
      const head = Buffer.alloc(isConnect ? 16 : 20);
      head.writeUInt32BE(spec.action >>> 0, 0);
      head.writeUInt32BE(spec.echoTid ? msg.readUInt32BE(12) : (msg.readUInt32BE(12) + 1) >>> 0, 4);
      if (isConnect) Buffer.from(current.input.connect.connectionId).copy(head, 8);
      else {
        const a = current.input.announce;
        head.writeUInt32BE(a.interval >>> 0, 8);
        head.writeUInt32BE(a.leechers >>> 0, 12);
        head.writeUInt32BE(a.seeders >>> 0, 16);
      }
      const full = Buffer.concat([head, isConnect ? Buffer.alloc(0) : Buffer.from(spec.body), Buffer.alloc(spec.extra)]);
      const state = current;
      const step = isConnect ? 'connect' : 'announce';
      socket.send(full.subarray(0, Math.max(0, full.length - spec.cut)), from.port, from.address, () => {
        // Sent on loopback, the datagram waits in the client's socket: the loop's next turn reads
        // it. One turn more, and a reply the tracker did not take has been ignored.
        setImmediate(() => setImmediate(() => state.ignoredTry?.step === step && state.ignoredTry.expire()));
      });
    });
    socket.bind(0, '127.0.0.1', () => {
      socket.unref();
      resolve({ socket, port: socket.address().port });
    });
  });
  return server;
}

/** Whether a reply reaches the tracker's checks intact: echoed, the right action, long enough. */
function accepted(spec: ReplySpec, action: number, headLength: number): boolean {
  const length = headLength + (action === 1 ? spec.body.length : 0) + spec.extra - spec.cut;
  return spec.echoTid && length >= 8 && spec.action === action && length >= headLength;
}

const REQUEST = { infoHash: new Uint8Array(20).fill(1), peerId: new Uint8Array(20).fill(2), port: 6881, uploaded: 0, downloaded: 0, left: 100, event: 'started' as const, numWant: 50 };

async function checkUdp(input: UdpInput): Promise<void> {
  const { port } = await fakeTracker();
  await drainEarlierInputs();
  const state: InputState = { input, faults: [] };
  current = state;
  const url = `udp://127.0.0.1:${port}`;
  // An error packet is shown whatever its length.
  const connectOk = accepted(input.connect, 0, 16);
  const announceOk = connectOk && accepted(input.announce, 1, 20);
  // A step whose reply must be taken gets seconds, so a loaded machine's slow loopback is not
  // taken for a lost reply. A step whose reply must be ignored (a foreign transaction id, or under
  // 8 bytes) ends once that reply has been read, or after 25 ms if it never comes.
  const timeout = announceOk ? 10_000 : 25;
  // One try per step: the first time-out is the connect's, the second the announce's.
  const steps = [{ step: 'connect' as const, taken: connectOk }, { step: 'announce' as const, taken: announceOk }];
  let tries = 0;
  const timer = (ms: number, expire: () => void): (() => void) => {
    const { step, taken } = steps[tries++] ?? { step: 'announce', taken: false };
    const cancel = () => {
      clearTimeout(real);
      if (state.ignoredTry?.expire === end) state.ignoredTry = undefined;
    };
    const end = () => {
      cancel();
      expire();
    };
    const real = setTimeout(end, ms);
    if (!taken) state.ignoredTry = { step, expire: end };
    return cancel;
  };
  const tracker = new UdpTracker(url, 7, { timeout, attempts: 1, setTimer: timer });
  let result;
  try {
    let guard: NodeJS.Timeout | undefined;
    result = await Promise.race([
      tracker.announce(REQUEST),
      new Promise<'hung'>((resolve) => {
        guard = setTimeout(() => resolve('hung'), timeout + 3_000);
      }),
    ]);
    clearTimeout(guard);
  } catch (error) {
    throw escaped(error, 'UdpTracker.announce');
  } finally {
    current = undefined;
  }
  expect(result !== 'hung', `announce did not settle within 3 s of its time-out (${timeout} ms, one try)`);
  expect(state.faults.length === 0, () => state.faults.join('; '));
  if (!result.ok) {
    expect(result.error.startsWith(`tracker ${url}: `), `error result ${JSON.stringify(result.error)} does not name the tracker`);
    expect(!announceOk, () => `a valid exchange failed: ${!result.ok ? result.error : ''}`);
    return;
  }
  expect(announceOk, 'an invalid exchange (wrong action, short reply or foreign transaction id) gave an ok result');
  const a = input.announce;
  expect(result.interval === a.interval >>> 0 && result.incomplete === a.leechers >>> 0 && result.complete === a.seeders >>> 0, 'interval or counts differ from the reply');
  const peerBytes = new Uint8Array([...a.body, ...new Uint8Array(a.extra)]).subarray(0, Math.max(0, a.body.length + a.extra - a.cut));
  const expected: string[] = [];
  for (let i = 0; i + 6 <= peerBytes.length; i += 6) {
    const p = (peerBytes[i + 4] << 8) | peerBytes[i + 5];
    if (p > 0) expected.push(`${peerBytes[i]}.${peerBytes[i + 1]}.${peerBytes[i + 2]}.${peerBytes[i + 3]}:${p}`);
  }
  const got = result.peers.map((p) => `${p.host}:${p.port}`);
  expect(got.length === expected.length && got.every((g, i) => g === expected[i]), () => `peers ${got.join(' ')}, the reply has ${expected.join(' ')}`);
}

export const trackerUdpTarget: FuzzTarget<UdpInput> = {
  name: 'tracker-udp',
  description: 'live/udp-tracker.ts over 127.0.0.1: always settles, well-formed requests, exact fields of a valid reply',
  ciRuns: 40,
  slowMs: 1000,
  arbitrary: inputArbitrary,
  check: async (input) => {
    await checkUdp(input);
  },
};
