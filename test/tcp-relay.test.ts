// The TCP relay (sim/tcp/relay.ts): every fault verb of NetworkFaults on real loopback sockets,
// as the in-memory network does them (test/network-faults.test.ts), and its hygiene: bytes intact,
// memory bounded by backpressure, every socket, listener and timer gone after close(). Real sockets
// on this file's own block 127.B.x.y only; every wait is bounded; only lower bounds on times.

import { createServer, type Server, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TcpNetwork } from '../live/tcp-network.ts';
import { SeededRandom } from '../sim/random.ts';
import { claimBlock, hostAddress, MAX_HOSTS, PRIVATE_PORT, PUBLIC_PORT, tcpCapacity, trackerAddress } from '../sim/tcp/addresses.ts';
import { type RelayClock, type RelayConnection, TcpRelay } from '../sim/tcp/relay.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A real clock that counts its live timers, so a test can see that none is left behind. */
class CountingClock implements RelayClock {
  private readonly origin = performance.now();
  live = 0;
  now(): number {
    return performance.now() - this.origin;
  }
  setTimer(delay: number, fn: () => void): { cancel(): void } {
    this.live++;
    let done = false;
    const finish = () => {
      if (!done) (done = true), this.live--;
    };
    const timer = setTimeout(() => (finish(), fn()), Math.max(0, delay));
    return { cancel: () => (clearTimeout(timer), finish()) };
  }
}

