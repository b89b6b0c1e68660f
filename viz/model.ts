// The replay model: a parsed trace plus the indexes that answer "what was the state at time t"
// without replaying from the start — periodic snapshots of the swarm state, each connection's and
// each peer's events, the edges each step took, the events a user can jump to, and rates over
// time. Pure TS, no DOM: the page, the tests and the benchmark use the same code.

import { type EdgeIndex, indexEdges } from './edges.ts';
import { countAtOrBelow, countBelow, type EventLists, eventsOf, groupEvents } from './event-lists.ts';
import { computeRates, type RateSeries } from './rates.ts';
import { PHASE, SwarmState } from './swarm-state.ts';
import { eventObject, KIND, parseTrace, type TraceTable } from './trace-table.ts';

/** Kinds of event the replay controls can jump to. */
export const JUMP_KINDS = ['hashfail', 'choke', 'disconnect', 'fault', 'violation'] as const;
export type JumpKind = (typeof JUMP_KINDS)[number];

/** What the flowchart shows: one connection, all connections of one peer, or the whole swarm. */
export type Scope = { kind: 'swarm' } | { kind: 'peer'; peer: number } | { kind: 'connection'; conn: number };

export interface ModelOptions {
  /** Events between two snapshots (default: chosen from the trace's size). */
  snapshotEvery?: number;
  /** Bins of the rate series. */
  rateBins?: number;
}

/** Snapshots take at most about this many bytes together. */
const SNAPSHOT_BUDGET = 96 << 20;

export class ReplayModel {
  readonly edges: EdgeIndex;
  readonly byConnection: EventLists;
  readonly byPeer: EventLists;
  /** Per jump kind: the indices of its events, ascending. */
  readonly marks: Record<JumpKind, Int32Array>;
  readonly rates: RateSeries;
  readonly pieces: number;
  readonly endTime: number;
  /**
   * The swarm's peers, in order of first appearance: labels that joined or have connections (not
   * pseudo-peers such as the simulator's `sim`, which only reports faults).
   */
  readonly peers: number[];
  readonly snapshotEvery: number;
  /** How many `ban` events the trace has. */
  readonly banCount: number;
  private readonly snapshots: SwarmState[] = [];
  private readonly cursor: SwarmState;
  private readonly labelIndex: Map<string, number>;
  private readonly connectionsByPeer: number[][];
  private readonly behaviours = new Map<number, string>();

  constructor(
    readonly table: TraceTable,
    options: ModelOptions = {},
  ) {
    const t = table;
    this.endTime = t.count ? t.time[t.count - 1] : 0;
    this.pieces = t.header.torrent?.pieces ?? inferPieceCount(t);
    this.labelIndex = new Map(t.labels.map((l, i) => [l, i]));
    this.edges = indexEdges(t);
    this.byConnection = groupEvents(t.conn, t.connections.length);
    this.byPeer = groupEvents(t.peer, t.labels.length);
    this.connectionsByPeer = t.labels.map(() => []);
    t.connections.forEach((c, i) => this.connectionsByPeer[c.peer].push(i));
    const isPeer = new Uint8Array(t.labels.length);
    for (const c of t.connections) isPeer[c.peer] = isPeer[c.remote] = 1;
    t.roles.forEach((r, i) => r && (isPeer[i] = 1));
    this.peers = t.labels.map((_, i) => i).filter((i) => isPeer[i]);
    this.marks = findMarks(t);
    let bans = 0;
    for (let i = 0; i < t.count; i++) {
      if (t.kind[i] === KIND.ban) bans++;
      else if (t.kind[i] === KIND.join && t.roles[t.peer[i]] === 'adversary') this.behaviours.set(t.peer[i], String(eventObject(t, i).behaviour ?? 'adversary'));
    }
    this.banCount = bans;
    this.rates = computeRates(t, this.endTime, options.rateBins);

    this.cursor = new SwarmState(t.labels.length, this.pieces, t.connections.length, this.edges.keys.length);
    this.snapshotEvery = options.snapshotEvery ?? chooseSnapshotInterval(t.count, stateBytes(this.cursor));
    this.buildSnapshots();
  }

  static fromBytes(bytes: Uint8Array, options?: ModelOptions): ReplayModel {
    return new ReplayModel(parseTrace(bytes), options);
  }

  static fromText(text: string, options?: ModelOptions): ReplayModel {
    return ReplayModel.fromBytes(new TextEncoder().encode(text), options);
  }

