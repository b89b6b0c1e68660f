// The visualizer's replay model: the state at time t — current node per connection, edge counts,
// progress, availability, choke and interest — from a small hand-written trace whose answers can
// be read off it, and from a tiny real swarm checked against a naive replay of the trace.

import { describe, expect, it } from 'vitest';
import { runSwarm, swarmOf } from '../sim/swarm.ts';
import { memoryTrace } from '../engine/trace-writer.ts';
import { ReplayModel, type Scope } from '../viz/model.ts';
import { flagsOf, PHASE } from '../viz/swarm-state.ts';
import { eventLine, parseTrace, TraceError } from '../viz/trace-table.ts';
import { describeEvent, describePeer, describeTrace, noEngineNote } from '../viz/page/format.ts';
import { describeMessage } from '../viz/message-text.ts';
import { parseLines, referenceStateAt } from './viz-reference.ts';

const header = { format: 'swarmlab-trace', version: 1, seed: 't', engine: 'test', torrent: { name: 'x', length: 4096, pieceLength: 1024, pieces: 4, infoHash: '00' } };
const L0S0 = { peer: 'L0', remote: 'S0' };
const step = (t: number, node: string, extra: object = {}) => ({ t, ...L0S0, kind: 'step', node, ...extra });
const state = (t: number, amChoking: boolean, amInterested: boolean, peerChoking: boolean, peerInterested: boolean) => ({ t, ...L0S0, kind: 'state', amChoking, amInterested, peerChoking, peerInterested });

/** A small trace: L0 connects to the seed S0, gets one block of piece 2, disconnects, reconnects. */
const events: object[] = [
  { t: 0, peer: 'S0', kind: 'join', role: 'seed', pieces: 4 }, // 0
  { t: 0, peer: 'L0', kind: 'join', role: 'leecher', pieces: 0 },
  { t: 0, peer: 'L1', kind: 'join', role: 'leecher', pieces: 1 }, // holds one piece, not known which
  step(10, 'connect', { inbound: false }),
  { t: 10, peer: 'S0', remote: 'L0', kind: 'step', node: 'connect', inbound: true },
  step(20, 'handshake', { ok: true }), // 5
  step(20, 'register', { ok: true }),
  { t: 20, ...L0S0, kind: 'connect', inbound: false },
  step(20, 'sendBitfield', { pieces: 0 }),
  step(20, 'loop'),
  step(30, 'caseMsg'), // 10
  step(30, 'bitfield'),
  step(30, 'constructPieceSet', { ok: true }),
  state(30, true, true, true, false),
  step(30, 'sizeCheck', { outstanding: 0, fill: false }),
  step(30, 'loop'), // 15
  step(40, 'caseMsg'),
  step(40, 'unchoke'),
  state(40, true, true, false, false),
  step(40, 'sizeCheck', { outstanding: 0, fill: true }),
  step(40, 'grabBlocks', { want: 1, got: 1, endgame: false }), // 20
  step(40, 'queueBlocks', { count: 1 }),
  step(40, 'loop'),
  step(50, 'caseMsg'),
  step(50, 'piece', { piece: 2, begin: 0, length: 1024 }),
  step(50, 'pieceOk', { ok: true }), // 25
  step(50, 'pieceStore', { piece: 2, begin: 0, length: 1024, result: 'stored' }),
  { t: 50, peer: 'L0', kind: 'verified', piece: 2, have: 1 },
  step(50, 'sizeCheck', { outstanding: 0, fill: false }),
  step(50, 'loop'),
  { t: 60, peer: 'L1', kind: 'hashfail', piece: 3, from: ['S0'] }, // 30
  { t: 60, peer: 'L1', kind: 'verified', piece: 0, have: 2 },
  step(70, 'exit', { reason: 'closed "by peer"' }),
  step(70, 'cleanup', { given: 0 }),
  { t: 70, ...L0S0, kind: 'disconnect', reason: 'closed' },
  step(80, 'connect', { inbound: false }), // 35: a second connection of the same pair
  { t: 80, peer: 'S0', kind: 'leave', reason: 'done' },
  { t: 90, peer: 'L0', kind: 'fault', fault: 'drop', params: { p: 1 } },
  { t: 95, peer: 'L0', kind: 'frobnicate' }, // a kind this reader does not know
  step(95, 'teleport'), // a node the flowchart does not draw
];
const traceText = [header, ...events].map((e) => JSON.stringify(e)).join('\n') + '\n';