/** Waits until `cond()` holds, checking every 10 ms; fails naming `what` after `timeout` ms. */
async function until(what: string, cond: () => boolean, timeout = 15_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What one private listener accepted: each socket, what it received, its error. */
interface Accepted {
  socket: Socket;
  remoteIp: string;
  received: Buffer[];
  at: number[];
  error?: string;
}

let block: number;
/** Holds the block's tracker address for the whole file: this file's claim on the block. */
let claim: Server;

beforeAll(async () => {
  const claimed = await claimBlock('test/tcp-relay', (b) => listenOn(trackerAddress(b), 6969));
  block = claimed.block;
  claim = claimed.value;
});
afterAll(() => new Promise<void>((resolve) => claim.close(() => resolve())));

function listenOn(host: string, port: number, onSocket: (s: Socket) => void = (s) => s.destroy()): Promise<Server> {
  const server = createServer({ allowHalfOpen: false }, onSocket);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** What each test opened, closed by `afterEach`. */
const opened: { relays: TcpRelay[]; servers: Server[]; sockets: Socket[]; logs: string[][] } = { relays: [], servers: [], sockets: [], logs: [] };
afterEach(async () => {
  // No event handler of the relay threw, whatever the test did to its sockets.
  expect(opened.logs.flat().filter((l) => l.includes('internal error'))).toEqual([]);
  opened.logs = [];
  for (const s of opened.sockets) s.destroy();
  await Promise.all(opened.relays.map((r) => r.close()));
  await Promise.all(opened.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  opened.relays = [];
  opened.servers = [];
  opened.sockets = [];
});

/** A relay with hosts a, b, c (unlimited, no latency), each with a private listener that records what it accepts. */
async function world(o: { retransmission?: { minTimeout: number; maxRetransmissions: number }; latency?: [number, number, number] } = {}) {
  const clock = new CountingClock();
  const log: string[] = [];
  const relay = await TcpRelay.create({ random: new SeededRandom('tcp-relay-test'), clock, log: (l) => log.push(l), retransmission: o.retransmission });
  opened.relays.push(relay);
  opened.logs.push(log);
  const [a, b, c] = [0, 1, 2].map((i) => hostAddress(block, i));
  const accepted = new Map<string, Accepted[]>();
  for (const [i, ip] of [a, b, c].entries()) {
    await relay.addHost({ name: ip, upload: Infinity, download: Infinity, latency: o.latency?.[i] ?? 0 });
    accepted.set(ip, []);
    const server = await listenOn(ip, PRIVATE_PORT, (socket) => {
      const entry: Accepted = { socket, remoteIp: socket.remoteAddress ?? '?', received: [], at: [] };
      accepted.get(ip)!.push(entry);
      opened.sockets.push(socket);
      socket.on('data', (d) => (entry.received.push(d), entry.at.push(clock.now())));
      socket.on('error', (e: NodeJS.ErrnoException) => (entry.error = e.code));
    });
    opened.servers.push(server);
  }
  /** `from` dials `to`'s public address, bound to its own IP, as every peer of a TCP run does. */
  const dial = async (from: string, to: string) => {
    const socket = new Socket();
    opened.sockets.push(socket);
    const state = { socket, received: [] as Buffer[], error: undefined as string | undefined, closed: false };
    socket.on('data', (d) => state.received.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (state.error = e.code));
    socket.on('close', () => (state.closed = true));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ host: to, port: PUBLIC_PORT, localAddress: from }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return state;
  };
  /** The listener side of the `n`th connection `ip` accepted, once it has. */
  const acceptedBy = async (ip: string, n = 0) => {
    await until(`${ip} to accept connection ${n}`, () => accepted.get(ip)!.length > n);
    return accepted.get(ip)![n];
  };
  const bytesOf = (chunks: Buffer[]) => Buffer.concat(chunks);
  return { relay, clock, log, a, b, c, accepted, dial, acceptedBy, bytesOf };
}

describe('TCP relay: addresses', () => {
  it('host addresses fill a block in order, a block holds 250 × 255 hosts, and bad input is named', () => {
    expect(hostAddress(7, 0)).toBe('127.7.1.1');
    expect(hostAddress(7, 254)).toBe('127.7.1.255');
    expect(hostAddress(7, 255)).toBe('127.7.2.1');
    expect(hostAddress(7, MAX_HOSTS - 1)).toBe('127.7.250.255');
    expect(trackerAddress(7)).toBe('127.7.0.1');
    expect(() => hostAddress(7, MAX_HOSTS)).toThrow(/host index must be an integer in \[0, 63749\], got 63750/);
    expect(() => hostAddress(1, 0)).toThrow(/a block is an integer in \[2, 254\], got 1/);
  });

  it('capacity: the open-file limit bounds the peers, with the reason', () => {
    const small = tcpCapacity({ fdLimit: 1024 });
    // 256 kept back; n peers of 2 + 2·min(n − 1, 50) descriptors each: 19 fit in 768, 20 do not.
    expect(small.peers).toBe(19);
    expect(small.reason).toMatch(/open-file limit is 1024 \(ulimit -n\)/);
    expect(tcpCapacity({ fdLimit: 20_000 }).peers).toBe(193);
    expect(tcpCapacity({ fdLimit: 1e9 }).peers).toBe(MAX_HOSTS);
    expect(tcpCapacity().fdLimit).toBeGreaterThan(0);
  });

  it('a block in use is skipped: claimBlock tries the next choice', async () => {
    const taken = new Set<number>();
    const claimed = await claimBlock('test/tcp-relay/in-use', async (b) => {
      if (taken.size === 0) {
        taken.add(b);
        throw Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
      }
      return b;
    });
    expect(taken.has(claimed.block)).toBe(false);
    await expect(claimBlock('x', async () => Promise.reject(new Error('other')))).rejects.toThrow('other');
  });
});

describe('TCP relay: carrying bytes', () => {
  it('bytes pass unchanged both ways, the listener sees the dialer’s IP, and the tap’s counts add up', async () => {
    const w = await world();
    const sent = new Map<string, number>();
    const delivered = new Map<string, number>();
    const events: string[] = [];
    w.relay.tap({
      sent: (c, from, bytes) => sent.set(from, (sent.get(from) ?? 0) + bytes.length),
      delivered: (c, to, total) => delivered.set(to, total),
      opened: (c) => events.push(`open ${c.dialer}→${c.listener}`),
      closed: (c, t, reason) => events.push(`closed ${reason}`),
    });
    const forward = Buffer.from(new SeededRandom('forward').bytes(MiB + 7));
    const backward = Buffer.from(new SeededRandom('backward').bytes(300 * KiB + 3));
    const d = await w.dial(w.a, w.b);
    d.socket.write(forward);
    const l = await w.acceptedBy(w.b);
    expect(l.remoteIp).toBe(w.a);
    l.socket.write(backward);
    await until('both streams', () => w.bytesOf(l.received).length === forward.length && w.bytesOf(d.received).length === backward.length);
    expect(w.bytesOf(l.received).equals(forward)).toBe(true);
    expect(w.bytesOf(d.received).equals(backward)).toBe(true);
    expect(sent.get(w.a)).toBe(forward.length);
    expect(delivered.get(w.b)).toBe(forward.length);
    expect(sent.get(w.b)).toBe(backward.length);
    expect(delivered.get(w.a)).toBe(backward.length);
    // A clean close at one end closes the other, and the tap hears it.
    d.socket.end();
    await until('the close', () => events.length === 2);
    expect(events).toEqual([`open ${w.a}→${w.b}`, 'closed closed']);
    expect(w.relay.connectionsOf([w.a, w.b])).toEqual([]);
  });

  it('TcpNetwork with localAddress dials through the relay from its host IP', async () => {
    const w = await world();
    const dialling = await TcpNetwork.create({ host: w.b, port: 0, localAddress: w.b });
    try {
      const d = dialling.connect({ host: w.a, port: PUBLIC_PORT });
      d.setHandler({ open: () => d.write(new Uint8Array([1, 2, 3])), data() {}, drain() {}, close() {} });
      const l = await w.acceptedBy(w.a);
      await until('the bytes', () => w.bytesOf(l.received).length === 3);
      expect(l.remoteIp).toBe(w.b);
      expect([...w.bytesOf(l.received)]).toEqual([1, 2, 3]);
      expect(w.relay.connectionsOf([w.b]).map((c) => [c.localHost, c.remote.host])).toEqual([[w.b, w.a]]);
    } finally {
      await dialling.close(0);
    }
  });

  it('connectionsOf lists host by host, each host’s in open order, with both ends', async () => {
    const w = await world();
    await w.dial(w.a, w.b);
    await w.acceptedBy(w.b, 0);
    await w.dial(w.c, w.a);
    await w.acceptedBy(w.a, 0);
    await w.dial(w.a, w.c);
    await w.acceptedBy(w.c, 0);
    const ends = (hosts: string[]) => w.relay.connectionsOf(hosts).map((c) => `${c.localHost}>${c.remote.host}`);
    expect(ends([w.a, w.b])).toEqual([`${w.a}>${w.b}`, `${w.a}>${w.c}`, `${w.a}>${w.c}`, `${w.b}>${w.a}`]);
    const [dialerEnd] = w.relay.connectionsOf([w.b]);
    expect(dialerEnd.remote.port).not.toBe(PUBLIC_PORT); // the listener's end: the relay's dial's port
    expect((w.relay.connectionsOf([w.a])[0] as RelayConnection).remote.port).toBe(PUBLIC_PORT);
    // A dialer from an IP the relay was never told of is a host named by that IP.
    const stranger = `127.${block}.9.9`;
    await w.dial(stranger, w.b);
    await w.acceptedBy(w.b, 1);
    expect(ends([stranger])).toEqual([`${stranger}>${w.b}`]);
    expect(w.relay.linkState(stranger, w.b).upload).toBe(Infinity);
  });
});

describe('TCP relay: fault verbs', () => {
  it('latency: what the host sends takes at least the set delay; restore ends it; linkState follows the hosts', async () => {
    const w = await world({ latency: [100, 0, 40] });
    expect(w.relay.linkState(w.a, w.b).latency).toBe(50);
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    const change = w.relay.setLatency([w.a], { latency: 200 });
    expect(w.relay.linkState(w.a, w.b).latency).toBe(100);
    const t0 = w.clock.now();
    d.socket.write('x');
    await until('the byte', () => l.at.length === 1);
    expect(l.at[0] - t0).toBeGreaterThanOrEqual(199);
    w.relay.restore(change);
    const t1 = w.clock.now();
    d.socket.write('y');
    await until('the second byte', () => l.at.length === 2);
    expect(l.at[1] - t1).toBeGreaterThanOrEqual(49); // the route's mean of 100 and 0
    expect(w.bytesOf(l.received).toString()).toBe('xy');
  });

  it('jitter keeps the order', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    w.relay.setLatency([w.a], { latency: 5, jitter: 80 });
    const expected: number[] = [];
    for (let i = 0; i < 30; i++) {
      d.socket.write(Buffer.from([i]));
      expected.push(i);
      await sleep(3);
    }
    await until('every byte', () => w.bytesOf(l.received).length === 30);
    expect([...w.bytesOf(l.received)]).toEqual(expected);
  });

  it('a bandwidth cap slows a 1 MiB transfer to no faster than the cap; restoring it lifts the cap', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    // 1 MiB/s: its bucket holds 20 ms of it, 20971.52 bytes, not a whole number.
    const rate = MiB;
    const change = w.relay.setBandwidth([w.a], { upload: rate });
    const capDown = w.relay.setBandwidth([w.b], { download: 2 * MiB });
    expect(w.relay.linkState(w.a, w.b)).toMatchObject({ upload: rate, download: 2 * MiB });
    // The tap's delivered counts are whole bytes (a wire checker compares them with message ends).
    const totals: number[] = [];
    w.relay.tap({ sent() {}, delivered: (c, to, total) => void (to === w.b && totals.push(total)) });
    const payload = Buffer.from(new SeededRandom('capped').bytes(MiB));
    const t0 = w.clock.now();
    d.socket.write(payload);
    await until('the transfer', () => w.bytesOf(l.received).length === MiB);
    expect(totals.length).toBeGreaterThan(1);
    expect(totals.filter((n) => !Number.isInteger(n))).toEqual([]);
    expect(totals.at(-1)).toBe(MiB);
    // The bucket starts full with 20 ms of the rate: the rest needs (1 MiB − 21 KiB) / rate at least.
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual((((MiB - 21 * KiB) / rate) * 1000) * 0.98);
    expect(w.bytesOf(l.received).equals(payload)).toBe(true);
    w.relay.restore(change);
    w.relay.restore(capDown);
    expect(w.relay.linkState(w.a, w.b)).toMatchObject({ upload: Infinity, download: Infinity });
  });

  it('hold then release delivers everything in order; two overlapping holds: releasing one keeps it held', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    const first = w.relay.hold([w.a]);
    const second = w.relay.hold([w.a]);
    expect(w.relay.linkState(w.a, w.b).heldConnections).toBe(1);
    expect(w.relay.linkState(w.b, w.a).heldConnections).toBe(0);
    for (const part of ['one ', 'two ', 'three']) d.socket.write(part);
    l.socket.write('back'); // not held: a's hold is on what a sends
    await until('the other direction', () => w.bytesOf(d.received).toString() === 'back');
    w.relay.release(first);
    await sleep(300);
    expect(l.received).toEqual([]);
    expect(w.relay.linkState(w.a, w.b).heldConnections).toBe(1);
    w.relay.release(second);
    await until('the held bytes', () => w.bytesOf(l.received).length === 13);
    expect(w.bytesOf(l.received).toString()).toBe('one two three');
    expect(w.relay.linkState(w.a, w.b).heldConnections).toBe(0);
    expect(() => w.relay.release(second)).toThrow(`relay: hold ${second.id} is not active`);
  });

  it('a hold bounds the relay’s memory by backpressure: 8 MiB written, at most ~1 MiB read, all delivered on release', async () => {
    const w = await world();
    let read = 0;
    w.relay.tap({ sent: (c, from, bytes) => void (read += bytes.length), delivered() {} });
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    const hold = w.relay.hold([w.a], { bothWays: true });
    const payload = Buffer.from(new SeededRandom('held').bytes(8 * MiB));
    d.socket.write(payload);
    await until('the relay to stop reading', () => read >= MiB);
    await sleep(300);
    // 1 MiB queued stops reading; one more read of up to 64 KiB may come in.
    expect(read).toBeLessThanOrEqual(MiB + 64 * KiB);
    expect(d.socket.writableLength).toBeGreaterThan(0); // the rest waits in the sender
    w.relay.release(hold);
    await until('the 8 MiB', () => w.bytesOf(l.received).length === payload.length);
    expect(w.bytesOf(l.received).equals(payload)).toBe(true);
  });

  it('a hold and a partition on one connection: releasing the hold delivers nothing until the repair', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    const hold = w.relay.hold([w.a]);
    const cut = w.relay.partition([w.a], [w.b]);
    d.socket.write('x');
    w.relay.release(hold);
    await sleep(300);
    expect(l.received).toEqual([]);
    expect(w.relay.linkState(w.a, w.b).heldConnections).toBe(1);
    w.relay.repair(cut);
    await until('the byte', () => w.bytesOf(l.received).toString() === 'x');
  });

  it('bandwidth and latency changes are layers: ending the older leaves the newer', async () => {
    const w = await world();
    const first = w.relay.setBandwidth([w.a], { upload: 64 * KiB });
    const second = w.relay.setBandwidth([w.a], { upload: 16 * KiB, download: 32 * KiB });
    w.relay.restore(first);
    expect(w.relay.linkState(w.a, w.b).upload).toBe(16 * KiB);
    expect(w.relay.linkState(w.b, w.a).download).toBe(32 * KiB);
    w.relay.restore(second);
    expect(w.relay.linkState(w.a, w.b).upload).toBe(Infinity);
    const slow = w.relay.setLatency([w.a], { latency: 500 });
    const fast = w.relay.setLatency([w.a], { latency: 50 });
    w.relay.restore(slow);
    expect(w.relay.linkState(w.a, w.b).latency).toBe(25);
    w.relay.restore(fast);
    expect(w.relay.linkState(w.a, w.b).latency).toBe(0);
    expect(() => w.relay.restore(fast)).toThrow(`relay: link change ${fast.id} is not active`);
  });

  it('a one-way partition holds one direction only; repair resumes it', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    const cut = w.relay.partition([w.a], [w.b], { oneWay: true });
    expect(w.relay.linkState(w.a, w.b).partitioned).toBe(true);
    expect(w.relay.linkState(w.b, w.a).partitioned).toBe(false);
    d.socket.write('across');
    l.socket.write('back');
    await until('the open direction', () => w.bytesOf(d.received).toString() === 'back');
    await sleep(200);
    expect(l.received).toEqual([]);
    w.relay.repair(cut);
    await until('the cut direction', () => w.bytesOf(l.received).toString() === 'across');
    expect(w.relay.linkState(w.a, w.b).partitioned).toBe(false);
  });

  it('a dial across a partition is accepted but not forwarded until repair; a dialer that gives up meanwhile is dropped', async () => {
    const w = await world();
    const cut = w.relay.partition([w.b], [w.a], { oneWay: true }); // one way blocks dials both ways
    const d = await w.dial(w.a, w.b);
    d.socket.write('hello');
    const quitter = await w.dial(w.a, w.b);
    await sleep(300);
    quitter.socket.destroy();
    await sleep(200);
    expect(w.accepted.get(w.b)).toEqual([]);
    expect(w.relay.connectionsOf([w.a])).toEqual([]);
    w.relay.repair(cut);
    const l = await w.acceptedBy(w.b);
    expect(l.remoteIp).toBe(w.a);
    await until('the early bytes', () => w.bytesOf(l.received).toString() === 'hello');
    await sleep(200);
    expect(w.accepted.get(w.b)!.length).toBe(1); // the one that gave up was never dialled through
  });

  it('two partitions over one link: repairing one keeps the link cut', async () => {
    const w = await world();
    const first = w.relay.partition([w.a], [w.b, w.c]);
    const second = w.relay.partition([w.b], [w.a]);
    w.relay.repair(first);
    expect(w.relay.linkState(w.a, w.b).partitioned).toBe(true);
    expect(w.relay.linkState(w.a, w.c).partitioned).toBe(false);
    await w.dial(w.a, w.c);
    await w.acceptedBy(w.c);
    await w.dial(w.a, w.b);
    await sleep(300);
    expect(w.accepted.get(w.b)).toEqual([]);
    w.relay.repair(second);
    await w.acceptedBy(w.b);
  });

  it('reset makes both ends see ECONNRESET', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    d.socket.write('x');
    await until('the byte', () => l.received.length === 1);
    const reasons: string[] = [];
    w.relay.tap({ sent() {}, delivered() {}, closed: (c, t, reason) => void reasons.push(reason) });
    const [end] = w.relay.connectionsOf([w.a]);
    w.relay.reset(end, 'injected reset');
    await until('both ends to hear the reset', () => d.error !== undefined && l.error !== undefined);
    expect([d.error, l.error]).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(reasons).toEqual(['injected reset']);
    expect(() => w.relay.reset({ localHost: w.a, remote: { host: w.b, port: 1 } }, 'x')).toThrow(/not this relay's/);
  });

  it('crash resets the host’s connections and holds dials to it; restart lets them through', async () => {
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    w.relay.crash(w.b);
    await until('both ends to hear the crash', () => d.error !== undefined && l.error !== undefined);
    expect([d.error, l.error]).toEqual(['ECONNRESET', 'ECONNRESET']);
    const again = await w.dial(w.a, w.b);
    again.socket.write('after');
    await sleep(300);
    expect(w.accepted.get(w.b)!.length).toBe(1);
    w.relay.restart(w.b);
    const l2 = await w.acceptedBy(w.b, 1);
    await until('the bytes', () => w.bytesOf(l2.received).toString() === 'after');
  });

  it('loss delays but delivers, in order', async () => {
    // Time-outs of 10 ms doubling, up to 12 in a row: at a loss of 0.3 TCP gives up on a chunk
    // with odds of 0.3^13, never in practice; some of the 30 chunks come late (all on time: 0.7^30).
    const w = await world({ retransmission: { minTimeout: 10, maxRetransmissions: 12 } });
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    const loss = w.relay.setLoss([w.a], 0.3);
    expect(w.relay.linkState(w.a, w.b).loss).toBe(0.3);
    const sentAt: number[] = [];
    for (let i = 0; i < 30; i++) {
      sentAt.push(w.clock.now());
      d.socket.write(Buffer.from([i]));
      await sleep(5);
    }
    await until('every byte', () => w.bytesOf(l.received).length === 30);
    expect([...w.bytesOf(l.received)]).toEqual([...Array(30).keys()]);
    // When each byte (its value is its index) arrived; the latest after its write waited a time-out at least.
    const arrivals = l.received.flatMap((chunk, k) => [...chunk].map(() => l.at[k]));
    expect(Math.max(...arrivals.map((at, byte) => at - sentAt[byte]))).toBeGreaterThanOrEqual(10);
    w.relay.restore(loss);
    expect(w.relay.linkState(w.a, w.b).loss).toBe(0);
  });

  it('a chunk lost too often in a row resets the connection: a RST both ways', async () => {
    const w = await world({ retransmission: { minTimeout: 20, maxRetransmissions: 3 } });
    const d = await w.dial(w.a, w.c);
    const l = await w.acceptedBy(w.c);
    w.relay.setLoss([w.a], 1);
    const t0 = w.clock.now();
    d.socket.write('never');
    // 3 time-outs of 20, 40 and 80 ms, then TCP gives up.
    await until('the reset', () => d.error !== undefined && l.error !== undefined);
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual(139);
    expect([d.error, l.error]).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(l.received).toEqual([]);
  });

  it('a dial to a host whose peer does not listen is reset, as a refused dial', async () => {
    const w = await world();
    const lonely = hostAddress(block, 3);
    await w.relay.addHost({ name: lonely, upload: Infinity, download: Infinity, latency: 0 });
    const d = await w.dial(w.a, lonely);
    await until('the reset', () => d.error !== undefined);
    expect(d.error).toBe('ECONNRESET');
    expect(w.log.some((line) => line.includes('ECONNREFUSED'))).toBe(true);
  });

  it('bad input is a clear error naming what is wrong', async () => {
    const w = await world();
    expect(() => w.relay.hold(['nobody'])).toThrow("relay: no host named 'nobody'");
    expect(() => w.relay.setLoss([w.a], 1.5)).toThrow('relay: loss must be in [0, 1], got 1.5');
    const cut = w.relay.partition([w.a], [w.b]);
    w.relay.repair(cut);
    expect(() => w.relay.repair(cut)).toThrow(`relay: partition ${cut.id} is not active`);
    await expect(w.relay.addHost({ name: w.a, upload: 1, download: 1, latency: 0 })).rejects.toThrow(`relay: host ${w.a} is already added`);
    await expect(w.relay.addHost({ name: 'localhost', upload: 1, download: 1, latency: 0 })).rejects.toThrow(/named by its 127.x.y.z address/);
  });
});

