// Time-outs as deadlines (issue 11): the handshake, idle and no-request time-outs fire within 2 s
// of their settings, on one timer per connection re-armed lazily; dead addresses are redialled
// with libtorrent's backoff; an address that leads back to ourselves is never dialled again; and
// what all this costs in timers at 1,000 connections.

import { describe, expect, it } from 'vitest';
import type { Clock, Connection } from '../engine/ports.ts';
import { defaultSettings } from '../engine/settings.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { Bench, type Puppet } from './helpers/puppet.ts';

const SECOND = 1_000;
/** How far from its setting a time-out may fire. */
const TOLERANCE = 2 * SECOND;

/** When the client dropped `remote`, and why (its `disconnect` event). */
function dropOf(b: Bench, remote: string): TraceEvent | undefined {
  return b.events.find((e) => e.kind === 'disconnect' && e.remote === remote);
}

/**
 * The puppet sends a keep-alive every `period` ms until `until` (virtual time), so it is never
 * idle. Returns when it sent the last one.
 */
function keepAlive(b: Bench, p: Puppet, period: number, until: number): () => number {
  let last = -Infinity;
  const beat = () => {
    if (b.scheduler.now() > until || p.closedReason) return;
    p.send({ type: 'keep-alive' });
    last = b.scheduler.now();
    b.scheduler.setTimer(period, beat);
  };
  b.scheduler.setTimer(period, beat);
  return () => last;
}