function model(text = traceText, snapshotEvery?: number): ReplayModel {
  return ReplayModel.fromText(text, { snapshotEvery });
}

/** Edge counts of a scope as { "from>to": n } for the edges taken at least once. */
function countsOf(m: ReplayModel, scope: Scope, position: number): Record<string, number> {
  const counts = m.edgeCounts(scope, position);
  const out: Record<string, number> = {};
  counts.forEach((n, e) => n > 0 && (out[m.edges.keys[e]] = n));
  return out;
}

describe('replay model on a hand-written trace', () => {
  const m = model();
  const conn1 = m.connectionBetween('L0', 'S0', m.positionAt(40))!;
  const conn2 = m.connectionBetween('L0', 'S0')!;
  const seedSide = m.connectionBetween('S0', 'L0')!;
  const label = (name: string) => m.labelOf(name)!;

  it('reads every event and splits the pair L0 -> S0 into two connections at the second connect', () => {
    expect(m.eventCount).toBe(events.length);
    expect(m.pieces).toBe(4);
    expect(conn1).not.toBe(conn2);
    expect(m.table.connections[conn1]).toMatchObject({ first: 3, last: 34, inbound: false });
    expect(m.table.connections[conn2]).toMatchObject({ first: 35, last: 39 });
    expect(m.table.connections[seedSide].inbound).toBe(true);
  });

  it('takes every event at or before t', () => {
    expect(m.positionAt(-1)).toBe(0);
    expect(m.positionAt(0)).toBe(3);
    expect(m.positionAt(29.999)).toBe(10);
    expect(m.positionAt(30)).toBe(16);
    expect(m.positionAt(1e9)).toBe(events.length);
    expect(m.timeAt(16)).toBe(30);
  });

  it('gives the current node of each connection at time t', () => {
    expect(m.nodeId(m.nodeAt(conn1, m.positionAt(35)))).toBe('loop');
    expect(m.nodeId(m.nodeAt(conn1, m.positionAt(50)))).toBe('loop');
    expect(m.nodeId(m.nodeAt(conn1, m.positionAt(75)))).toBe('cleanup');
    expect(m.nodeId(m.nodeAt(seedSide, m.positionAt(75)))).toBe('connect');
    expect(m.nodeAt(conn2, m.positionAt(75))).toBe(-1);
    expect(m.nodeId(m.nodeAt(conn2, m.positionAt(85)))).toBe('connect');
    const s = m.stateAt(m.positionAt(45));
    expect(m.nodeId(s.connNode[conn1])).toBe('loop');
    expect(s.connPhase[conn1]).toBe(PHASE.open);
    expect(m.stateAt(m.positionAt(75)).connPhase[conn1]).toBe(PHASE.closed);
  });

  it('counts the edges a connection took, from consecutive steps', () => {
    const startup = { 'connect>handshake': 1, 'handshake>register': 1, 'register>sendBitfield': 1, 'sendBitfield>loop': 1 };
    expect(countsOf(m, { kind: 'connection', conn: conn1 }, m.positionAt(35))).toEqual({
      ...startup,
      'loop>caseMsg': 1, 'caseMsg>bitfield': 1, 'bitfield>constructPieceSet': 1, 'constructPieceSet>sizeCheck': 1, 'sizeCheck>loop': 1,
    });
    expect(countsOf(m, { kind: 'connection', conn: conn1 }, m.positionAt(75))).toEqual({
      ...startup,
      'loop>caseMsg': 3, 'caseMsg>bitfield': 1, 'bitfield>constructPieceSet': 1, 'constructPieceSet>sizeCheck': 1, 'sizeCheck>loop': 2,
      'caseMsg>unchoke': 1, 'unchoke>sizeCheck': 1, 'sizeCheck>grabBlocks': 1, 'grabBlocks>queueBlocks': 1, 'queueBlocks>loop': 1,
      'caseMsg>piece': 1, 'piece>pieceOk': 1, 'pieceOk>pieceStore': 1, 'pieceStore>sizeCheck': 1,
      'loop>exit': 1, 'exit>cleanup': 1,
    });
    // The new connection starts from nothing: no edge from the old one's cleanup to its connect.
    expect(countsOf(m, { kind: 'connection', conn: conn2 }, m.positionAt(85))).toEqual({});
    // The peer's counts are its connections' together; the swarm's are everyone's.
    const peer = countsOf(m, { kind: 'peer', peer: label('L0') }, m.eventCount);
    const swarm = countsOf(m, { kind: 'swarm' }, m.eventCount);
    expect(peer['loop>caseMsg']).toBe(3);
    expect(peer['connect>teleport']).toBe(1);
    expect(swarm).toEqual(peer); // S0 -> L0 took only its first step
  });

  it('keeps transitions the flowchart does not draw, after the drawn ones', () => {
    const e = m.edges.keys.indexOf('connect>teleport');
    expect(e).toBeGreaterThanOrEqual(m.edges.drawn);
    expect(m.edges.keys.slice(0, m.edges.drawn)).toContain('loop>caseMsg');
  });

  it('tracks choke and interest from the last state event', () => {
    expect(flagsOf(m.stateAt(m.positionAt(25)).connFlags[conn1])).toEqual({ amChoking: true, amInterested: false, peerChoking: true, peerInterested: false });
    expect(flagsOf(m.stateAt(m.positionAt(35)).connFlags[conn1])).toEqual({ amChoking: true, amInterested: true, peerChoking: true, peerInterested: false });
    expect(flagsOf(m.stateAt(m.positionAt(45)).connFlags[conn1])).toEqual({ amChoking: true, amInterested: true, peerChoking: false, peerInterested: false });
  });

  it('derives progress and piece availability', () => {
    const at = (t: number) => m.stateAt(m.positionAt(t));
    let s = at(45);
    expect([s.progress[label('S0')], s.progress[label('L0')], s.progress[label('L1')]]).toEqual([4, 0, 1]);
    expect([...s.availability]).toEqual([1, 1, 1, 1]); // L1's one piece is unknown: not counted
    s = at(55);
    expect(s.progress[label('L0')]).toBe(1);
    expect([...s.availability]).toEqual([1, 1, 2, 1]);
    s = at(65);
    expect(s.progress[label('L1')]).toBe(2);
    expect([...s.availability]).toEqual([2, 1, 2, 1]);
    expect([...s.hashfails]).toEqual([0, 0, 0, 1]);
    s = at(85); // the seed left
    expect([...s.availability]).toEqual([1, 0, 1, 0]);
    expect(s.alive[label('S0')]).toBe(0);
  });

  it('jumps to the next event of a kind, and steps through a scope', () => {
    expect(m.nextMark('hashfail', 0)).toBe(31);
    expect(m.nextMark('hashfail', 31)).toBeUndefined();
    expect(m.nextMark('disconnect', 0)).toBe(35);
    expect(m.nextMark('fault', 0)).toBe(38);
    expect(m.nextMark('choke', 0)).toBeUndefined();
    const scope: Scope = { kind: 'connection', conn: seedSide };
    expect(m.stepFrom(scope, 0, 1)).toBe(5); // just after S0 -> L0's only event (index 4)
    expect(m.stepFrom(scope, 5, 1)).toBe(5);
    expect(m.stepFrom(scope, 5, -1)).toBe(4);
    expect(m.stepFrom({ kind: 'connection', conn: conn1 }, 10, -1)).toBe(9);
  });

  it('computes rates from stored blocks', () => {
    const r = m.rates;
    const bin = Math.floor(50 / r.binMs);
    const perSecond = 1024 * (1000 / r.binMs);
    expect(r.down[label('L0') * r.bins + bin]).toBeCloseTo(perSecond);
    expect(r.up[label('S0') * r.bins + bin]).toBeCloseTo(perSecond);
    expect(r.total.reduce((a, b) => a + b, 0)).toBeCloseTo(perSecond);
  });

  it('shows the full line of an event', () => {
    expect(JSON.parse(eventLine(m.table, 37))).toEqual(events[37]);
  });

  it('gives the same state from snapshots as from replaying everything, in any order of jumps', () => {
    const dense = model(traceText, 2);
    const none = model(traceText, 1 << 30);
    const positions = [40, 3, 17, 17, 0, 39, 22, 8, 31, 1, 40, 12];
    for (const p of positions) {
      const a = dense.stateAt(p).clone();
      const b = none.stateAt(p);
      expect([a.position, [...a.progress], [...a.availability], [...a.connNode], [...a.connFlags], [...a.edgeCounts]]).toEqual([
        b.position, [...b.progress], [...b.availability], [...b.connNode], [...b.connFlags], [...b.edgeCounts],
      ]);
    }
  });
});