describe('TCP relay: close', () => {
  it('close() closes every socket and listener and leaves no timer; a second close is a no-op; the ports are free again', async () => {
    const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const before = tcpHandles();
    const w = await world();
    const d = await w.dial(w.a, w.b);
    const l = await w.acceptedBy(w.b);
    w.relay.setLatency([w.a], { latency: 10_000 });
    d.socket.write('pending'); // a timer waits for it
    const held = await w.dial(w.a, w.c);
    w.relay.crash(w.c);
    w.relay.partition([w.c], [w.a]);
    await w.dial(w.a, w.c); // a dial waiting to be forwarded
    await until('the delay timer', () => w.clock.live > 0);
    await w.relay.close();
    await w.relay.close();
    expect(w.clock.live).toBe(0);
    await until('the sockets to close', () => d.closed && held.closed && l.socket.destroyed);
    for (const ip of [w.a, w.b, w.c]) {
      const again = await listenOn(ip, PUBLIC_PORT);
      await new Promise<void>((resolve) => again.close(() => resolve()));
    }
    // With the test's own sockets and listeners gone too, no TCP handle is left of the relay's.
    for (const s of opened.sockets) s.destroy();
    await Promise.all(opened.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    opened.sockets = [];
    opened.servers = [];
    // (At most as many as before: sockets of the test before may still have been closing then.)
    await until('every TCP handle to close', () => tcpHandles() <= before);
  });
});
