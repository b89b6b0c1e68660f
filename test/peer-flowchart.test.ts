// The Peer process against scripted remote peers: each path of the flowchart, seen in the trace.
// The last check: together, these tests took every control edge of the diagram but those that
// touch an extension step (test/extension-paths.test.ts takes those).

import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from '../engine/wire.ts';
import { Bench, edgesOf, PIECE_LENGTH, peerIdOf } from './helpers/puppet.ts';
import { EdgeCoverage, touchesExtension } from './helpers/flowchart-coverage.ts';

const coverage = new EdgeCoverage((edge) => !touchesExtension(edge));
const record = coverage.record;

/** Asserts that `steps` contains `expected` as a contiguous run. */
function expectPath(steps: string[], expected: string[]): void {
  const text = `,${steps.join(',')},`;
  expect(text, `steps were: ${steps.join(' ')}`).toContain(`,${expected.join(',')},`);
}

describe('startup', () => {
  it('dials, handshakes, registers, sends its bitfield and enters the loop', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.listeningPuppet();
    b.run();
    expect(p.handshaken).toBe(true);
    p.handshake();
    b.run();
    expectPath(b.steps(p.label), ['connect', 'handshake', 'register', 'sendBitfield', 'loop']);
    expect(p.received[0]).toMatchObject({ type: 'bitfield' });
    expect(b.events.some((e) => e.kind === 'connect' && e.remote === p.label)).toBe(true);
    record(b);
  });

  it('accepts a peer that dials in and answers its handshake', () => {
    const b = new Bench();
    const p = b.dialingPuppet();
    b.run();
    p.handshake();
    b.run();
    expect(p.handshaken).toBe(true);
    expectPath(b.steps(p.label), ['connect', 'handshake', 'register', 'sendBitfield', 'loop']);
    // Holding nothing, it sends no BITFIELD.
    expect(p.received).toEqual([]);
    record(b);
  });

  it('exits when the dial fails (connect -> exit)', () => {
    const b = new Bench();
    b.client.addPeer({ host: 'nobody', port: 6881 });
    b.run(5_000);
    expectPath(b.steps('nobody'), ['connect', 'exit', 'cleanup']);
    record(b);
  });

  it('exits on a handshake for another torrent (handshake -> exit)', () => {
    const b = new Bench();
    const p = b.dialingPuppet();
    p.handshake({ infoHash: new Uint8Array(20).fill(7) });
    b.run();
    expectPath(b.steps(p.label), ['connect', 'handshake', 'exit', 'cleanup']);
    expect(p.closedReason).toBeDefined();
    record(b);
  });

  it('exits on a handshake from itself: answers it first, so the dialling end (ourselves) sees it too', () => {
    const b = new Bench();
    const p = b.dialingPuppet();
    p.handshake({ peerId: peerIdOf('A') });
    b.run();
    expect(p.handshaken).toBe(true); // our handshake, for the other end to judge
    p.close(); // that end (ourselves, through another address) closes
    b.run();
    const exit = b.events.find((e) => e.node === 'exit' && e.remote === p.label);
    expect(exit?.reason).toBe('connected to ourselves');
    expectPath(b.steps(p.label), ['connect', 'handshake', 'exit', 'cleanup']);
  });

  it('a handshake from itself whose sender stays: exits at the handshake deadline', () => {
    const b = new Bench();
    const p = b.dialingPuppet();
    p.handshake({ peerId: peerIdOf('A') });
    p.send({ type: 'interested' }); // ignored
    b.run(11_000);
    const exit = b.events.find((e) => e.node === 'exit' && e.remote === p.label);
    expect(exit?.reason).toBe('connected to ourselves');
    expectPath(b.steps(p.label), ['connect', 'handshake', 'exit', 'cleanup']);
  });

  it('refuses a second connection from the same peer id (register -> exit)', () => {
    const b = new Bench();
    const p1 = b.dialingPuppet('P1');
    const p2 = b.dialingPuppet('P2');
    p1.handshake({ peerId: peerIdOf('same') });
    b.run();
    p2.handshake({ peerId: peerIdOf('same') });
    b.run();
    expectPath(b.steps('P2'), ['handshake', 'register', 'exit', 'cleanup']);
    expect(b.client.connectionCount).toBe(1);
    record(b);
  });
});