describe('trace reading', () => {
  it('reads lines with other key orders, spaces and escapes as JSON.parse does', () => {
    const reordered = [header, ...events]
      .map((e, i) => {
        if (i === 0) return JSON.stringify(e);
        const entries = Object.entries(e).reverse();
        return i % 2 ? `{ ${entries.map(([k, v]) => `"${k}" : ${JSON.stringify(v)}`).join(' , ')} }` : JSON.stringify(Object.fromEntries(entries));
      })
      .join('\r\n');
    const a = parseTrace(new TextEncoder().encode(traceText));
    const b = parseTrace(new TextEncoder().encode(reordered + '\n\n'));
    for (const col of ['time', 'kind', 'peer', 'conn', 'node', 'arg', 'storedBytes'] as const) expect([...b[col]]).toEqual([...a[col]]);
    expect(b.labels).toEqual(a.labels);
    expect(b.connections).toEqual(a.connections);
  });

  it('reads times exactly', () => {
    const times = [0.001, 88.111, 12345.678, 0.1, 47341.999, 3.5];
    const text = [JSON.stringify(header), ...times.map((t) => JSON.stringify({ t, peer: 'A', kind: 'join', role: 'leecher', pieces: 0 }))].join('\n');
    expect([...parseTrace(new TextEncoder().encode(text)).time]).toEqual(times);
  });

  it('refuses what is not a swarmlab trace of a known version', () => {
    expect(() => parseTrace(new TextEncoder().encode('{"hello":1}\n'))).toThrow(TraceError);
    expect(() => parseTrace(new TextEncoder().encode(JSON.stringify({ ...header, version: 99 }) + '\n'))).toThrow(/version 99/);
    expect(() => parseTrace(new TextEncoder().encode(JSON.stringify(header) + '\n{"t":1,\n'))).toThrow(/line 2/);
  });
});