  get eventCount(): number {
    return this.table.count;
  }

  label(index: number): string {
    return this.table.labels[index];
  }

  labelOf(name: string): number | undefined {
    return this.labelIndex.get(name);
  }

  /** The other BitTorrent client playing a peer (`join`'s `client`, TCP runs), or undefined for swarmlab's own. */
  clientOf(peer: number): string | undefined {
    return this.table.clients[peer];
  }

  /** A malicious peer's behaviour (its `join`'s `behaviour`: `corrupt`, `liar`, …), or undefined for an honest one. */
  behaviourOf(peer: number): string | undefined {
    return this.behaviours.get(peer);
  }

  /** True when the trace is of a TCP run (`swarmlab run --transport tcp`): real time, not replayable. */
  get tcpRun(): boolean {
    return this.table.header.settings?.transport === 'tcp';
  }

  /**
   * Whether a peer's progress in `state` is known: another client traces no `verified`, so its
   * pieces are known only when it joined as a seed or once it is `complete` (then all of them).
   */
  progressKnown(state: SwarmState, peer: number): boolean {
    return this.clientOf(peer) === undefined || state.completed[peer] === 1 || this.table.roles[peer] === 'seed';
  }

  nodeId(index: number): string {
    return this.table.nodeIds[index];
  }

  // ---- time and position ------------------------------------------------------------------------

  /** The position (events applied) for time t: every event at or before t. */
  positionAt(t: number): number {
    return countAtOrBelow(this.table.time, t);
  }

  /** The time shown at a position: that of its last applied event (0 before the first). */
  timeAt(position: number): number {
    return position > 0 ? this.table.time[Math.min(position, this.table.count) - 1] : 0;
  }

  /**
   * The swarm's state after `position` events. The returned object is reused by the next call;
   * clone it to keep it. Moving forward a little replays from where it is; anything else starts
   * from the nearest snapshot at or before `position`.
   */
  stateAt(position: number): SwarmState {
    const p = Math.max(0, Math.min(position, this.table.count));
    const c = this.cursor;
    if (p < c.position || p - c.position > this.snapshotEvery) {
      c.copyFrom(this.snapshots[Math.floor(p / this.snapshotEvery)]);
    }
    c.advance(this.table, this.edges.edgeOf, p);
    return c;
  }

  // ---- connections --------------------------------------------------------------------------------

  connectionsOf(peer: number): readonly number[] {
    return this.connectionsByPeer[peer] ?? [];
  }

  /** The connection of peer -> remote that had begun by `position` (the latest such), if any. */
  connectionBetween(peer: string, remote: string, position = this.table.count): number | undefined {
    const p = this.labelOf(peer);
    const r = this.labelOf(remote);
    if (p === undefined || r === undefined) return undefined;
    let found: number | undefined;
    for (const c of this.connectionsOf(p)) {
      const conn = this.table.connections[c];
      if (conn.remote === r && conn.first < Math.max(position, 1)) found = c;
    }
    return found;
  }

  /** Index of the connection's last step before `position`, or -1. */
  lastStep(conn: number, position: number): number {
    const events = eventsOf(this.byConnection, conn);
    for (let k = countBelow(events, position) - 1; k >= 0; k--) if (this.table.kind[events[k]] === KIND.step) return events[k];
    return -1;
  }

  /** Node index the connection is at after `position` events, or -1 before its first step. */
  nodeAt(conn: number, position: number): number {
    const i = this.lastStep(conn, position);
    return i < 0 ? -1 : this.table.node[i];
  }

  // ---- the flowchart's numbers -----------------------------------------------------------------------

  /** How often each edge was taken in `scope` by `position` (indexed by edge id). */
  edgeCounts(scope: Scope, position: number): Int32Array {
    if (scope.kind === 'swarm') return this.stateAt(position).edgeCounts.slice();
    const counts = new Int32Array(this.edges.keys.length);
    const events = scope.kind === 'peer' ? eventsOf(this.byPeer, scope.peer) : eventsOf(this.byConnection, scope.conn);
    const edgeOf = this.edges.edgeOf;
    const n = countBelow(events, position);
    for (let k = 0; k < n; k++) {
      const e = edgeOf[events[k]];
      if (e >= 0) counts[e]++;
    }
    return counts;
  }

