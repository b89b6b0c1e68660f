// The simulator's scheduler and network.

import { describe, expect, it } from 'vitest';
import type { Connection } from '../engine/ports.ts';
import { KiB, perSecond, SimNetwork } from '../sim/network.ts';
import { SeededRandom } from '../sim/random.ts';
import { Scheduler } from '../sim/scheduler.ts';

describe('Scheduler', () => {
  it('runs events in time order, ties in insertion order', () => {
    const s = new Scheduler();
    const order: string[] = [];
    s.at(5, () => order.push('b'));
    s.at(1, () => order.push('a'));
    s.at(5, () => order.push('c'));
    s.at(5, () => s.setTimer(0, () => order.push('e')));
    s.at(5, () => order.push('d'));
    s.run();
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(s.now()).toBe(5);
  });

  it('cancelled timers do not run; run stops at the limit', () => {
    const s = new Scheduler();
    const ran: number[] = [];
    s.setTimer(1, () => ran.push(1)).cancel();
    s.setTimer(2, () => ran.push(2));
    s.setTimer(10, () => ran.push(10));
    expect(s.run(5)).toBe(5);
    expect(ran).toEqual([2]);
  });

  it('keeps (time, order scheduled) order over thousands of events, some cancelled, some scheduled while running', () => {
    const random = new SeededRandom('scheduler-order');
    const s = new Scheduler();
    // Every event as the order says it must run: by time, then by when it was scheduled.
    const expected: { time: number; seq: number; id: number }[] = [];
    const ran: number[] = [];
    let seq = 0;
    const schedule = (time: number, id: number, depth: number) => {
      const mine = { time: Math.max(time, s.now()), seq: seq++, id };
      const handle = s.at(time, () => {
        ran.push(id);
        // Some events schedule more, at once (ties with events already queued) or later.
        if (depth < 2 && random.next() < 0.3) schedule(s.now() + Math.floor(random.next() * 4), id * 10 + 1, depth + 1);
      });
      if (random.next() < 0.1) handle.cancel();
      else expected.push(mine);
    };
    // Few distinct times, so that most events tie with others.
    for (let id = 0; id < 5_000; id++) schedule(Math.floor(random.next() * 200), id, 0);
    s.run();
    // Events scheduled while running were added to `expected` as they were made: sort it all now.
    expected.sort((a, b) => a.time - b.time || a.seq - b.seq);
    expect(ran).toEqual(expected.map((e) => e.id));
    expect(s.pending).toBe(0);
  });
});

function pair(upload: number, download: number, latency = 10) {
  const s = new Scheduler();
  const net = new SimNetwork(s, () => latency);
  const a = net.addHost({ label: 'a', address: { host: 'a', port: 1 }, upload, download });
  const b = net.addHost({ label: 'b', address: { host: 'b', port: 1 }, upload, download });
  const received: { at: number; bytes: Uint8Array }[] = [];
  let server: Connection | undefined;
  b.listen((c) => {
    server = c;
    c.setHandler({ open() {}, data: (bytes) => received.push({ at: s.now(), bytes }), drain() {}, close() {} });
  });
  return { s, net, a, b, received, server: () => server };
}

