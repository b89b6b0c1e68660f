// A failing run's verdict in its trace, and how the replay finds where to open: the `failure`
// events a scenario run writes last (hashed with the rest), each failure's moment, peer and
// connection (viz/failures.ts), the first of them; and the swarm state's bans and the adversaries'
// behaviours the swarm view marks.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoryTrace } from '../engine/trace-writer.ts';
import { loadScenarioFile } from '../sim/scenario/load.ts';
import { resolveScenario } from '../sim/scenario/resolve.ts';
import { runResolvedScenario } from '../sim/scenario/run.ts';
import { findFailures, firstFailure } from '../viz/failures.ts';
import { NODE_MEANINGS, meaningOf } from '../viz/glossary.ts';
import { ReplayModel } from '../viz/model.ts';
import { KIND } from '../viz/trace-table.ts';
import { flowNodes } from '../engine/flowchart.ts';

const HEADER = { format: 'swarmlab-trace', version: 1, seed: '1', engine: 'test', torrent: { name: 'x', length: 4096, pieceLength: 1024, pieces: 4, infoHash: '00' } };
const model = (events: object[]) => ReplayModel.fromText([HEADER, ...events].map((e) => JSON.stringify(e)).join('\n') + '\n');

/** L0 with two connections, to S0 and to L1; piece 2's last block came from L1. */
const SWARM = [
  { t: 0, peer: 'S0', kind: 'join', role: 'seed', pieces: 4 },
  { t: 0, peer: 'L0', kind: 'join', role: 'leecher', pieces: 0 },
  { t: 0, peer: 'L1', kind: 'join', role: 'leecher', pieces: 0 },
  { t: 1, peer: 'L0', remote: 'S0', kind: 'step', node: 'connect', inbound: false },
  { t: 1, peer: 'L0', remote: 'L1', kind: 'step', node: 'connect', inbound: false },
  { t: 2, peer: 'L0', remote: 'S0', kind: 'step', node: 'pieceStore', piece: 2, begin: 0, length: 512, result: 'stored' },
  { t: 3, peer: 'L0', remote: 'L1', kind: 'step', node: 'pieceStore', piece: 2, begin: 512, length: 512, result: 'stored' },
  { t: 4, peer: 'L0', remote: 'S0', kind: 'step', node: 'pieceStore', piece: 2, begin: 512, length: 512, result: 'duplicate' },
  { t: 5, peer: 'L0', kind: 'verified', piece: 2, have: 1 },
];

