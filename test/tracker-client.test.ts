import { describe, expect, it } from 'vitest';
import type { AnnounceEvent, AnnounceResult } from '../engine/ports.ts';
import { defaultSettings } from '../engine/settings.ts';
import { TrackerClient, type TrackerClientOptions } from '../engine/tracker-client.ts';
import { Scheduler } from '../sim/scheduler.ts';
import { Bench } from './helpers/puppet.ts';

function setup(replies: AnnounceResult[], options: Partial<TrackerClientOptions> = {}) {
  const s = new Scheduler();
  const sent: { t: number; event: AnnounceEvent }[] = [];
  const peersSeen: number[] = [];
  const tc = new TrackerClient({
    clock: s,
    port: {
      announce: (req, done) => {
        sent.push({ t: s.now(), event: req.event });
        done(replies.shift() ?? { ok: true, interval: 1000, peers: [] });
      },
    },
    request: (event) => ({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20), port: 1, uploaded: 0, downloaded: 0, left: 5, event, numWant: 50 }),
    onPeers: (p) => peersSeen.push(p.length),
    ...options,
  });
  return { s, sent, tc, peersSeen };
}

describe('TrackerClient', () => {
  it('announces started, then every interval the tracker asks for; completed and stopped', () => {
    const { s, sent, tc, peersSeen } = setup([{ ok: true, interval: 600, peers: [{ host: 'x', port: 1 }] }]);
    tc.start();
    s.run(1_500_000);
    expect(sent.map((x) => [x.t, x.event])).toEqual([
      [0, 'started'],
      [600_000, 'periodic'],
    ]);
    expect(peersSeen).toEqual([1, 0]);
    tc.completed();
    tc.stop();
    expect(sent.slice(2).map((x) => x.event)).toEqual(['completed', 'stopped']);
    s.run(1_000_000);
    expect(sent).toHaveLength(4);
  });

  it('retries a failed announce with a growing delay, as the same event', () => {
    const { s, sent, tc } = setup([
      { ok: false, error: 'down' },
      { ok: false, error: 'down' },
    ]);
    tc.start();
    s.run(50_000);
    expect(sent.map((x) => [x.t, x.event])).toEqual([
      [0, 'started'],
      [15_000, 'started'],
      [45_000, 'started'],
    ]);
  });
});

describe('TrackerClient against a hostile tracker', () => {
  const HOUR = 3_600_000;
  const gaps = (sent: { t: number }[]) => sent.slice(1).map((x, i) => x.t - sent[i].t);

  it('clamps `interval 1` to minAnnounceInterval (5 minutes by default, as libtorrent)', () => {
    expect(defaultSettings.minAnnounceInterval).toBe(300_000);
    const { s, sent, tc } = setup(Array.from({ length: 100 }, () => ({ ok: true, interval: 1, peers: [] })));
    tc.start();
    s.run(HOUR);
    expect(sent).toHaveLength(1 + 12);
    expect(new Set(gaps(sent))).toEqual(new Set([300_000]));
  });

  it('a lower floor is the caller\'s choice (the simulator passes one)', () => {
    const { s, sent, tc } = setup(Array.from({ length: 100 }, () => ({ ok: true, interval: 1, peers: [] })), { minInterval: 30_000 });
    tc.start();
    s.run(120_000);
    expect(sent.map((x) => x.t)).toEqual([0, 30_000, 60_000, 90_000, 120_000]);
  });

  it('honours `min interval`: above the interval it wins; a refresh waits for it; completed and stopped do not', () => {
    const { s, sent, tc } = setup([
      { ok: true, interval: 60, minInterval: 900, peers: [] },
      { ok: true, interval: 1200, minInterval: 600, peers: [] },
    ]);
    tc.start();
    s.run(899_999);
    expect(sent.map((x) => x.t)).toEqual([0]);
    expect(tc.nextAnnounceIn).toBe(1);
    s.run(900_000);
    expect(sent.map((x) => [x.t, x.event])).toEqual([
      [0, 'started'],
      [900_000, 'periodic'],
    ]);
    // Interval 1200 s, min interval 600 s: a refresh 100 s later waits until 600 s have passed.
    s.run(1_000_000);
    tc.refresh();
    expect(sent).toHaveLength(2);
    expect(tc.nextAnnounceIn).toBe(500_000);
    tc.completed(); // an event goes at once
    expect(sent.map((x) => [x.t, x.event]).slice(2)).toEqual([[1_000_000, 'completed']]);
    tc.stop();
    expect(sent.at(-1)).toEqual({ t: 1_000_000, event: 'stopped' });
  });

  it('after `interval 1`, retries of failed announces still back off and never come faster than 15 s', () => {
    const { s, sent, tc } = setup([{ ok: true, interval: 1, peers: [] }, ...Array.from({ length: 1000 }, () => ({ ok: false as const, error: 'down' }))]);
    tc.start();
    s.run(HOUR);
    const g = gaps(sent);
    expect(Math.min(...g)).toBeGreaterThanOrEqual(15_000);
    // 300 s, then 15, 30, 60, 120, 240 s, then every 300 s.
    expect(g.slice(0, 7)).toEqual([300_000, 15_000, 30_000, 60_000, 120_000, 240_000, 300_000]);
    expect(sent.length).toBeLessThan(20);
  });

  it('a tracker that answers with absurd numbers is held to a day at most and a sane floor', () => {
    const { s, sent, tc } = setup([
      { ok: true, interval: Number.MAX_SAFE_INTEGER, minInterval: -5, peers: [] },
      { ok: true, interval: Number.NaN, peers: [] },
    ]);
    tc.start();
    s.run(2 * 24 * HOUR);
    expect(sent.map((x) => x.t).slice(0, 3)).toEqual([0, 24 * HOUR, 24 * HOUR + 1_800_000]);
  });
});