describe('SimNetwork', () => {
  it('opens after a round trip and delivers in order, the same arrays that were written', () => {
    const { s, a, received } = pair(Infinity, Infinity, 10);
    const conn = a.connect({ host: 'b', port: 1 });
    let openedAt = -1;
    conn.setHandler({ open: () => void (openedAt = s.now()), data() {}, drain() {}, close() {} });
    const chunks = [new Uint8Array([1]), new Uint8Array([2, 3]), new Uint8Array([4])];
    s.run(15);
    for (const c of chunks) conn.write(c);
    s.run();
    expect(openedAt).toBe(20);
    expect(received.map((r) => r.bytes)).toEqual(chunks);
    expect(received[0].bytes).toBe(chunks[0]);
    expect(received[0].at).toBe(25);
  });

  it('tells the delivery taps the running total each end has been handed, before its handler reads it', () => {
    const { s, net, a, received } = pair(Infinity, Infinity, 10);
    const told: string[] = [];
    net.tapDeliveries((to, total) => told.push(`${to.localHost} ${total} (read ${received.length})`));
    const conn = a.connect({ host: 'b', port: 1 });
    s.run(15);
    conn.write([new Uint8Array(3), new Uint8Array(2)]);
    conn.write(new Uint8Array(4));
    s.run();
    expect(told).toEqual(['b 3 (read 0)', 'b 5 (read 1)', 'b 9 (read 2)']);
  });

  it('bandwidth: 64 KiB at 64 KiB/s takes a second plus latency', () => {
    const { s, a, received } = pair(perSecond(64 * KiB), Infinity, 10);
    const conn = a.connect({ host: 'b', port: 1 });
    s.run(20);
    for (let i = 0; i < 4; i++) conn.write(new Uint8Array(16 * KiB));
    s.run();
    expect(received.at(-1)!.at).toBeCloseTo(20 + 1000 + 10, 6);
  });

  it("shares a host's uplink fairly between its connections", () => {
    const s = new Scheduler();
    const net = new SimNetwork(s, () => 5);
    const src = net.addHost({ label: 's', address: { host: 's', port: 1 }, upload: perSecond(100 * KiB), download: Infinity });
    const done: Record<string, number> = {};
    for (const name of ['x', 'y']) {
      const h = net.addHost({ label: name, address: { host: name, port: 1 }, upload: Infinity, download: Infinity });
      let got = 0;
      h.listen((c) => c.setHandler({ open() {}, data: (b) => void ((got += b.length) >= 160 * KiB && (done[name] = s.now())), drain() {}, close() {} }));
    }
    const cx = src.connect({ host: 'x', port: 1 });
    const cy = src.connect({ host: 'y', port: 1 });
    s.run(10);
    for (let i = 0; i < 10; i++) {
      cx.write(new Uint8Array(16 * KiB));
      cy.write(new Uint8Array(16 * KiB));
    }
    s.run();
    // Both finish together, after 320 KiB at 100 KiB/s.
    expect(Math.abs(done.x - done.y)).toBeLessThan(200);
    expect(Math.max(done.x, done.y)).toBeCloseTo(10 + 3200 + 5, 0);
  });

  it('a close reaches the other end after the data; a dial to nobody fails', () => {
    const { s, a, b } = pair(Infinity, Infinity, 10);
    let reason: string | undefined;
    const conn = a.connect({ host: 'b', port: 1 });
    s.run(30);
    const srv = b.connections()[0];
    srv.setHandler({ open() {}, data() {}, drain() {}, close: (r) => void (reason = r) });
    conn.write(new Uint8Array(10));
    conn.close();
    s.run();
    expect(reason).toBe('closed by remote');
    let failed: string | undefined;
    a.connect({ host: 'zz', port: 1 }).setHandler({ open() {}, data() {}, drain() {}, close: (r) => void (failed = r) });
    s.run();
    expect(failed).toBe('connection timed out');
  });

  it('reports buffered bytes and drains', () => {
    const { s, a } = pair(perSecond(16 * KiB), Infinity, 1);
    const conn = a.connect({ host: 'b', port: 1 });
    let drains = 0;
    conn.setHandler({ open() {}, data() {}, drain: () => void drains++, close() {} });
    s.run(5);
    conn.write([new Uint8Array(16 * KiB), new Uint8Array(16 * KiB)]);
    // The uplink took the first block at once; the second waits.
    expect(conn.bufferedBytes()).toBe(16 * KiB);
    s.run();
    expect(conn.bufferedBytes()).toBe(0);
    expect(drains).toBe(1);
  });

  it('skips a drain its handler says it does not want (one event less), and keeps the ones it does', () => {
    const { s, a } = pair(perSecond(16 * KiB), Infinity, 1);
    const conn = a.connect({ host: 'b', port: 1 });
    let drains = 0;
    let wanted = false;
    conn.setHandler({ open() {}, data() {}, drain: () => void drains++, wantsDrain: () => wanted, close() {} });
    s.run(5);
    conn.write(new Uint8Array(KiB));
    s.run();
    expect(drains).toBe(0);
    const eventsWithout = s.executed;
    wanted = true;
    conn.write(new Uint8Array(KiB));
    s.run();
    expect(drains).toBe(1);
    // The same write took one event more with its drain: uplink, delivery, drain against uplink, delivery.
    expect(s.executed - eventsWithout).toBe(3);
  });
});