describe('time-outs are deadlines, not ticks', () => {
  it('handshake: a dialler that never says anything is dropped 10 s after it connected', () => {
    const b = new Bench();
    b.run(3_456); // off the tick's 10 s grid
    const p = b.dialingPuppet();
    const connectedAt = b.scheduler.now();
    b.run(30 * SECOND);
    const drop = dropOf(b, p.label);
    expect(drop?.reason).toBe('handshake timed out');
    expect(Math.abs(drop!.t - connectedAt - defaultSettings.handshakeTimeout)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('idle: 120 s after the last thing it sent, not at the next 10 s tick (was 130 s)', () => {
    const b = new Bench({ settings: { idleTimeout: 120 * SECOND } });
    b.run(3_456);
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    const lastSent = b.scheduler.now();
    b.run(300 * SECOND);
    const drop = dropOf(b, p.label);
    expect(drop?.reason).toBe('idle time-out');
    expect(Math.abs(drop!.t - lastSent - 120 * SECOND)).toBeLessThanOrEqual(TOLERANCE);
    expect(b.steps(p.label).slice(-4)).toEqual(['tick', 'idleTimeout', 'exit', 'cleanup']);
  });

  it('idle, defaults: keep-alives every 60 s keep a quiet peer of ours; silence for 120 s drops it', () => {
    expect(defaultSettings.idleTimeout).toBe(120 * SECOND); // libtorrent's peer_timeout
    expect(defaultSettings.keepAliveInterval).toBeLessThan(defaultSettings.idleTimeout);
    const b = new Bench();
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    const lastBeat = keepAlive(b, p, 50 * SECOND, 400 * SECOND); // moves the deadline; the timer is re-armed lazily
    b.run(400 * SECOND);
    expect(dropOf(b, p.label)).toBeUndefined();
    expect(p.received.filter((m) => m.type === 'keep-alive').length).toBeGreaterThanOrEqual(5); // ours, every 60–70 s
    const lastSent = lastBeat();
    b.run(200 * SECOND);
    const drop = dropOf(b, p.label);
    expect(drop?.reason).toBe('idle time-out');
    expect(Math.abs(drop!.t - lastSent - 120 * SECOND)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('no request: an interested peer we unchoke that never asks for a block is dropped after 60 s', () => {
    const b = new Bench({ initial: 'complete' });
    b.run(3_456);
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.send({ type: 'interested' });
    b.run();
    expect(p.has('unchoke')).toBe(true); // a free slot: unchoked at once
    const unchokedAt = b.events.find((e) => e.kind === 'step' && e.node === 'ounchoke' && e.remote === p.label)!.t;
    keepAlive(b, p, 20 * SECOND, 300 * SECOND); // never idle: only the missing requests count
    b.run(300 * SECOND);
    const drop = dropOf(b, p.label);
    expect(drop?.reason).toMatch(/^no request for 60 s/);
    expect(Math.abs(drop!.t - unchokedAt - defaultSettings.noRequestTimeout)).toBeLessThanOrEqual(TOLERANCE);
    const deadline = b.events.find((e) => e.node === 'idleTimeout' && e.remote === p.label);
    expect(deadline?.rule).toBe('no-request');
  });

  it('no request: counted from its last request served, and never while it downloads', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.send({ type: 'interested' });
    b.run();
    keepAlive(b, p, 20 * SECOND, 400 * SECOND);
    // A request every 50 s: each one is served, so the 60 s never run out.
    for (let i = 0; i < 6; i++) {
      b.run(50 * SECOND);
      p.send({ type: 'request', index: i % 4, begin: 0, length: 16 * 1024 });
    }
    b.run();
    const lastRequest = b.scheduler.now();
    expect(dropOf(b, p.label)).toBeUndefined();
    expect(p.received.filter((m) => m.type === 'piece').length).toBe(6);
    b.run(200 * SECOND);
    const drop = dropOf(b, p.label);
    expect(drop?.reason).toMatch(/^no request/);
    expect(Math.abs(drop!.t - lastRequest - defaultSettings.noRequestTimeout)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('no request: a choked interested peer is not dropped (it may not ask)', () => {
    const b = new Bench({ initial: 'complete', settings: { uploadSlots: 0, optimisticUnchoke: false } });
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.send({ type: 'interested' });
    keepAlive(b, p, 20 * SECOND, 300 * SECOND);
    b.run(300 * SECOND);
    expect(p.has('unchoke')).toBe(false);
    expect(dropOf(b, p.label)).toBeUndefined();
  });
});

describe('dialling: backoff and self-connections', () => {
  /** The times at which the client dialled `host` (its `connect` steps, outbound). */
  const dials = (b: Bench, host: string) => b.events.filter((e) => e.kind === 'step' && e.node === 'connect' && e.inbound === false && e.remote === host).map((e) => e.t);

  /**
   * Dialled at 0, then 120 s after it (1 failure), then 180 s after that (2 failures), each wait
   * stretched by up to `retryJitter` (25 %) and rounded up to the next tick (10 s).
   */
  const expectBackoff = (times: number[]) => {
    expect(times).toHaveLength(3);
    const [first, second, third] = times;
    expect(first).toBe(0);
    expect(second).toBeGreaterThanOrEqual(120 * SECOND);
    expect(second).toBeLessThanOrEqual(150 * SECOND + TICK);
    expect(third - second).toBeGreaterThanOrEqual(180 * SECOND - TICK);
    expect(third - second).toBeLessThanOrEqual(225 * SECOND + TICK);
  };
  const TICK = defaultSettings.tickInterval;

  it('3 dead addresses: 3 failed connects in 100 s (libtorrent: (failures + 1) × 60 s from the last dial)', () => {
    const b = new Bench();
    const dead = ['D1', 'D2', 'D3'];
    b.client.addPeers(dead.map((host) => ({ host, port: 6881 }))); // nobody there: each dial times out
    b.run(100 * SECOND);
    expect(dead.map((h) => dials(b, h).length)).toEqual([1, 1, 1]);
    b.run(400 * SECOND);
    for (const h of dead) expectBackoff(dials(b, h));
    // The jitter: the three dead addresses, failed together, are not redialled in lock-step.
    expect(new Set(dead.map((h) => dials(b, h)[1])).size).toBeGreaterThan(1);
  });

  it('a refused address backs off the same way', () => {
    const b = new Bench();
    const host = b.network.addHost({ label: 'R', address: { host: 'R', port: 6881 }, upload: Infinity, download: Infinity }); // not listening
    b.client.addPeer(host.address);
    b.run(400 * SECOND);
    expectBackoff(dials(b, 'R'));
  });

  it('a self-connection found through another address: that address is never dialled again', () => {
    const b = new Bench();
    // X relays every connection it accepts to the client itself, dialling from host Y: dialling X
    // is dialling ourselves (a second address of ours, as a NAT's public address would be).
    const x = b.network.addHost({ label: 'X', address: { host: 'X', port: 6881 }, upload: Infinity, download: Infinity });
    const y = b.network.addHost({ label: 'Y', address: { host: 'Y', port: 6881 }, upload: Infinity, download: Infinity });
    let accepted = 0;
    x.listen((outer) => {
      accepted++;
      relay(outer, y.connect(b.host.address));
    });
    b.client.addPeer(x.address);
    b.run(30 * 60 * SECOND);
    expect(accepted).toBe(1);
    expect(dials(b, 'X')).toEqual([0]);
    const reasons = b.events.filter((e) => e.kind === 'disconnect').map((e) => `${e.remote}: ${e.reason}`);
    expect(reasons).toEqual(expect.arrayContaining(['X: connected to ourselves', 'Y: connected to ourselves']));
  });
});

/** Pipes two connections into each other; either closing closes the other. */
function relay(a: Connection, b: Connection): void {
  const pending: [Connection, Uint8Array][] = [];
  let bOpen = false;
  const flush = () => {
    for (const [to, bytes] of pending.splice(0)) to.write(bytes);
  };
  a.setHandler({
    open: () => {},
    data: (bytes) => (bOpen ? b.write(bytes) : pending.push([b, bytes.slice()])),
    drain: () => {},
    close: () => b.close(),
  });
  b.setHandler({
    open: () => {
      bOpen = true;
      flush();
    },
    data: (bytes) => a.write(bytes),
    drain: () => {},
    close: () => a.close(),
  });
}

describe('cost at 1,000 connections', () => {
  it('the time-outs cost at most one timer event per connection per virtual minute, none shorter than 1 s', () => {
    const counts = { set: 0, fired: 0, shortest: Infinity };
    const countingClock = (scheduler: Clock): Clock => ({
      now: () => scheduler.now(),
      setTimer: (delay, fn) => {
        counts.set++;
        counts.shortest = Math.min(counts.shortest, delay);
        return scheduler.setTimer(delay, () => {
          counts.fired++;
          fn();
        });
      },
    });
    const peers = 1_000;
    const b = new Bench({ clock: countingClock, settings: { maxConnections: peers, maxPendingHandshakes: peers } });
    b.scheduler.afterEach = undefined; // the per-event counter recount is O(connections): too slow here
    const puppets: Puppet[] = [];
    for (let i = 0; i < peers; i++) puppets.push(b.dialingPuppet(`Q${i}`).handshake());
    b.run(SECOND);
    expect(b.client.connectionCount).toBe(peers);
    const start = b.scheduler.now();
    const before = { ...counts };
    const minutes = 10;
    // Every puppet talks every 50 s (keep-alives): each one's idle deadline keeps moving.
    for (const p of puppets) keepAlive(b, p, 50 * SECOND, start + minutes * 60 * SECOND);
    b.run(minutes * 60 * SECOND);
    expect(b.client.connectionCount).toBe(peers); // nobody timed out
    const ticks = (minutes * 60 * SECOND) / defaultSettings.tickInterval; // the client's own 10 s tick
    const perConnectionMinute = (counts.fired - before.fired - ticks) / (peers * minutes);
    expect(perConnectionMinute).toBeLessThanOrEqual(1);
    expect((counts.set - before.set - ticks) / (peers * minutes)).toBeLessThanOrEqual(1);
    expect(counts.shortest).toBeGreaterThanOrEqual(SECOND);
  });
});