describe('TrackerClient as mainstream clients (issue 11)', () => {
  const results: { event: AnnounceEvent; ok: boolean; interval?: number; warning?: string; error?: string }[] = [];
  const record = { onResult: (event: AnnounceEvent, r: { ok: boolean; interval?: number; warning?: string; error?: string }) => void results.push({ event, ...r }) };

  it('a reply without interval is a success with trackerDefaultInterval (libtorrent: 1800 s), floored as any interval', () => {
    expect(defaultSettings.trackerDefaultInterval).toBe(1_800_000);
    const { s, sent, tc, peersSeen } = setup([{ ok: true, peers: [{ host: 'x', port: 1 }] }, { ok: true, peers: [] }]);
    tc.start();
    s.run(3_600_000);
    expect(sent.map((x) => [x.t, x.event])).toEqual([
      [0, 'started'],
      [1_800_000, 'periodic'],
      [3_600_000, 'periodic'],
    ]);
    expect(peersSeen.slice(0, 1)).toEqual([1]);
    // Another default is the caller's (a scenario's settings); the floor still holds.
    const other = setup([{ ok: true, peers: [] }, { ok: true, peers: [] }], { defaultInterval: 60_000, minInterval: 120_000 });
    other.tc.start();
    other.s.run(250_000);
    expect(other.sent.map((x) => x.t)).toEqual([0, 120_000, 240_000]);
  });

  it('passes a warning message on in the announce result (traced), the announce counting as a success', () => {
    results.length = 0;
    const { s, tc } = setup([{ ok: true, interval: 600, peers: [], warning: 'slow down' }], record);
    tc.start();
    s.run(1);
    expect(results).toEqual([{ event: 'started', ok: true, peers: 0, interval: 600_000, warning: 'slow down' }]);
  });

  it('sends no stopped to a tracker that never answered started, and says so in the result', () => {
    results.length = 0;
    const { s, sent, tc } = setup(Array.from({ length: 10 }, () => ({ ok: false as const, error: 'down' })), record);
    tc.start();
    s.run(100_000);
    tc.stop();
    expect(new Set(sent.map((x) => x.event))).toEqual(new Set(['started']));
    expect(results.at(-1)).toEqual({ event: 'stopped', ok: false, error: 'not sent: the tracker never answered started' });
  });

  it('a started that failed, then succeeded on a retry, is followed by stopped', () => {
    const { s, sent, tc } = setup([{ ok: false, error: 'down' }, { ok: true, interval: 600, peers: [] }]);
    tc.start();
    s.run(20_000);
    tc.stop();
    expect(sent.map((x) => x.event)).toEqual(['started', 'started', 'stopped']);
  });

  it('a stop while the first started is still unanswered sends nothing', () => {
    const s = new Scheduler();
    const sent: AnnounceEvent[] = [];
    const tc = new TrackerClient({
      clock: s,
      port: { announce: (req) => void sent.push(req.event) }, // never answers
      request: (event) => ({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20), port: 1, uploaded: 0, downloaded: 0, left: 5, event, numWant: 50 }),
      onPeers: () => {},
    });
    tc.start();
    tc.stop();
    expect(sent).toEqual(['started']);
  });
});

describe('peer manager', () => {
  it('never dials itself and dials each address once', () => {
    const b = new Bench();
    b.client.addPeer({ host: 'A', port: 6881 }); // our own address
    const p = b.listeningPuppet();
    b.client.addPeer(p.address);
    b.run();
    expect(b.steps('A')).toEqual([]);
    expect(b.events.filter((e) => e.node === 'connect' && e.remote === p.label)).toHaveLength(1);
  });

  it('keeps to the connection limit', () => {
    const b = new Bench({ settings: { maxConnections: 2 } });
    const puppets = [0, 1, 2, 3].map(() => b.listeningPuppet());
    b.run();
    expect(puppets.filter((p) => p.handshaken)).toHaveLength(2);
  });

  it('tells the tracker started, then completed with nothing left', () => {
    const b = new Bench({ size: 32 * 1024 });
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.send({ type: 'bitfield', bits: new Uint8Array([0x80]) }).send({ type: 'unchoke' });
    b.run();
    for (const r of p.requests()) p.send({ type: 'piece', index: 0, begin: r.begin, block: b.block(0, r.begin, r.length) });
    b.run();
    expect(b.announces).toEqual([
      { event: 'started', left: 32 * 1024 },
      { event: 'completed', left: 0 },
    ]);
    b.client.stop();
    expect(b.announces.at(-1)?.event).toBe('stopped');
  });
});
