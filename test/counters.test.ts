// The hand-kept counters (engine/counters.ts): a range assertion where each one changes, and the
// simulator's debug check (sim/debug-checks.ts), which recomputes them from scratch after events
// and is on in every test (test/setup.ts).

import { describe, expect, it } from 'vitest';
import { Bitfield } from '../engine/bitfield.ts';
import { CounterError } from '../engine/counters.ts';
import { MemoryStorage } from '../engine/memory-storage.ts';
import { createTorrent } from '../engine/metainfo.ts';
import type { PeerProcess } from '../engine/peer.ts';
import { PieceManager } from '../engine/piece-manager.ts';
import { BLOCK_SIZE, encodeMessageBytes } from '../engine/wire.ts';
import { debugChecks } from '../sim/debug-checks.ts';
import { SeededRandom } from '../sim/random.ts';
import { runSwarm, Swarm, swarmOf } from '../sim/swarm.ts';
import { Bench } from './helpers/puppet.ts';

/** Reaches a private counter, as a bug in the engine would. */
const internals = <T>(x: unknown) => x as T;

function pieceManager() {
  const payload = new SeededRandom('payload').bytes(4 * 2 * BLOCK_SIZE);
  const { torrent } = createTorrent({ name: 'x', pieceLength: 2 * BLOCK_SIZE, files: payload });
  return new PieceManager(torrent, new MemoryStorage(payload.length), new SeededRandom('s'));
}

function connected(b: Bench, remote: string): PeerProcess {
  return b.client.connections().find((p) => p.remoteLabel === remote)!;
}

describe('assertions where a counter changes', () => {
  it('unrequested may not go below 0: the error names the counter, its value and its bounds', () => {
    const pm = pieceManager();
    internals<{ unrequested: number }>(pm).unrequested = 0; // drifted: 8 blocks are in fact unrequested
    expect(() => pm.grab('a', Bitfield.full(4), 1)).toThrow(new CounterError('counter unrequested is -1, outside its bounds [0, 8]'));
  });

  it('a Peer process’s wanted may not go below 0', () => {
    const b = new Bench();
    const p = b.dialingPuppet('P');
    p.handshake().bitfield([0]);
    b.run();
    b.scheduler.afterEach = undefined; // the debug check would see the drift first
    internals<{ wanted: number }>(connected(b, 'P')).wanted = 0;
    // The client gets piece 0 from elsewhere: its HAVE broadcast lowers P's wanted.
    const have = { index: 0, bytes: encodeMessageBytes({ type: 'have', index: 0 }) };
    expect(() => internals<{ onPMHave(h: typeof have): void }>(connected(b, 'P')).onPMHave(have)).toThrow(/counter wanted of P is -1, outside its bounds \[0, 4\]/);
  });
});

describe('the debug check after every event (on in tests)', () => {
  it('is on in tests', () => {
    expect(debugChecks.counters).toBe(true);
  });

  it('catches a wanted that drifted, at the next event, naming both values', () => {
    const b = new Bench();
    const p = b.dialingPuppet('P');
    p.handshake().bitfield([0, 1]);
    b.run();
    internals<{ wanted: number }>(connected(b, 'P')).wanted = 3;
    p.send({ type: 'keep-alive' });
    expect(() => b.run()).toThrow(new CounterError('counter wanted of P is 3, but recomputed from scratch it is 2'));
  });

  it('catches an outstanding request the Piece Manager does not know', () => {
    const b = new Bench();
    const p = b.dialingPuppet('P');
    p.handshake().bitfield([0, 1, 2, 3]).send({ type: 'unchoke' });
    b.run();
    expect(p.requests().length).toBeGreaterThan(0);
    internals<{ outstanding: Map<number, unknown> }>(connected(b, 'P')).outstanding.delete(0);
    p.send({ type: 'keep-alive' });
    expect(() => b.run()).toThrow(/counter outstanding of P \(blocks the Piece Manager has in flight to it\) is \d+, but recomputed from scratch it is \d+/);
  });

  it('catches a drifted availability and unrequested in a swarm', () => {
    const swarm = new Swarm({ ...swarmOf('1', 1, 3), size: 8 * 256 * 1024 });
    const leecher = swarm.peers.find((p) => p.role === 'leecher')!;
    swarm.scheduler.at(500, () => internals<{ availability: Uint32Array }>(leecher.client!.pieces).availability[0] += 7);
    expect(() => swarm.run()).toThrow(/counter availability of piece 0 is \d+, but recomputed from scratch it is \d+/);
    const other = new Swarm({ ...swarmOf('1', 1, 3), size: 8 * 256 * 1024 });
    const l = other.peers.find((p) => p.role === 'leecher')!;
    other.scheduler.at(500, () => internals<{ unrequested: number }>(l.client!.pieces).unrequested++);
    expect(() => other.run()).toThrow(/counter unrequested is \d+, but recomputed from scratch it is \d+/);
  });

  it('checks a peer-level trace too, and changes no trace', () => {
    const small = { ...swarmOf('2', 1, 4), size: 4 * 256 * 1024 };
    expect(runSwarm({ ...small, checkCounters: true }).traceHash).toBe(runSwarm({ ...small, checkCounters: false }).traceHash);
    const peersOnly = { ...small, traceLevel: 'peers' as const };
    expect(runSwarm({ ...peersOnly, checkCounters: true }).complete).toBe(true);
  });
});


