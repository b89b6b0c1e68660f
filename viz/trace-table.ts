// A parsed trace as columns: one typed-array slot per event, labels and node ids interned to
// small integers, each event assigned to its connection. Pure TS (no DOM, no Node APIs), so the
// page, the tests and the benchmark share it. The format is docs/trace-format.md.

import { flowNodes } from '../engine/flowchart.ts';
import { TRACE_FORMAT, TRACE_KINDS, TRACE_VERSION, type TraceHeader as WrittenHeader, type TraceKind } from '../engine/trace.ts';
import { bytesEqual, Interner, RawEvent, scanLine } from './line-scanner.ts';

/** Trace versions this reader knows: the one the engine writes (bump both together). */
export const KNOWN_VERSIONS: readonly number[] = [TRACE_VERSION];

/** Event kinds (engine/trace.ts's table), as small integers; `other` keeps kinds this reader does not know. */
export const EVENT_KINDS = [...(Object.keys(TRACE_KINDS) as TraceKind[]), 'other'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
export const KIND: { readonly [K in EventKind]: number } = Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i])) as never;

/** Bits of a connection's choke/interest flags (the `state` event). */
export const FLAG = { amChoking: 1, amInterested: 2, peerChoking: 4, peerInterested: 8 } as const;
/** A connection's flags before its first `state` event: both sides choke, neither is interested. */
export const INITIAL_FLAGS = FLAG.amChoking | FLAG.peerChoking;

/** A trace's header as this reader takes it: format and version checked, the rest as written (a live trace has no seed). */
export type TraceHeader = { format: string; version: number } & Partial<Omit<WrittenHeader, 'format' | 'version'>>;

/** A peer's `join` role: `adversary` for a malicious peer of the simulator (sim/adversary.ts). */
export type PeerRole = 'seed' | 'leecher' | 'adversary';
const ROLES: readonly PeerRole[] = ['seed', 'leecher', 'adversary'];

/** One connection, as seen from the peer that emitted its events. */
export interface Connection {
  peer: number;
  remote: number;
  /** Index of its first event. */
  first: number;
  /** Index of its last event. */
  last: number;
  inbound?: boolean;
}

export interface TraceTable {
  header: TraceHeader;
  /** Number of events (the header is not an event). */
  count: number;
  /** Time of each event, in ms. */
  time: Float64Array;
  kind: Uint8Array;
  /** Label index of the emitting peer. */
  peer: Int32Array;
  /** Connection index, or -1 for peer-level events. */
  conn: Int32Array;
  /** Node index of a `step` (see `nodeIds`), -1 otherwise. */
  node: Int16Array;
  /**
   * The event's number, by kind: `join` pieces, `verified`/`hashfail` and piece-carrying steps the
   * piece, `state` its FLAG bits, `connect` 1 when inbound; -1 when there is none.
   */
  arg: Int32Array;
  /** Bytes of a `pieceStore` step whose result is `stored`, else 0. */
  storedBytes: Int32Array;
  /** Labels of peers and remotes; events refer to them by index. */
  labels: string[];
  /** Node ids: the flowchart's first, in its order, then any the flowchart does not know. */
  nodeIds: string[];
  /** Role of each label from its `join` (undefined for remotes that never joined). */
  roles: (PeerRole | undefined)[];
  /** Of each label: the other BitTorrent client playing it, from its `join`'s `client` (TCP runs), else undefined. */
  clients: (string | undefined)[];
  connections: Connection[];
  /** Byte offset of each event's line in `bytes` (count + 1 entries; the last is the end). */
  lineStart: Float64Array;
  /** The trace's bytes, for showing an event's full line. */
  bytes: Uint8Array;
}

export class TraceError extends Error {}

/** Parses a whole trace at once. */
export function parseTrace(bytes: Uint8Array): TraceTable {
  const steps = parseTraceInSteps(bytes);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Parses a trace a chunk at a time: yields the fraction done after each chunk (so a page can show
 * progress and stay responsive), returns the table.
 */
export function* parseTraceInSteps(bytes: Uint8Array, chunkBytes = 4 << 20): Generator<number, TraceTable> {
  const headerEnd = indexOfNewline(bytes, 0);
  const header = parseHeader(new TextDecoder().decode(bytes.subarray(0, headerEnd)));
  const b = new TableBuilder(header, bytes, countLines(bytes, headerEnd + 1));
  let nextYield = chunkBytes;
  for (let pos = headerEnd + 1; pos < bytes.length; ) {
    const end = indexOfNewline(bytes, pos);
    if (!isBlank(bytes, pos, end)) b.add(pos, end);
    pos = end + 1;
    if (pos >= nextYield) {
      nextYield = pos + chunkBytes;
      yield Math.min(1, pos / bytes.length);
    }
  }
  return b.finish();
}

function parseHeader(text: string): TraceHeader {
  let h: TraceHeader;
  try {
    h = JSON.parse(text);
  } catch {
    throw new TraceError('not a swarmlab trace: the first line is not JSON');
  }
  if (h?.format !== TRACE_FORMAT) throw new TraceError(`not a swarmlab trace: format is ${JSON.stringify(h?.format)}`);
  if (!KNOWN_VERSIONS.includes(h.version)) throw new TraceError(`trace version ${h.version} is not known to this reader (knows ${KNOWN_VERSIONS.join(', ')})`);
  return h;
}

function indexOfNewline(bytes: Uint8Array, from: number): number {
  const i = bytes.indexOf(10, from);
  return i < 0 ? bytes.length : i;
}

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] > 0x20) return false;
  return true;
}

