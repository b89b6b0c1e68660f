import { describe, expect, it } from 'vitest';
import type { AnnounceEvent, AnnounceResult } from '../engine/ports.ts';
import { TrackerClient } from '../engine/tracker-client.ts';
import { Scheduler } from '../sim/scheduler.ts';
import { Bench } from './helpers/puppet.ts';

function setup(replies: AnnounceResult[]) {
  const s = new Scheduler();
  const sent: { t: number; event: AnnounceEvent }[] = [];
  const peersSeen: number[] = [];
  const tc = new TrackerClient({
    clock: s,
    port: {
      announce: (req, done) => {
        sent.push({ t: s.now(), event: req.event });
        done(replies.shift() ?? { ok: true, interval: 100, peers: [] });
      },
    },
    request: (event) => ({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20), port: 1, uploaded: 0, downloaded: 0, left: 5, event, numWant: 50 }),
    onPeers: (p) => peersSeen.push(p.length),
  });
  return { s, sent, tc, peersSeen };
}

describe('TrackerClient', () => {
  it('announces started, then every interval the tracker asks for; completed and stopped', () => {
    const { s, sent, tc, peersSeen } = setup([{ ok: true, interval: 60, peers: [{ host: 'x', port: 1 }] }]);
    tc.start();
    s.run(150_000);
    expect(sent.map((x) => [x.t, x.event])).toEqual([
      [0, 'started'],
      [60_000, 'periodic'],
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
