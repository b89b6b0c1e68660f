// The wire end both Peer processes share (engine/peer-wire.ts): decoder faults traced where the
// flowchart says, the handshake checks, and the exit sequence's order. Also: the metadata fetcher
// now ends a bad handshake as the Client does ("bad handshake: …").

import { describe, expect, it } from 'vitest';
import { PeerWire } from '../engine/peer-wire.ts';
import type { Connection } from '../engine/ports.ts';
import type { TraceEvent } from '../engine/trace.ts';

function wireOf(o: { steps?: boolean } = {}) {
  const events: TraceEvent[] = [];
  const log: string[] = [];
  const conn: Connection = { remote: { host: 'R', port: 1 }, inbound: true, setHandler() {}, write() {}, bufferedBytes: () => 0, close: () => void log.push('close') };
  const local = { label: 'L', infoHash: new Uint8Array(20).fill(1), peerId: new Uint8Array(20).fill(2), clock: { now: () => 7, setTimer: () => ({ cancel() {} }) }, trace: { emit: (e: TraceEvent) => void (e.kind !== 'violation' && events.push(e)), steps: o.steps } };
  // These steps are taken out of the flowchart's order on purpose (each test starts mid-process):
  // the wire records them as off-chart violations, which test/flowchart-contract.test.ts covers; here they are left out.
  return { wire: new PeerWire(local, conn, 'R', 1000, 'record', 'peer L'), events, log, local };
}

describe('PeerWire', () => {
  it('a decoder fault before the handshake is a failed handshake step; after it, a caseMsg error', () => {
    const before = wireOf();
    before.wire.receive(new Uint8Array([5, 1, 2, 3, 4, 5]));
    expect(before.wire.next(true)).toMatch(/^bad handshake: /);
    expect(before.events).toEqual([expect.objectContaining({ t: 7, peer: 'L', remote: 'R', kind: 'step', node: 'handshake', ok: false })]);
    const after = wireOf();
    after.wire.receive(after.wire.handshake(new Uint8Array(8)));
    expect(after.wire.next(true)).toMatchObject({ kind: 'handshake' });
    after.wire.receive(new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
    expect(after.wire.next(false)).toMatch(/^malformed message: /);
    expect(after.events).toEqual([expect.objectContaining({ node: 'caseMsg', error: expect.stringMatching(/exceeds the limit/) })]);
  });

  it('hands out the messages before a malformed one, one at a time, then the fault (again on every later read)', () => {
    const { wire } = wireOf();
    const have = new Uint8Array([0, 0, 0, 5, 4, 0, 0, 0, 3]);
    wire.receive(wire.handshake(new Uint8Array(8)));
    wire.receive(new Uint8Array([...have, ...have, 0x7f, 0xff, 0xff, 0xff]));
    expect(wire.next(true)).toMatchObject({ kind: 'handshake' });
    expect(wire.next(false)).toEqual({ kind: 'message', message: { type: 'have', index: 3 } });
    expect(wire.next(false)).toEqual({ kind: 'message', message: { type: 'have', index: 3 } });
    expect(wire.next(false)).toMatch(/^malformed message: /);
    wire.receive(have);
    expect(wire.next(false)).toMatch(/^malformed message: /);
  });

  it('a good handshake decodes; one for another torrent or from ourselves is refused', () => {
    const { wire, local } = wireOf();
    wire.receive(wire.handshake(new Uint8Array(8)));
    expect(wire.next(true)).toEqual({ kind: 'handshake', handshake: expect.objectContaining({ peerId: local.peerId }) });
    expect(wire.next(false)).toBeUndefined();
    const other = { infoHash: new Uint8Array(20).fill(9), peerId: new Uint8Array(20).fill(3), reserved: new Uint8Array(8) };
    expect(wire.handshakeFault(other)).toBe('info-hash is not ours');
    expect(wire.handshakeFault({ ...other, infoHash: local.infoHash, peerId: local.peerId })).toBe('connected to ourselves');
    expect(wire.handshakeFault({ ...other, infoHash: local.infoHash })).toBeUndefined();
  });

  it('finish: exit step, release, cleanup step with its count, close, forget, then disconnect', () => {
    const { wire, events, log } = wireOf();
    wire.finish('done', () => (log.push('release'), 3), () => log.push('forget'));
    expect(log).toEqual(['release', 'close', 'forget']);
    expect(events.map((e) => [e.kind, e.node ?? e.reason, e.given])).toEqual([
      ['step', 'exit', undefined],
      ['step', 'cleanup', 3],
      ['disconnect', 'done', undefined],
    ]);
  });

  it('no step events when the trace takes none; the disconnect still goes out', () => {
    const { wire, events } = wireOf({ steps: false });
    wire.finish('done', () => 0, () => {});
    expect(events.map((e) => e.kind)).toEqual(['disconnect']);
  });
});
