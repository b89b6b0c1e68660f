// The flowchart as a contract (engine/flowchart.ts): node ids are a closed union, and every step a
// connection takes must follow a control edge from its previous step — thrown at once in the
// simulator and tests, recorded as a `violation` trace event in live mode.

import { describe, expect, it } from 'vitest';
import { flowEdges, flowNodes, type NodeId, OffChartStepError, StepTracker } from '../engine/flowchart.ts';
import type { PeerProcess } from '../engine/peer.ts';
import { defaultSettings } from '../engine/settings.ts';
import { LIVE_SETTINGS } from '../live/session.ts';
import { Bench } from './helpers/puppet.ts';

// @ts-expect-error: a node the flowchart does not have is not a NodeId
const unknownNode: NodeId = 'teleport';
void unknownNode;

/** Makes the process for `remote` take one step, as a bug in the engine would. */
function forceStep(b: Bench, remote: string, node: NodeId): void {
  const process = b.client.connections().find((p) => p.remoteLabel === remote)!;
  (process as unknown as { step(node: NodeId): void }).step(node);
}

describe('the node and edge tables', () => {
  it('every edge joins two nodes of the table, and ids are unique', () => {
    const ids = new Set(flowNodes.map((n) => n.id));
    expect(ids.size).toBe(flowNodes.length);
    for (const e of flowEdges) expect(ids.has(e.from) && ids.has(e.to), `${e.from}->${e.to}`).toBe(true);
  });
});

describe('StepTracker', () => {
  const where = () => 'peer A, connection to B';

  it('starts at connect and follows control edges', () => {
    const t = new StepTracker('throw', where, () => {});
    for (const node of ['connect', 'handshake', 'register', 'sendBitfield', 'loop', 'caseMsg', 'piece'] as const) t.enter(node);
    expect(t.node).toBe('piece');
  });

  it('throws at once on a step that follows no control edge, naming both nodes and the connection', () => {
    const t = new StepTracker('throw', where, () => {});
    t.enter('connect');
    t.enter('handshake');
    expect(() => t.enter('piece')).toThrow(new OffChartStepError('handshake', 'piece', 'peer A, connection to B'));
    expect(() => t.enter('piece')).toThrow(/peer A, connection to B: step piece → piece follows no control edge/);
  });

  it('refuses a first step other than connect; a sync edge is not a step', () => {
    expect(() => new StepTracker('throw', where, () => {}).enter('loop')).toThrow(/step \(start\) → loop/);
    const t = new StepTracker('throw', where, () => {});
    t.enter('connect');
    t.enter('handshake');
    t.enter('register');
    expect(() => t.enter('peerMgr')).toThrow(/register → peerMgr/); // register ··> peerMgr is a sync edge
  });

  it("under 'record' reports the step and carries on from the new node", () => {
    const seen: OffChartStepError[] = [];
    const t = new StepTracker('record', where, (e) => seen.push(e));
    t.enter('connect');
    t.enter('loop');
    t.enter('caseMsg');
    expect(seen.map((e) => [e.from, e.to])).toEqual([['connect', 'loop']]);
  });
});

describe('a Peer process keeps to the flowchart', () => {
  it('in the simulator (default settings) an off-chart step throws out of the run', () => {
    expect(defaultSettings.offChartSteps).toBe('throw');
    const b = new Bench();
    const p = b.dialingPuppet('P');
    p.handshake();
    b.run();
    expect(() => forceStep(b, 'P', 'pieceStore')).toThrow(/peer A, connection to P: step loop → pieceStore follows no control edge/);
  });

  it("in live mode ('record') it is a violation event in the trace, and the connection goes on", () => {
    expect(LIVE_SETTINGS.offChartSteps).toBe('record');
    const b = new Bench({ settings: { offChartSteps: 'record' } });
    const p = b.dialingPuppet('P');
    p.handshake();
    b.run();
    forceStep(b, 'P', 'pieceStore');
    p.send({ type: 'keep-alive' });
    b.run();
    // The next message goes on from pieceStore: pieceStore -> caseMsg is off the chart too, then on it.
    const violations = b.events.filter((e) => e.kind === 'violation');
    expect(violations.map((e) => [e.peer, e.remote, e.check])).toEqual([['A', 'P', 'flowchart'], ['A', 'P', 'flowchart']]);
    expect(String(violations[0].detail)).toContain('peer A, connection to P: step loop → pieceStore follows no control edge');
    expect(String(violations[1].detail)).toContain('step pieceStore → caseMsg');
    expect(b.steps('P').slice(-3)).toEqual(['caseMsg', 'keepAlive', 'loop']);
    expect(b.client.connections().map((c: PeerProcess) => c.remoteLabel)).toEqual(['P']);
  });

  it('the check runs even when the trace does not take steps', () => {
    const b = new Bench();
    const p = b.dialingPuppet('P');
    p.handshake();
    b.run();
    (b.client.trace as { steps?: boolean }).steps = false;
    expect(() => forceStep(b, 'P', 'exit')).not.toThrow(); // loop -> exit is drawn
    expect(() => forceStep(b, 'P', 'loop')).toThrow(/exit → loop/);
  });
});
