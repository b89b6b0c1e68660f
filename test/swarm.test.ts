// Whole swarms on the simulator: they complete with the right bytes, and a seed fixes the run.

import { describe, expect, it } from 'vitest';
import { KiB, MiB } from '../sim/network.ts';
import { SeedRoot } from '../sim/random.ts';
import { runSwarm, swarmOf } from '../sim/swarm.ts';
import { memoryTrace } from '../engine/trace-writer.ts';

describe('a simulated swarm', () => {
  it('1 seed and 20 leechers: every leecher completes with exactly the payload', () => {
    const r = runSwarm(swarmOf('42', 1, 20, { storage: 'copy' }));
    expect(r.complete).toBe(true);
    const leechers = r.peers.filter((p) => p.role === 'leecher');
    expect(leechers).toHaveLength(20);
    for (const p of leechers) {
      expect(p.completedAt, p.label).toBeGreaterThan(0);
      expect(p.payloadMatches, p.label).toBe(true);
      expect(p.downloaded, p.label).toBe(r.torrent.length);
    }
    // Leechers trade among themselves: the seed uploads far less than everything they fetched.
    const seed = r.peers.find((p) => p.role === 'seed')!;
    expect(seed.uploaded).toBeLessThan(r.torrent.length * 20 * 0.8);
    expect(leechers.reduce((s, p) => s + p.uploaded, 0)).toBeGreaterThan(r.torrent.length * 20 * 0.2);
  });

  it('the shared-payload storage ends with the same bytes as private copies', () => {
    const a = memoryTrace();
    const b = memoryTrace();
    const shared = runSwarm(swarmOf('7', 1, 5, { size: 2 * MiB, traceOut: a.out }));
    runSwarm(swarmOf('7', 1, 5, { size: 2 * MiB, storage: 'copy', traceOut: b.out }));
    expect(shared.peers.every((p) => p.payloadMatches)).toBe(true);
    // Storage does not change what happens: the same events (the headers differ in the setting).
    expect(a.lines.slice(1)).toEqual(b.lines.slice(1));
  });

  it('same seed, same trace hash; another seed, another hash', () => {
    const small = (seed: string) => runSwarm(swarmOf(seed, 1, 6, { size: 1 * MiB, pieceLength: 64 * KiB }));
    const a = small('1');
    const b = small('1');
    const c = small('2');
    expect(a.traceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.traceHash).toBe(a.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
    expect(a.peers.map((p) => p.completedAt)).toEqual(b.peers.map((p) => p.completedAt));
  });

  it('sub-streams are named: adding a peer does not change the numbers another peer draws', () => {
    const draws = (root: SeedRoot, name: string) => Array.from({ length: 5 }, ((r) => () => r.next())(root.stream(name)));
    const before = draws(new SeedRoot('9'), 'peer/L3');
    const root = new SeedRoot('9');
    draws(root, 'peer/L99'); // a new peer draws first
    expect(draws(root, 'peer/L3')).toEqual(before);
    expect(draws(new SeedRoot('10'), 'peer/L3')).not.toEqual(before);
  });

  it('writes a trace: a header line, then events with time, peer, kind', () => {
    const mem = memoryTrace();
    const r = runSwarm(swarmOf('3', 1, 2, { size: 256 * KiB, pieceLength: 64 * KiB, traceOut: mem.out }));
    const header = JSON.parse(mem.lines[0]);
    expect(header).toMatchObject({ format: 'swarmlab-trace', version: 1, seed: '3', torrent: { pieces: 4 } });
    expect(mem.lines.length - 1).toBe(r.traceEvents);
    const events = mem.lines.slice(1).map((l) => JSON.parse(l));
    expect(events.every((e) => typeof e.t === 'number' && typeof e.peer === 'string' && typeof e.kind === 'string')).toBe(true);
    const times = events.map((e) => e.t);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(events.filter((e) => e.kind === 'complete').map((e) => e.peer).sort()).toEqual(['L0', 'L1']);
  });

  it('stops at the time limit and reports who is incomplete', () => {
    const r = runSwarm(swarmOf('5', 1, 3, { size: 4 * MiB, timeLimit: 1_000 }));
    expect(r.complete).toBe(false);
    expect(r.simTime).toBe(1_000);
    expect(r.peers.filter((p) => p.role === 'leecher').every((p) => p.completedAt === undefined)).toBe(true);
  });
});