describe('wire messages', () => {
  /** A leecher connected to a puppet that has the given pieces. */
  function leecherWith(pieces: number[]) {
    const b = new Bench();
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.bitfield(pieces);
    b.run();
    return { b, p };
  }

  it('BITFIELD first: constructs the piece set, becomes interested, waits for UNCHOKE', () => {
    const { b, p } = leecherWith([0, 1]);
    expectPath(b.steps(p.label), ['loop', 'caseMsg', 'bitfield', 'constructPieceSet', 'sizeCheck', 'loop']);
    expect(p.received).toContainEqual({ type: 'interested' });
    expect(p.requests()).toEqual([]); // "Unchoke checked": no requests while choked
    record(b);
  });

  it('BITFIELD after another message ends the process (Not Init)', () => {
    const b = new Bench();
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.send({ type: 'have', index: 1 }).bitfield([0]);
    b.run();
    expectPath(b.steps(p.label), ['bitfield', 'constructPieceSet', 'exit', 'cleanup']);
    record(b);
  });

  it('UNCHOKE fills requests up to the high watermark from the pieces the peer has', () => {
    const { b, p } = leecherWith([0, 1]);
    p.send({ type: 'unchoke' });
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'unchoke', 'sizeCheck', 'grabBlocks', 'queueBlocks', 'loop']);
    const asked = p.requests().map((r) => `${r.index}:${r.begin}`).sort();
    expect(asked).toEqual(['0:0', '0:16384', '1:0', '1:16384']);
    record(b);
  });

  it('PIECE that was asked for is stored, verified and announced to others', () => {
    const { b, p } = leecherWith([0, 1, 2, 3]);
    const other = b.dialingPuppet('Q');
    other.handshake();
    b.run();
    p.send({ type: 'unchoke' });
    b.run();
    for (const r of p.requests().filter((r) => r.index === 0)) {
      p.send({ type: 'piece', index: 0, begin: r.begin, block: b.block(0, r.begin, r.length) });
    }
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'piece', 'pieceOk', 'pieceStore', 'sizeCheck']);
    expect(b.events.some((e) => e.kind === 'verified' && e.piece === 0)).toBe(true);
    expect(b.client.pieces.have.has(0)).toBe(true);
    // HAVE broadcast through the Peer Manager to every connection.
    expectPath(b.steps('Q'), ['loop', 'casePMMsg', 'ohave', 'loop']);
    expect(other.received).toContainEqual({ type: 'have', index: 0 });
    record(b);
  });

  it('PIECE never asked for is dropped (pieceOk -> loop)', () => {
    const { b, p } = leecherWith([0]);
    p.send({ type: 'piece', index: 0, begin: 0, block: b.block(0, 0, BLOCK_SIZE) });
    b.run();
    expectPath(b.steps(p.label), ['piece', 'pieceOk', 'loop']);
    expect(b.client.pieces.inFlight()).toEqual([]);
    record(b);
  });

  it('HAVE for a valid piece updates the piece set; out of range ends the process', () => {
    const { b, p } = leecherWith([]);
    p.send({ type: 'have', index: 2 });
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'have', 'haveOk', 'sizeCheck', 'loop']);
    expect(p.received).toContainEqual({ type: 'interested' });
    p.send({ type: 'have', index: 99 });
    b.run();
    expectPath(b.steps(p.label), ['have', 'haveOk', 'exit', 'cleanup']);
    record(b);
  });

  it('CHOKE gives every outstanding request back to the Piece Manager', () => {
    const { b, p } = leecherWith([0, 1]);
    p.send({ type: 'unchoke' });
    b.run();
    expect(b.client.pieces.inFlight().length).toBe(2);
    p.send({ type: 'choke' });
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'choke', 'clearPieceQueue', 'loop']);
    const cleared = b.events.find((e) => e.node === 'clearPieceQueue');
    expect(cleared?.given).toBe(4);
    expect(b.client.pieces.inFlight().every((p) => p.requesters.length === 0)).toBe(true);
    record(b);
  });

  it('REQUEST while choked is ignored; after UNCHOKE it is served; CANCEL removes a queued one', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.dialingPuppet();
    p.handshake();
    b.run();
    p.send({ type: 'request', index: 0, begin: 0, length: BLOCK_SIZE });
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'request', 'requestChoked', 'requestIgnore', 'loop']);
    // INTERESTED with a free upload slot: the Peer Manager unchokes at once.
    p.send({ type: 'interested' });
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'interested', 'loop', 'casePMMsg', 'ounchoke', 'loop']);
    expect(p.received).toContainEqual({ type: 'unchoke' });
    p.send({ type: 'request', index: 1, begin: 0, length: BLOCK_SIZE });
    b.run();
    expectPath(b.steps(p.label), ['request', 'requestChoked', 'queueRequest', 'loop']);
    const piece = p.received.find((m) => m.type === 'piece');
    expect(piece).toMatchObject({ index: 1, begin: 0 });
    expect(piece && 'block' in piece && Buffer.compare(piece.block, b.block(1, 0, BLOCK_SIZE))).toBe(0);
    p.send({ type: 'cancel', index: 1, begin: BLOCK_SIZE, length: BLOCK_SIZE });
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'cancel', 'cancelForward', 'loop']);
    record(b);
  });

  it('a block that cannot be read from storage ends the process (queueRequest -> exit)', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.dialingPuppet();
    p.handshake().send({ type: 'interested' });
    b.run();
    b.storage.read = () => {
      throw new Error('EIO: i/o error');
    };
    p.send({ type: 'request', index: 1, begin: 0, length: BLOCK_SIZE });
    b.run(); // before the edge was drawn, the step check threw here (offChartSteps: 'throw')
    expectPath(b.steps(p.label), ['request', 'requestChoked', 'queueRequest', 'exit', 'cleanup']);
    expect(b.events.find((e) => e.kind === 'disconnect' && e.remote === p.label)?.reason).toBe('storage read failed: EIO: i/o error');
    record(b);
  });

  it('a request beyond the piece is ignored, never served', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.dialingPuppet();
    p.handshake().send({ type: 'interested' });
    b.run();
    p.send({ type: 'request', index: 0, begin: PIECE_LENGTH - 10, length: BLOCK_SIZE });
    p.send({ type: 'request', index: 77, begin: 0, length: BLOCK_SIZE });
    b.run();
    const ignored = b.events.filter((e) => e.node === 'requestIgnore').map((e) => e.reason);
    expect(ignored).toEqual(['invalid request', 'invalid request']);
    expect(p.has('piece')).toBe(false);
  });

  it('NOT INTERESTED, KEEP-ALIVE and PORT are accepted; the next rechoke chokes (OCHOKE)', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.dialingPuppet();
    p.handshake().send({ type: 'interested' });
    b.run();
    p.send({ type: 'not-interested' }).send({ type: 'keep-alive' }).send({ type: 'port', port: 6881 });
    b.run(10_500);
    const steps = b.steps(p.label);
    expectPath(steps, ['caseMsg', 'notInterested', 'loop']);
    expectPath(steps, ['caseMsg', 'keepAlive', 'loop']);
    expectPath(steps, ['caseMsg', 'port', 'loop']);
    expectPath(steps, ['loop', 'casePMMsg', 'ochoke', 'loop']);
    expect(p.received.at(-1)).toEqual({ type: 'choke' });
    record(b);
  });

  it('a malformed message ends the process (caseMsg -> exit)', () => {
    const { b, p } = leecherWith([0]);
    p.raw(new Uint8Array([0, 0, 0, 3, 4, 0, 0])); // HAVE with a 2-byte payload
    b.run();
    expectPath(b.steps(p.label), ['caseMsg', 'exit', 'cleanup']);
    const exit = b.events.find((e) => e.node === 'exit');
    expect(String(exit?.reason)).toMatch(/have: payload is 2 bytes, expected 4/);
    record(b);
  });

  it('a huge length prefix ends the process without buffering it', () => {
    const { b, p } = leecherWith([0]);
    p.raw(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 7]));
    b.run();
    expect(String(b.events.find((e) => e.node === 'exit')?.reason)).toMatch(/exceeds the limit/);
  });

  it('the remote closing ends the process (loop -> exit -> cleanup)', () => {
    const { b, p } = leecherWith([0, 1]);
    p.send({ type: 'unchoke' });
    b.run();
    p.close();
    b.run();
    expectPath(b.steps(p.label), ['loop', 'exit', 'cleanup']);
    expect(b.events.find((e) => e.node === 'cleanup')?.given).toBe(4);
    expect(b.client.connectionCount).toBe(0);
    record(b);
  });
});