describe('the failures of a run, for the replay', () => {
  it('places each failure: at its violation, on the connection named or the one that stored the piece; or at its time; or at the end', () => {
    const m = model([
      ...SWARM,
      { t: 5, peer: 'L0', kind: 'violation', check: 'verified-bytes', detail: 'piece 2 was marked verified but its bytes differ', piece: 2 },
      { t: 6, peer: 'L0', remote: 'S0', kind: 'violation', check: 'request-while-choked', detail: 'sent REQUEST 1:0 to S0, which chokes it' },
      { t: 9, peer: 'L0', kind: 'failure', check: 'request-while-choked', message: 'sent REQUEST 1:0 to S0, which chokes it', at: 6 },
      { t: 9, peer: 'L0', kind: 'failure', check: 'verified-bytes', message: 'piece 2 …', at: 5 },
      { t: 9, peer: 'L1', kind: 'failure', check: 'liveness', message: 'L1 never completed', at: 4.5 },
      { t: 9, peer: 'sim', kind: 'failure', check: 'hash-failures', message: '3 pieces failed' },
    ]);
    const conn = (remote: string) => m.connectionBetween('L0', remote);
    const shown = findFailures(m).map((f) => ({ check: f.check, peer: f.peer < 0 ? '-' : m.label(f.peer), at: f.at, conn: f.conn, position: f.position, time: f.time }));
    expect(shown).toEqual([
      { check: 'request-while-choked', peer: 'L0', at: 6, conn: conn('S0'), position: 11, time: 6 }, // just after its violation (event 10)
      { check: 'verified-bytes', peer: 'L0', at: 5, conn: conn('L1'), position: 10, time: 5 }, // L1 stored the last block; S0's was a duplicate
      { check: 'liveness', peer: 'L1', at: 4.5, conn: -1, position: 8, time: 4.5 }, // every event at or before 4.5 ms
      { check: 'hash-failures', peer: '-', at: undefined, conn: -1, position: 15, time: 9 }, // no time: its own event, the last
    ]);
    expect(conn('L1')).not.toBe(conn('S0'));
    // The first to fail, not the first listed.
    expect(firstFailure(findFailures(m))).toMatchObject({ check: 'liveness', at: 4.5 });
    expect(firstFailure([])).toBeUndefined();
  });

  it('without traced failures, the safety violations stand for them (a wire finding does not)', () => {
    const m = model([
      ...SWARM,
      { t: 6, peer: 'L1', remote: 'L0', kind: 'violation', check: 'wire:bad-data', detail: 'PIECE 2:0+512 differs' },
      { t: 7, peer: 'L0', remote: 'S0', kind: 'violation', check: 'flowchart', detail: 'loop -> piece is no edge' },
    ]);
    const f = findFailures(m);
    expect(f.map((x) => [x.check, m.label(x.peer), x.conn, x.position])).toEqual([['flowchart', 'L0', m.connectionBetween('L0', 'S0'), 11]]);
    expect(findFailures(model(SWARM))).toEqual([]);
  });

  it('a failing scenario run traces its verdict last, hashed with the rest, and the replay finds each failure', () => {
    // flaky-disk with the planted bug fails on seed 2 (see test/planted-bug.test.ts).
    const scenario = resolveScenario(loadScenarioFile('test/fixtures/scenarios/flaky-disk.yaml'), '2');
    const trace = memoryTrace();
    const result = runResolvedScenario(scenario, '2', { traceOut: trace.out, plantedBug: 'trust-single-source' });
    expect(result.ok).toBe(false);
    const text = trace.lines.join('\n') + '\n';
    expect(createHash('sha256').update(text).digest('hex')).toBe(result.traceHash);
    const last = trace.lines.slice(-result.failures.length).map((l) => JSON.parse(l));
    expect(last.map((e) => [e.kind, e.check, e.peer])).toEqual(result.failures.map((f) => ['failure', f.check, f.peer ?? 'sim']));
    for (const e of last) expect(e.t).toBeCloseTo(result.simTime, 3);

    const m = ReplayModel.fromText(text);
    const found = findFailures(m);
    expect(found.map((f) => [f.check, m.label(f.peer), f.at])).toEqual(result.failures.map((f) => [f.check, f.peer, Math.round(f.t! * 1000) / 1000]));
    for (const f of found) {
      // At its violation, on a connection of the failing peer.
      expect(m.table.kind[f.event]).toBe(KIND.violation);
      expect(f.conn).toBeGreaterThanOrEqual(0);
      expect(m.table.connections[f.conn].peer).toBe(f.peer);
    }
  });

  it('bans so far and adversaries: from the ban events and the adversary joins', () => {
    const m = model([
      { t: 0, peer: 'L0', kind: 'join', role: 'leecher', pieces: 0 },
      { t: 0, peer: 'L1', kind: 'join', role: 'leecher', pieces: 0 },
      { t: 0, peer: 'X0', kind: 'join', role: 'adversary', behaviour: 'corrupt', pieces: 4 },
      { t: 1, peer: 'L0', remote: 'X0', kind: 'step', node: 'connect', inbound: false },
      { t: 2, peer: 'L0', remote: 'X0', kind: 'ban', reason: 'sent corrupt data' },
      { t: 3, peer: 'L1', remote: 'X0', kind: 'ban', reason: 'sent corrupt data' },
    ]);
    const x0 = m.labelOf('X0')!;
    expect(m.behaviourOf(x0)).toBe('corrupt');
    expect(m.behaviourOf(m.labelOf('L0')!)).toBeUndefined();
    expect(m.table.roles[x0]).toBe('adversary');
    expect(m.banCount).toBe(2);
    expect(m.stateAt(m.positionAt(1)).bannedBy[x0]).toBe(0);
    expect(m.stateAt(m.positionAt(2)).bannedBy[x0]).toBe(1);
    expect(m.stateAt(m.positionAt(3)).bannedBy[x0]).toBe(2);
    expect(m.stateAt(m.positionAt(3)).bannedBy[m.labelOf('L0')!]).toBe(0);
  });

  it('the glossary gives every flowchart node and the terms the page uses a meaning', () => {
    for (const n of flowNodes) expect(NODE_MEANINGS[n.id], n.id).toMatch(/\w{3}/);
    for (const word of ['casePMMsg', 'ohave', 'watermarks', 'choke', 'interested', 'endgame', 'adversary', 'ban']) expect(meaningOf(word), word).toBeDefined();
    expect(meaningOf('no such word')).toBeUndefined();
  });
});
