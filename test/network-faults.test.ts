// The network's fault verbs (NetworkFaults on SimNetwork): each does what it says, faults on one
// link compose, and ending one never undoes another. Tiny networks on virtual time, exact times.

import { describe, expect, it } from 'vitest';
import type { Connection, Random } from '../engine/ports.ts';
import { KiB, perSecond, SimNetwork } from '../sim/network.ts';
import { SeededRandom } from '../sim/random.ts';
import { Scheduler } from '../sim/scheduler.ts';

/** Hosts a, b, c, each with a 5 ms link (so 5 ms one way between two: the mean), unlimited rates; b and c listen. */
function world(random: Random = new SeededRandom('network-faults')) {
  const s = new Scheduler();
  const net = new SimNetwork(s, undefined, random);
  const hosts = Object.fromEntries(
    ['a', 'b', 'c'].map((name) => [name, net.addHost({ label: name, address: { host: name, port: 1 }, upload: Infinity, download: Infinity, latency: 5 })]),
  );
  const arrivals: { at: number; to: string; byte: number }[] = [];
  const closes: { at: number; host: string; reason: string }[] = [];
  for (const name of ['b', 'c']) {
    hosts[name].listen((c) =>
      c.setHandler({
        open() {},
        data: (bytes) => bytes.forEach((byte) => arrivals.push({ at: s.now(), to: name, byte })),
        drain() {},
        close: (reason) => void closes.push({ at: s.now(), host: name, reason: reason ?? '' }),
      }),
    );
  }
  /** a dials `to`; open after a round trip (10 ms). */
  const dial = (to: string) => {
    const conn = hosts.a.connect({ host: to, port: 1 });
    const state = { open: false, closed: undefined as string | undefined };
    conn.setHandler({ open: () => void (state.open = true), data() {}, drain() {}, close: (r) => void (state.closed = r) });
    return { conn, state };
  };
  /** Writes one marker byte now; its arrival is looked up by value. */
  const send = (conn: Connection, byte: number) => conn.write(new Uint8Array([byte]));
  const arrivalOf = (byte: number) => arrivals.find((a) => a.byte === byte)?.at;
  /** Runs virtual time to `t` exactly (the scheduler alone stops at its last event). */
  const runTo = (t: number) => {
    s.at(t, () => {});
    s.run(t);
  };
  return { s, net, hosts, arrivals, closes, dial, send, arrivalOf, runTo };
}