describe('replay model on a tiny real swarm', () => {
  const trace = memoryTrace();
  runSwarm(swarmOf('viz', 1, 3, { size: 256 * 1024, pieceLength: 32 * 1024, traceOut: trace.out }));
  const text = trace.lines.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  const { header: h, events: evs } = parseLines(text);
  const m = ReplayModel.fromText(text, { snapshotEvery: 97 });
  const pieces = h.torrent.pieces as number;

  /** Each of the model's connections under the reference's name "peer>remote#k". */
  const names = m.table.connections.map((c, i) => {
    const earlier = m.table.connections.slice(0, i).filter((d) => d.peer === c.peer && d.remote === c.remote).length;
    return `${m.label(c.peer)}>${m.label(c.remote)}#${earlier}`;
  });

  it('has events of every kind the state depends on', () => {
    const kinds = new Set(evs.map((e) => e.kind));
    for (const k of ['join', 'step', 'state', 'verified', 'connect']) expect(kinds).toContain(k);
    expect(m.table.connections.length).toBeGreaterThan(3);
  });

  const end = evs[evs.length - 1].t;
  const times = [0, end * 0.1, end * 0.33, evs[Math.floor(evs.length / 2)].t, end * 0.71, end * 0.9, end];

  it.each(times.map((t) => [t]))('agrees with a naive replay of the trace at t = %s ms', (t) => {
    const ref = referenceStateAt(evs, pieces, t);
    const p = m.positionAt(t);
    const s = m.stateAt(p).clone();
    names.forEach((name, c) => {
      const node = m.nodeAt(c, p);
      expect(node < 0 ? undefined : m.nodeId(node), name).toBe(ref.node.get(name));
      expect(countsOf(m, { kind: 'connection', conn: c }, p), name).toEqual(Object.fromEntries(ref.edges.get(name) ?? []));
      const refFlags = ref.flags.get(name);
      if (refFlags) expect(flagsOf(s.connFlags[c]), name).toEqual(refFlags);
    });
    for (const [peer, n] of ref.progress) expect(s.progress[m.labelOf(peer)!], peer).toBe(n);
    expect([...s.availability]).toEqual(ref.availability);
  });
});