function countLines(bytes: Uint8Array, from: number): number {
  let n = 0;
  for (let i = from; i < bytes.length; i = indexOfNewline(bytes, i) + 1) n++;
  return n;
}

/** Steps whose `piece` field the table keeps. */
const PIECE_STEPS = ['have', 'ohave', 'request', 'piece', 'pieceStore', 'cancel', 'ocancel'];

class TableBuilder {
  private n = 0;
  private readonly time: Float64Array;
  private readonly kind: Uint8Array;
  private readonly peer: Int32Array;
  private readonly conn: Int32Array;
  private readonly node: Int16Array;
  private readonly arg: Int32Array;
  private readonly storedBytes: Int32Array;
  private readonly lineStart: Float64Array;
  private readonly labels = new Interner();
  private readonly roles: (PeerRole | undefined)[] = [];
  private readonly clients: (string | undefined)[] = [];
  private readonly nodes = new Interner(flowNodes.map((n) => n.id));
  private readonly kinds = new Interner(EVENT_KINDS);
  private readonly connections: Connection[] = [];
  /** The current connection of each (peer, remote) pair. */
  private readonly openConn = new Map<number, number>();
  private readonly raw = new RawEvent();
  private readonly fields = new EventFields();
  private readonly connectNode = this.nodes.ofString('connect');
  private readonly pieceStoreNode = this.nodes.ofString('pieceStore');
  /** Per node index: true when its steps carry a piece the table keeps. */
  private pieceNodes: boolean[] = [];

  constructor(
    private readonly header: TraceHeader,
    private readonly bytes: Uint8Array,
    capacity: number,
  ) {
    this.time = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.peer = new Int32Array(capacity);
    this.conn = new Int32Array(capacity);
    this.node = new Int16Array(capacity);
    this.arg = new Int32Array(capacity);
    this.storedBytes = new Int32Array(capacity);
    this.lineStart = new Float64Array(capacity + 1);
    for (const id of PIECE_STEPS) this.pieceNodes[this.nodes.ofString(id)] = true;
  }

  /** Adds the event on bytes [start, end). */
  add(start: number, end: number): void {
    const r = this.raw;
    const b = this.bytes;
    if (!scanLine(b, start, end, r) || r.peerStart < 0 || r.kindStart < 0) return this.addParsed(start, end);
    const f = this.fields;
    const kind = this.kinds.ofBytes(b, r.kindStart, r.kindEnd);
    f.t = r.t;
    f.peer = this.labels.ofBytes(b, r.peerStart, r.peerEnd);
    f.remote = r.remoteStart < 0 ? -1 : this.labels.ofBytes(b, r.remoteStart, r.remoteEnd);
    f.kind = kind < KIND.other ? kind : KIND.other;
    f.node = r.nodeStart < 0 ? -1 : this.nodes.ofBytes(b, r.nodeStart, r.nodeEnd);
    f.piece = r.piece;
    f.pieces = r.pieces;
    f.stored = r.resultStart >= 0 && bytesEqual(b, r.resultStart, r.resultEnd, 'stored') ? r.length : 0;
    f.role = r.roleStart < 0 ? undefined : ROLES.find((role) => bytesEqual(b, r.roleStart, r.roleEnd, role));
    f.client = r.clientStart < 0 ? undefined : new TextDecoder().decode(b.subarray(r.clientStart, r.clientEnd));
    f.inbound = r.inbound;
    f.flags = (r.amChoking ? FLAG.amChoking : 0) | (r.amInterested ? FLAG.amInterested : 0) | (r.peerChoking ? FLAG.peerChoking : 0) | (r.peerInterested ? FLAG.peerInterested : 0);
    this.addEvent(start, f);
  }