describe('endgame and timers', () => {
  /**
   * Two pieces, two requests at a time: P1 is asked for one piece, P2 for the other; P2 answers
   * both (a proven peer: endgame never gives a duplicate to one that never sent a block) and is
   * idle while P1's two requests are in flight — endgame's case.
   */
  function endgameBench(settings: Record<string, unknown> = {}) {
    const b = new Bench({ size: 2 * PIECE_LENGTH, settings: { hiWatermark: 2, loWatermark: 1, ...settings } });
    const p1 = b.dialingPuppet('P1');
    const p2 = b.dialingPuppet('P2');
    p1.handshake();
    p2.handshake();
    b.run();
    p1.send({ type: 'bitfield', bits: new Uint8Array([0xc0]) }).send({ type: 'unchoke' });
    b.run();
    p2.send({ type: 'bitfield', bits: new Uint8Array([0xc0]) }).send({ type: 'unchoke' });
    b.run();
    const atP1 = p1.requests();
    expect(atP1).toHaveLength(2);
    const atP2 = p2.requests();
    expect(atP2).toHaveLength(2);
    for (const r of atP2) p2.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, r.length) });
    b.run();
    return { b, p1, p2, atP1 };
  }

  it('endgame: an idle peer gets one block in flight elsewhere; the first answer cancels the other (OCANCEL); a late copy is a duplicate', () => {
    // endgameAfter 0: any block in flight may be asked again (its age rule is piece-manager.test.ts's).
    const { b, p1, p2, atP1 } = endgameBench({ endgameAfter: 0 });
    // Endgame: one busy block for the idle peer, the last asked (at the back of P1's queue).
    const last = atP1[1];
    expect(p2.requests().slice(2)).toEqual([last]);
    expect(b.events.some((e) => e.node === 'grabBlocks' && e.endgame === true)).toBe(true);
    p1.send({ type: 'piece', index: last.index, begin: last.begin, block: b.block(last.index, last.begin, last.length) });
    b.run();
    expectPath(b.steps('P2'), ['loop', 'casePMMsg', 'ocancel', 'sizeCheck']);
    expect(p2.received).toContainEqual({ type: 'cancel', index: last.index, begin: last.begin, length: last.length });
    // P2's late copy of the same block was no longer asked for: dropped, and counted as a duplicate.
    expect(b.client.duplicateBytes).toBe(0);
    p2.send({ type: 'piece', index: last.index, begin: last.begin, block: b.block(last.index, last.begin, last.length) });
    b.run();
    expectPath(b.steps('P2'), ['piece', 'pieceOk', 'loop']);
    expect(b.client.duplicateBytes).toBe(last.length);
    record(b);
  });

  it('endgame on the tick: an idle connection asks for a block once its request elsewhere is endgameAfter old', () => {
    const { b, p2 } = endgameBench(); // endgameAfter: the default 20 s
    expect(p2.requests()).toHaveLength(2); // P1's requests are young: nothing asked twice
    b.run(15_000);
    expect(p2.requests()).toHaveLength(2);
    b.run(15_000); // a tick past 20 s
    expect(p2.requests()).toHaveLength(3);
    expectPath(b.steps('P2'), ['loop', 'tick', 'sizeCheck', 'grabBlocks', 'queueBlocks', 'loop']);
    record(b);
  });

  it('keep-alive after a quiet minute (half the idle time-out); snubbed after a minute without blocks; idle time-out', () => {
    const { b, p } = (() => {
      const b = new Bench();
      const p = b.dialingPuppet();
      p.handshake();
      b.run();
      p.bitfield([0, 1]).send({ type: 'unchoke' });
      b.run();
      return { b, p };
    })();
    b.run(70_000);
    expectPath(b.steps(p.label), ['loop', 'tick', 'snubbed', 'loop']);
    expect(b.client.connections()[0].snubbed).toBe(true);
    expect(p.received.filter((m) => m.type === 'cancel').length).toBe(4);
    p.send({ type: 'keep-alive' });
    b.run(130_000); // two minutes after the CANCELs, the last thing it sent
    expectPath(b.steps(p.label), ['loop', 'tick', 'sendKeepAlive', 'loop']);
    expect(p.received.at(-1)).toEqual({ type: 'keep-alive' });
    b.run(200_000);
    expectPath(b.steps(p.label), ['loop', 'tick', 'idleTimeout', 'exit', 'cleanup']);
    expect(p.closedReason).toBeDefined();
    record(b);
  });
});

afterAll(() => {
  // Every solid edge of the diagram (original and added) but the extensions' was taken above...
  expect(coverage.missing()).toEqual([]);
  // ... and no step pair in any trace is an edge the diagram does not have.
  expect(coverage.offChart()).toEqual([]);
});

it('edgesOf restarts a connection after cleanup', () => {
  const ev = (node: string) => ({ t: 0, peer: 'A', remote: 'B', kind: 'step' as const, node });
  expect([...edgesOf([ev('connect'), ev('exit'), ev('cleanup'), ev('connect')])]).toEqual(['connect>exit', 'exit>cleanup']);
});