describe('the event list', () => {
  it("shows a wire violation with its rule, what is wrong and the offending bytes", () => {
    const violation = { t: 5, peer: 'X0', remote: 'L0', kind: 'violation', check: 'wire:bad-data', detail: 'PIECE 2:0+1024: the block differs from the payload at byte 2048 of the torrent', bytes: '0000040907' };
    const m = model([header, violation].map((e) => JSON.stringify(e)).join('\n') + '\n');
    expect(describeEvent(m, 0)).toEqual({
      who: 'X0 → L0',
      what: 'violation wire:bad-data',
      detail: 'PIECE 2:0+1024: the block differs from the payload at byte 2048 of the torrent · bytes 0000040907',
    });
  });
});

describe('a TCP run with another client', () => {
  // C0 is played by libtorrent: the runner's join, the relay's connect/disconnect and its decoded
  // messages, no steps; S0 is swarmlab's seed with its usual steps.
  const tcpHeader = { ...header, settings: { transport: 'tcp', replayable: false } };
  const C0S0 = { peer: 'C0', remote: 'S0' };
  const C0L0 = { peer: 'C0', remote: 'L0' };
  const tcpEvents: object[] = [
    { t: 1, peer: 'S0', kind: 'join', role: 'seed', pieces: 4 }, // 0
    { t: 2, peer: 'C0', kind: 'join', role: 'leecher', pieces: 0, client: 'libtorrent' },
    { t: 3, peer: 'S0', remote: 'C0', kind: 'step', node: 'connect', inbound: true },
    { t: 3, ...C0S0, kind: 'connect', inbound: false },
    { t: 4, ...C0S0, kind: 'message', type: 'bitfield', bytes: 1 },
    { t: 5, ...C0S0, kind: 'message', type: 'interested' }, // 5
    { t: 6, ...C0S0, kind: 'message', type: 'request', index: 3, begin: 0, length: 16384 },
    { t: 6, ...C0L0, kind: 'connect', inbound: false },
    { t: 7, ...C0L0, kind: 'message', type: 'extended', id: 0, bytes: 212 },
    { t: 8, ...C0S0, kind: 'message', type: 'have', index: 3 },
    { t: 9, ...C0S0, kind: 'disconnect', reason: 'closed' }, // 10
    { t: 10, ...C0S0, kind: 'connect', inbound: false }, // a second connection of the pair
    { t: 11, ...C0S0, kind: 'message', type: 'not-interested' },
    { t: 12, peer: 'C0', kind: 'complete' },
  ];
  const tcpText = [tcpHeader, ...tcpEvents].map((e) => JSON.stringify(e)).join('\n') + '\n';
  const m = model(tcpText);
  const C0 = m.labelOf('C0')!;
  const S0 = m.labelOf('S0')!;

  it('knows which peers are other clients, and that the trace is a TCP run', () => {
    expect(m.clientOf(C0)).toBe('libtorrent');
    expect(m.clientOf(S0)).toBeUndefined();
    expect(m.tcpRun).toBe(true);
    expect(model().tcpRun).toBe(false);
    // The slow reader (a line with an escape goes to JSON.parse) finds the client too.
    const escaped = tcpText.replace('"client":"libtorrent"', '"client":"lib\\u0074orrent"');
    expect(model(escaped).clientOf(C0)).toBe('libtorrent');
  });

  it("gives another client's progress as unknown until its complete, then every piece", () => {
    const before = m.stateAt(m.positionAt(11)).clone();
    expect(m.progressKnown(before, C0)).toBe(false);
    expect(m.progressKnown(before, S0)).toBe(true);
    expect([...before.availability]).toEqual([1, 1, 1, 1]);
    const after = m.stateAt(m.eventCount);
    expect(m.progressKnown(after, C0)).toBe(true);
    expect(after.progress[C0]).toBe(4);
    expect([...after.availability]).toEqual([2, 2, 2, 2]);
  });

  it("makes another client's connections from the relay's connect and disconnect", () => {
    const mine = m.connectionsOf(C0).map((c) => [m.label(m.table.connections[c].remote), m.table.connections[c].first]);
    expect(mine).toEqual([['S0', 3], ['L0', 7], ['S0', 11]]);
    const first = m.connectionsOf(C0)[0];
    expect(m.stateAt(m.positionAt(8)).connPhase[first]).toBe(PHASE.open);
    expect(m.stateAt(m.positionAt(9)).connPhase[first]).toBe(PHASE.closed);
    expect(m.stateAt(m.eventCount).connPhase[m.connectionsOf(C0)[2]]).toBe(PHASE.open);
  });

  it('lists message events in their connection and peer, decoded in the event list', () => {
    const [toS0, toL0, again] = m.connectionsOf(C0);
    expect([...m.eventsIn({ kind: 'connection', conn: toS0 })!]).toEqual([3, 4, 5, 6, 9, 10]);
    expect([...m.eventsIn({ kind: 'connection', conn: toL0 })!]).toEqual([7, 8]);
    expect([...m.eventsIn({ kind: 'connection', conn: again })!]).toEqual([11, 12]);
    expect([...m.eventsIn({ kind: 'peer', peer: C0 })!]).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    // S0's own connection to C0 holds S0's step only, not C0's messages.
    const s0 = m.connectionsOf(S0)[0];
    expect([...m.eventsIn({ kind: 'connection', conn: s0 })!]).toEqual([2]);
    const row = (i: number) => { const d = describeEvent(m, i); return `${d.who} ${d.what} ${d.detail}`.trim(); };
    expect(row(6)).toBe('C0 → S0 REQUEST 3:0+16384');
    expect(row(9)).toBe('C0 → S0 HAVE 3');
    expect(row(4)).toBe('C0 → S0 BITFIELD (1 byte)');
    expect(row(8)).toBe('C0 → L0 EXTENDED id 0 (212 bytes)');
    expect(row(12)).toBe('C0 → S0 NOT_INTERESTED');
  });

  it('writes every message type readably, and keeps fields it does not expect', () => {
    expect(describeMessage({ type: 'piece', index: 1, begin: 16384, length: 16384 })).toBe('PIECE 1:16384+16384');
    expect(describeMessage({ type: 'allowed-fast', index: 2 })).toBe('ALLOWED_FAST 2');
    expect(describeMessage({ type: 'port', port: 6881 })).toBe('PORT 6881');
    expect(describeMessage({ type: 'have-all' })).toBe('HAVE_ALL');
    expect(describeMessage({ type: 'hash-request', index: 1 })).toBe('HASH_REQUEST index=1');
    expect(describeMessage({ type: 'have', index: 7, extra: 'x' })).toBe('HAVE 7 extra=x');
  });

  it('says so in the flowchart and the header', () => {
    expect(noEngineNote(m, C0)).toBe('libtorrent runs no swarmlab engine: its messages are listed, no flowchart steps');
    expect(noEngineNote(m, S0)).toBeUndefined();
    const info = describeTrace('tcp.jsonl', m, 0);
    expect(info).toContain('TCP run (real time, not replayable)');
    expect(info).toContain('other clients: C0 libtorrent');
    expect(describePeer(m, m.stateAt(m.positionAt(11)), C0)).toBe('C0 (other client: libtorrent): progress unknown until it completes');
    expect(describePeer(m, m.stateAt(m.eventCount), C0)).toBe('C0 (other client: libtorrent): 4/4 pieces');
  });
});