  /** The slow path, for lines the scanner does not read: JSON.parse. */
  private addParsed(start: number, end: number): void {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(new TextDecoder().decode(this.bytes.subarray(start, end)));
    } catch {
      throw new TraceError(`event ${this.n + 1} (line ${this.n + 2}) is not JSON`);
    }
    if (typeof e !== 'object' || e === null) throw new TraceError(`event ${this.n + 1} (line ${this.n + 2}) is not an object`);
    const f = this.fields;
    const kind = typeof e.kind === 'string' ? this.kinds.ofString(e.kind) : KIND.other;
    f.t = Number(e.t);
    f.peer = this.labels.ofString(String(e.peer));
    f.remote = typeof e.remote === 'string' ? this.labels.ofString(e.remote) : -1;
    f.kind = kind < KIND.other ? kind : KIND.other;
    f.node = typeof e.node === 'string' ? this.nodes.ofString(e.node) : -1;
    f.piece = typeof e.piece === 'number' ? e.piece : NaN;
    f.pieces = typeof e.pieces === 'number' ? e.pieces : NaN;
    f.stored = e.result === 'stored' ? Number(e.length) || 0 : 0;
    f.role = ROLES.find((role) => role === e.role);
    f.client = typeof e.client === 'string' ? e.client : undefined;
    f.inbound = e.inbound === true;
    f.flags = (e.amChoking ? FLAG.amChoking : 0) | (e.amInterested ? FLAG.amInterested : 0) | (e.peerChoking ? FLAG.peerChoking : 0) | (e.peerInterested ? FLAG.peerInterested : 0);
    this.addEvent(start, f);
  }

  private addEvent(lineStart: number, e: EventFields): void {
    const i = this.n++;
    this.time[i] = e.t;
    this.kind[i] = e.kind;
    this.peer[i] = e.peer;
    this.node[i] = -1;
    this.arg[i] = -1;
    this.storedBytes[i] = 0;
    this.lineStart[i] = lineStart;
    this.conn[i] = e.remote < 0 ? -1 : this.connectionOf(e.peer, e.remote, i, this.startsConnection(e));

    switch (e.kind) {
      case KIND.step:
        this.node[i] = e.node;
        if (this.pieceNodes[e.node] && e.piece >= 0) this.arg[i] = e.piece;
        if (e.node === this.pieceStoreNode) this.storedBytes[i] = e.stored || 0;
        if (e.node === this.connectNode && this.conn[i] >= 0) this.connections[this.conn[i]].inbound = e.inbound;
        break;
      case KIND.join:
        this.arg[i] = e.pieces || 0;
        if (e.role) this.roles[e.peer] = e.role;
        if (e.client !== undefined) this.clients[e.peer] = e.client;
        break;
      case KIND.verified:
      case KIND.hashfail:
        this.arg[i] = e.piece >= 0 ? e.piece : -1;
        break;
      case KIND.state:
        this.arg[i] = e.flags;
        break;
      case KIND.connect:
        this.arg[i] = e.inbound ? 1 : 0;
        break;
    }
  }

  finish(): TraceTable {
    const n = this.n;
    this.lineStart[n] = this.bytes.length;
    const labels = this.labels.names;
    return {
      header: this.header,
      count: n,
      time: this.time.subarray(0, n),
      kind: this.kind.subarray(0, n),
      peer: this.peer.subarray(0, n),
      conn: this.conn.subarray(0, n),
      node: this.node.subarray(0, n),
      arg: this.arg.subarray(0, n),
      storedBytes: this.storedBytes.subarray(0, n),
      labels,
      nodeIds: this.nodes.names,
      roles: labels.map((_, i) => this.roles[i]),
      clients: labels.map((_, i) => this.clients[i]),
      connections: this.connections,
      lineStart: this.lineStart.subarray(0, n + 1),
      bytes: this.bytes,
    };
  }

  /**
   * A `connect` step starts a new connection of the pair; another client takes no steps, so for it
   * the relay's `connect` event does (a reconnection is a new connection, as for swarmlab's peers).
   */
  private startsConnection(e: EventFields): boolean {
    if (e.kind === KIND.step) return e.node === this.connectNode;
    return e.kind === KIND.connect && this.clients[e.peer] !== undefined;
  }

  /** A pair's events belong to its latest connection; `startsConnection` says when one starts. */
  private connectionOf(peer: number, remote: number, event: number, isNew: boolean): number {
    const key = peer * 0x100000 + remote;
    let c = this.openConn.get(key);
    if (c === undefined || isNew) {
      c = this.connections.length;
      this.connections.push({ peer, remote, first: event, last: event });
      this.openConn.set(key, c);
    }
    this.connections[c].last = event;
    return c;
  }
}

/** One event's fields, as both readers hand them to the builder (one instance, reused). */
class EventFields {
  t = 0;
  peer = 0;
  remote = -1;
  kind = 0;
  node = -1;
  piece = NaN;
  pieces = NaN;
  /** Bytes stored by a `pieceStore` of result `stored`, else 0. */
  stored = 0;
  role: PeerRole | undefined = undefined;
  client: string | undefined = undefined;
  inbound = false;
  flags = 0;
}

/** The full JSON line of event `i`. */
export function eventLine(table: TraceTable, i: number): string {
  return new TextDecoder().decode(table.bytes.subarray(table.lineStart[i], table.lineStart[i + 1])).trimEnd();
}

/** Event `i` as an object (parsed from its line). */
export function eventObject(table: TraceTable, i: number): Record<string, unknown> {
  return JSON.parse(eventLine(table, i));
}
