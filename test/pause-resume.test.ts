// Pausing and resuming a torrent in the engine (Client.pause/resume), on the puppet bench: a pause
// announces `stopped`, closes every connection and keeps the verified pieces; a resume announces
// `started`, reads nothing back from storage (no re-check) and downloads the rest.

import { describe, expect, it } from 'vitest';
import { Bench, PIECES } from './helpers/puppet.ts';

/** Serves every request the puppet has received and not served yet. */
function serve(b: Bench, p: ReturnType<Bench['listeningPuppet']>, served: Set<string>, only?: (index: number) => boolean): void {
  for (const r of p.requests()) {
    const key = `${r.index}/${r.begin}`;
    if (served.has(key) || (only && !only(r.index))) continue;
    served.add(key);
    p.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, r.length) });
  }
}

describe('pause and resume', () => {
  it('pause: stopped announced, connections closed, verified pieces kept; resume: started, no re-check, completes', () => {
    const b = new Bench({ settings: { piecePicker: 'sequential' } });
    const p = b.listeningPuppet();
    b.run();
    p.handshake().bitfield([0, 1, 2, 3]).send({ type: 'unchoke' });
    b.run();
    const served = new Set<string>();
    serve(b, p, served, (index) => index < 2);
    b.run();
    expect(b.client.pieces.have.count).toBe(2);

    b.client.pause();
    b.run();
    expect(b.client.paused).toBe(true);
    expect(b.announces.map((a) => a.event)).toEqual(['started', 'stopped']);
    expect(p.closedReason).toBeDefined();
    expect(b.client.connectionCount).toBe(0);
    expect(b.client.pieces.have.count).toBe(2);
    expect(b.events.filter((e) => e.kind === 'pause')).toMatchObject([{ pieces: 2 }]);
    // Paused: no dialling, no tick work, no announces, however long.
    b.run(3_600_000);
    expect(b.announces).toHaveLength(2);
    expect(b.client.connectionCount + b.client.pendingCount).toBe(0);

    const before = p.conn;
    let reads = 0;
    const read = b.storage.read.bind(b.storage);
    b.storage.read = (offset, length) => {
      reads++;
      return read(offset, length);
    };
    b.client.resume();
    b.run();
    expect(b.client.paused).toBe(false);
    expect(b.announces.map((a) => a.event)).toEqual(['started', 'stopped', 'started']);
    expect(b.announces[2].left).toBe(b.payload.length / 2);
    expect(reads).toBe(0); // nothing re-checked
    expect(b.client.pieces.have.count).toBe(2);
    expect(b.events.filter((e) => e.kind === 'resume')).toMatchObject([{ pieces: 2 }]);

    // The peer list is kept: the client dials the puppet again and fetches the rest.
    expect(p.conn).not.toBe(before);
    p.handshake().bitfield([0, 1, 2, 3]).send({ type: 'unchoke' });
    b.run();
    serve(b, p, new Set());
    b.run();
    expect(b.client.complete).toBe(true);
    expect(b.client.pieces.have.count).toBe(PIECES);
  });

  it('pause and resume are idempotent, and stop after pause sends no second stopped', () => {
    const b = new Bench();
    b.client.pause();
    b.client.pause();
    b.run();
    b.client.stop();
    b.client.resume();
    b.run();
    expect(b.announces.map((a) => a.event)).toEqual(['started', 'stopped']);
    expect(b.client.paused).toBe(true);
  });

  it('a reply to an announce sent before the pause is ignored after the resume', () => {
    const b = new Bench();
    b.run();
    b.client.pause();
    b.client.resume();
    b.run(1_000);
    // started, stopped, started: the first session's periodic timer is gone with it.
    expect(b.announces.map((a) => a.event)).toEqual(['started', 'stopped', 'started']);
  });
});