describe('network fault verbs', () => {
  it('latency: open connections carry what the hosts send with exactly that latency; restore brings the route back', () => {
    const w = world();
    const { conn } = w.dial('b');
    w.runTo(100);
    const change = w.net.setLatency(['a'], { latency: 200 });
    w.send(conn, 1);
    w.runTo(1_000);
    expect(w.arrivalOf(1)).toBe(300);
    w.net.restore(change);
    w.send(conn, 2);
    w.runTo(2_000);
    expect(w.arrivalOf(2)).toBe(1_005);
  });

  it('two latency changes that overlap: ending the first leaves the second in force, ending both the route', () => {
    const w = world();
    const { conn } = w.dial('b');
    w.runTo(100);
    const first = w.net.setLatency(['a'], { latency: 500 });
    const second = w.net.setLatency(['a'], { latency: 50 });
    w.net.restore(first);
    w.send(conn, 1);
    w.runTo(1_000);
    expect(w.arrivalOf(1)).toBe(150);
    w.net.restore(second);
    w.send(conn, 2);
    w.runTo(2_000);
    expect(w.arrivalOf(2)).toBe(1_005);
  });

  it('a latency change and a hold on one link: releasing the hold keeps the latency; restoring the latency keeps the hold', () => {
    const w = world();
    const { conn } = w.dial('b');
    w.runTo(100);
    const slow = w.net.setLatency(['a'], { latency: 300 });
    const hold = w.net.hold(['a']);
    w.send(conn, 1);
    w.runTo(500);
    expect(w.arrivalOf(1)).toBeUndefined(); // held
    w.net.restore(slow);
    w.runTo(700);
    expect(w.arrivalOf(1)).toBeUndefined(); // still held: the latency's end did not end the hold
    expect(w.net.linkState('a', 'b').heldConnections).toBe(1);
    w.net.release(hold);
    w.runTo(2_000);
    expect(w.arrivalOf(1)).toBe(705); // released at 700, at the route's 5 ms again
  });

  it('a hold and a partition on one connection: releasing the hold delivers nothing until the repair', () => {
    const w = world();
    const { conn } = w.dial('b');
    w.runTo(100);
    const hold = w.net.hold(['a']);
    const cut = w.net.partition(['a'], ['b']);
    w.send(conn, 1);
    w.runTo(200);
    w.net.release(hold);
    w.runTo(400);
    expect(w.arrivalOf(1)).toBeUndefined();
    w.net.repair(cut);
    w.runTo(1_000);
    expect(w.arrivalOf(1)).toBe(405);
  });

  it('a cut link takes about one TCP window from its writer; the rest waits in the writer’s buffer, where it can be seen, and all arrives in order at the repair', () => {
    const w = world();
    const { conn } = w.dial('b');
    w.runTo(100);
    const cut = w.net.partition(['a'], ['b']);
    const block = 16 * KiB;
    for (let i = 0; i < 32; i++) conn.write(new Uint8Array(block).fill(i)); // 512 KiB
    w.runTo(5_000);
    // What the cut link took (held for the repair) is about a window: 64 KiB, in whole batches.
    const inBuffer = conn.bufferedBytes();
    expect(512 * KiB - inBuffer).toBeGreaterThanOrEqual(64 * KiB);
    expect(512 * KiB - inBuffer).toBeLessThanOrEqual(64 * KiB + block);
    expect(w.arrivals).toHaveLength(0);
    w.net.repair(cut);
    w.runTo(10_000);
    expect(conn.bufferedBytes()).toBe(0);
    expect(w.arrivals).toHaveLength(512 * KiB);
    expect(w.arrivals.every((a, i) => a.byte === Math.floor(i / block))).toBe(true);
  });
  it('two partitions over one link: repairing one keeps the other; dials across time out until both are repaired', () => {
    const w = world();
    const first = w.net.partition(['a'], ['b', 'c']);
    const second = w.net.partition(['b'], ['a']);
    w.net.repair(first);
    expect(w.net.linkState('a', 'b').partitioned).toBe(true);
    expect(w.net.linkState('a', 'c').partitioned).toBe(false);
    const blocked = w.dial('b');
    const free = w.dial('c');
    w.runTo(5_000);
    expect(blocked.state.closed).toBe('connection timed out');
    expect(free.state.open).toBe(true);
    w.net.repair(second);
    const later = w.dial('b');
    w.runTo(6_000);
    expect(later.state.open).toBe(true);
  });

  it('a one-way partition holds one direction only, and blocks dials both ways', () => {
    const w = world();
    const { conn } = w.dial('b');
    const back: number[] = [];
    w.runTo(100);
    const server = w.hosts.b.connections()[0];
    conn.setHandler({ open() {}, data: (bytes) => back.push(...bytes), drain() {}, close() {} });
    const cut = w.net.partition(['a'], ['b'], { oneWay: true });
    expect(w.net.linkState('a', 'b').partitioned).toBe(true);
    expect(w.net.linkState('b', 'a').partitioned).toBe(false);
    w.send(conn, 1);
    server.write(new Uint8Array([9]));
    w.runTo(500);
    expect(w.arrivalOf(1)).toBeUndefined();
    expect(back).toEqual([9]);
    const redial = w.dial('b');
    w.runTo(4_000);
    expect(redial.state.closed).toBe('connection timed out');
    w.net.repair(cut);
    w.runTo(5_000);
    expect(w.arrivalOf(1)).toBe(4_005);
  });

  it('bandwidth changes overlap: ending the older one leaves the newer rate', () => {
    const w = world();
    w.runTo(0);
    const first = w.net.setBandwidth(['a'], { upload: 64 * KiB });
    const second = w.net.setBandwidth(['a'], { upload: 16 * KiB, download: 32 * KiB });
    w.net.restore(first);
    expect(w.net.linkState('a', 'b').upload).toBe(16 * KiB);
    expect(w.hosts.a.download).toBe(perSecond(32 * KiB));
    w.net.restore(second);
    expect(w.net.linkState('a', 'b').upload).toBe(Infinity);
    expect(w.hosts.a.download).toBe(Infinity);
  });

  it('reset breaks a connection at both ends; crash makes a host unreachable until restart', () => {
    const w = world();
    const one = w.dial('b');
    const two = w.dial('c');
    w.runTo(100);
    const [toB] = w.net.connectionsOf(['a']).filter((c) => c.remote.host === 'b');
    w.net.reset(toB, 'injected reset');
    w.runTo(200);
    expect(one.state.closed).toBe('injected reset');
    expect(w.closes).toEqual([{ at: 105, host: 'b', reason: 'connection reset: injected reset' }]);
    w.net.crash('c');
    w.runTo(300);
    expect(two.state.closed).toBe('connection reset: host gone');
    const dead = w.dial('c');
    w.runTo(4_000);
    expect(dead.state.closed).toBe('connection timed out');
    w.net.restart('c');
    const alive = w.dial('c');
    w.runTo(5_000);
    expect(alive.state.open).toBe(true);
  });

  it('loss: lost batches arrive later, intact and in order; a batch lost 16 times in a row resets the connection once TCP gives up', () => {
    const w = world();
    const { conn } = w.dial('b');
    w.runTo(100);
    const loss = w.net.setLoss(['a'], 0.5);
    for (let i = 0; i < 40; i++) {
      w.send(conn, i);
      w.runTo(100 + 10 * (i + 1));
    }
    w.runTo(60_000);
    expect(w.arrivals.map((a) => a.byte)).toEqual([...Array(40).keys()]);
    // Each byte goes at 10 ms steps; some were lost at least once (220 ms each): later than 10 ms.
    expect(w.arrivals.some((a, i) => a.at > 100 + 10 * i + 10)).toBe(true);
    w.net.restore(loss);
    expect(w.net.linkState('a', 'b').loss).toBe(0);

    const always = world();
    const lossy = always.dial('b');
    always.runTo(100);
    always.net.setLoss(['a'], 1);
    always.send(lossy.conn, 1);
    // 15 time-outs of 210 ms, doubling: 210 × (2^15 − 1) ms after the send.
    const givesUp = 100 + 210 * (2 ** 15 - 1);
    always.runTo(givesUp - 1);
    expect(lossy.state.closed).toBeUndefined();
    always.runTo(givesUp);
    expect(lossy.state.closed).toBe('retransmission timed out');
    expect(always.arrivals).toEqual([]);
  });

  it('a write tap sees every write; several taps each do', () => {
    const w = world();
    const seen: string[] = [];
    w.net.tapWrites((from) => seen.push(`1:${from.localHost}`));
    const stop = w.net.tapWrites((from) => seen.push(`2:${from.localHost}`));
    const { conn } = w.dial('b');
    w.runTo(100);
    w.send(conn, 1);
    stop();
    w.send(conn, 2);
    expect(seen).toEqual(['1:a', '2:a', '1:a']);
  });

  it('bad input is a clear error naming what is wrong', () => {
    const w = world();
    expect(() => w.net.hold(['nobody'])).toThrow("network: no host named 'nobody'");
    expect(() => w.net.setLoss(['a'], 1.5)).toThrow('network: loss must be in [0, 1], got 1.5');
    const cut = w.net.partition(['a'], ['b']);
    w.net.repair(cut);
    expect(() => w.net.repair(cut)).toThrow(`network: partition ${cut.id} is not active`);
    expect(() => w.net.reset({ localHost: 'a', remote: { host: 'b', port: 1 } }, 'x')).toThrow(/not this network's/);
  });
});