  /**
   * How many connections in `scope` are at each node after `position` events (indexed by node):
   * connections that have started and not yet ended, plus, for one connection, wherever it is.
   */
  occupancy(scope: Scope, position: number): Int32Array {
    const counts = new Int32Array(this.table.nodeIds.length);
    if (scope.kind === 'connection') {
      const node = this.nodeAt(scope.conn, position);
      if (node >= 0) counts[node] = 1;
      return counts;
    }
    const s = this.stateAt(position);
    const conns = scope.kind === 'peer' ? this.connectionsOf(scope.peer) : null;
    const n = conns ? conns.length : this.table.connections.length;
    for (let k = 0; k < n; k++) {
      const c = conns ? conns[k] : k;
      const phase = s.connPhase[c];
      if ((phase === PHASE.starting || phase === PHASE.open) && s.connNode[c] >= 0) counts[s.connNode[c]]++;
    }
    return counts;
  }

  // ---- moving around ------------------------------------------------------------------------------

  /** The events of a scope, ascending (all events for the swarm: null). */
  eventsIn(scope: Scope): Int32Array | null {
    if (scope.kind === 'peer') return eventsOf(this.byPeer, scope.peer);
    if (scope.kind === 'connection') return eventsOf(this.byConnection, scope.conn);
    return null;
  }

  /** The position just after the next (dir 1) or previous (dir -1) event of `scope`. */
  stepFrom(scope: Scope, position: number, dir: 1 | -1): number {
    const events = this.eventsIn(scope);
    if (!events) return Math.max(0, Math.min(this.table.count, position + dir));
    const applied = countBelow(events, position);
    if (dir > 0) return applied < events.length ? events[applied] + 1 : position;
    return applied >= 2 ? events[applied - 2] + 1 : applied === 1 ? events[0] : position;
  }

  /** The position just after the next event of `kind` not yet applied at `position`, if any. */
  nextMark(kind: JumpKind, position: number): number | undefined {
    const list = this.marks[kind];
    const k = countBelow(list, position);
    return k < list.length ? list[k] + 1 : undefined;
  }

  // ---- building ---------------------------------------------------------------------------------------

  private buildSnapshots(): void {
    const s = this.cursor;
    const edgeOf = this.edges.edgeOf;
    for (let p = 0; ; p += this.snapshotEvery) {
      s.advance(this.table, edgeOf, Math.min(p, this.table.count));
      this.snapshots.push(s.clone());
      if (p >= this.table.count) break;
    }
  }
}

function findMarks(t: TraceTable): Record<JumpKind, Int32Array> {
  const lists: Record<JumpKind, number[]> = { hashfail: [], choke: [], disconnect: [], fault: [], violation: [] };
  const choke = t.nodeIds.indexOf('choke');
  const ochoke = t.nodeIds.indexOf('ochoke');
  for (let i = 0; i < t.count; i++) {
    switch (t.kind[i]) {
      case KIND.hashfail: lists.hashfail.push(i); break;
      case KIND.disconnect: lists.disconnect.push(i); break;
      case KIND.fault: lists.fault.push(i); break;
      case KIND.violation: lists.violation.push(i); break;
      case KIND.step:
        if (t.node[i] === choke || t.node[i] === ochoke) lists.choke.push(i);
        break;
    }
  }
  return Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, Int32Array.from(v)])) as Record<JumpKind, Int32Array>;
}

/** Without a torrent in the header: one more than the highest piece index any event names. */
function inferPieceCount(t: TraceTable): number {
  let max = -1;
  for (let i = 0; i < t.count; i++) {
    if (t.kind[i] === KIND.verified || t.kind[i] === KIND.hashfail || t.kind[i] === KIND.step) max = Math.max(max, t.arg[i]);
    if (t.kind[i] === KIND.join) max = Math.max(max, t.arg[i] - 1);
  }
  return max + 1;
}

function stateBytes(s: SwarmState): number {
  return s.haves.length + 4 * (s.progress.length + s.availability.length + s.hashfails.length + s.bannedBy.length + s.edgeCounts.length) + 4 * s.connPhase.length;
}

function chooseSnapshotInterval(events: number, bytesPerSnapshot: number): number {
  const affordable = Math.max(1, Math.floor(SNAPSHOT_BUDGET / Math.max(1, bytesPerSnapshot)));
  const wanted = Math.min(512, Math.ceil(events / 4096));
  return Math.max(1024, Math.ceil(events / Math.max(1, Math.min(affordable, wanted))));
}
