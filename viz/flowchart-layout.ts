// Where the flowchart's nodes and edges are drawn. The layout follows combinatorrent's Peer.dot
// (top to bottom: Loop/Sync beside Inbound, the message dispatch, one column per wire message,
// the dotted cluster "Unchoke checked fill blocks" below, Exit at the bottom); swarmlab's
// additions sit around it — startup along the top, timers to the right of the loop, the Peer
// Manager's extra messages beside its own. Every node has a place: `POSITION` is a
// `Record<NodeId, Point>`, so a node added to engine/flowchart.ts without one does not compile.
// Pure geometry, no DOM.

import { type FlowEdge, type FlowNode, flowEdges, flowNodes, type NodeId } from '../engine/flowchart.ts';

export type Shape = 'ellipse' | 'box' | 'diamond';
export type Point = [number, number];

export interface PlacedNode {
  id: NodeId;
  node: FlowNode;
  /** The label, broken into lines. */
  lines: string[];
  shape: Shape;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RoutedEdge {
  edge: FlowEdge;
  /** "from>to", the key edge counts use. */
  key: string;
  /** Polyline the curve follows: first and last points lie on the nodes' outlines. */
  points: Point[];
  /** Where the edge's label and count are drawn. */
  labelAt: Point;
}

export interface FlowLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: RoutedEdge[];
  /** The dotted cluster "Unchoke checked fill blocks". */
  cluster: { x: number; y: number; w: number; h: number; label: string };
}

// Rows (y of node centres), top to bottom.
const Y = {
  startup: 40,
  loop: 125,
  dispatch: 210,
  message: 300,
  check: 385,
  act: 465,
  fill: 560,
  exit: 665,
};

/** Centre of each node. */
const POSITION: Record<NodeId, Point> = {
  // Startup lane (added), left to right into Loop/Sync.
  connect: [60, Y.startup],
  handshake: [175, Y.startup],
  register: [325, Y.startup],
  sendBitfield: [470, Y.startup],
  sendExtHandshake: [640, Y.startup],
  // Loop/Sync beside Inbound, as in the original's `rank=same`; the other processes around.
  inbound: [300, Y.loop],
  loop: [470, Y.loop],
  peerMgr: [1170, Y.loop],
  outbound: [985, Y.act],
  pieceMgr: [930, Y.fill],
  // Timers (added), right of the loop.
  tick: [760, Y.loop],
  sendKeepAlive: [655, Y.dispatch],
  snubbed: [770, Y.dispatch],
  idleTimeout: [880, Y.dispatch],
  // Dispatch.
  caseMsg: [470, Y.dispatch],
  casePMMsg: [1170, Y.dispatch],
  // Wire messages, one column each, and their steps below.
  bitfield: [150, Y.message],
  piece: [260, Y.message],
  have: [365, Y.message],
  cancel: [470, Y.message],
  unchoke: [575, Y.message],
  choke: [680, Y.message],
  request: [795, Y.message],
  constructPieceSet: [150, Y.check],
  pieceOk: [260, Y.check],
  pieceStore: [260, Y.act],
  haveOk: [365, Y.check],
  cancelForward: [470, Y.check],
  clearPieceQueue: [680, Y.check],
  requestChoked: [795, Y.check],
  requestIgnore: [735, Y.act],
  queueRequest: [860, Y.act],
  // Peer Manager messages.
  ounchoke: [985, Y.message],
  osuggest: [985, Y.check],
  ochoke: [1095, Y.message],
  chokePrune: [1095, Y.check],
  ohave: [1225, Y.message],
  ocancel: [1375, Y.message],
  // The cluster.
  sizeCheck: [360, Y.fill],
  grabBlocks: [560, Y.fill],
  queueBlocks: [745, Y.fill],
  // The end.
  exit: [150, Y.exit],
  cleanup: [360, Y.exit],
  // Wire messages swarmlab accepts and otherwise ignores (added), left of the dispatch.
  interested: [75, Y.loop + 40],
  notInterested: [75, Y.loop + 76],
  keepAlive: [75, Y.loop + 112],
  port: [75, Y.loop + 148],
  // Extensions (added): BEP 6 beside BITFIELD and REQUEST, BEP 10/9 at the bottom right.
  haveAll: [45, Y.message + 12],
  haveNone: [45, Y.check - 22],
  reject: [900, Y.message],
  oreject: [1110, Y.act],
  allowedFast: [1000, Y.dispatch],
  suggest: [1040, Y.dispatch + 42],
  ignored: [1290, Y.dispatch + 10],
  extended: [1100, Y.fill],
  extHandshake: [1050, Y.exit],
  metadataRequest: [1330, Y.act + 40],
  requestMetadata: [1220, Y.exit + 45],
  metadataData: [1260, Y.fill],
  metadataCheck: [1380, Y.exit],
  metadataReject: [1230, Y.exit - 20],
  // BEP 6 (issue 11): our allowed-fast set after the startup lane; Fast's CHOKE beside Clear Piece Queue.
  oallowedFast: [820, Y.startup],
  keepRequests: [600, Y.act],
  // BEP 11 PEX: taken beside EXTENDED, sent beside the other Peer Manager messages.
  pex: [1000, Y.exit + 45],
  opex: [1375, Y.check],
};

/**
 * Bends for edges the automatic routing draws badly. Points are in order from source to target;
 * ports are added at both ends.
 */
const WAYPOINTS: Record<string, Point[]> = {};

const FONT = 12;
const CHAR = 6.9;
const LINE = 15;
const MAX_LINE_CHARS = 20;

/** Breaks a label into as few lines as MAX_LINE_CHARS allows, of lengths as even as can be. */
export function wrapLabel(label: string): string[] {
  const lines = wrapAt(label, MAX_LINE_CHARS);
  for (let width = Math.ceil(label.length / lines.length); width < MAX_LINE_CHARS; width++) {
    const even = wrapAt(label, width);
    if (even.length === lines.length) return even;
  }
  return lines;
}

function wrapAt(label: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of label.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function shapeOf(n: FlowNode): Shape {
  if (n.kind === 'process') return 'ellipse';
  if (n.kind === 'decision') return 'diamond';
  return 'box';
}

/** Width of a label's widest line; the page measures it, elsewhere it is estimated. */
export type MeasureText = (lines: string[]) => number;
const estimateWidth: MeasureText = (lines) => Math.max(...lines.map((l) => l.length)) * CHAR;

function sizeOf(lines: string[], shape: Shape, measure: MeasureText): [number, number] {
  const textW = measure(lines);
  const textH = lines.length * LINE;
  if (shape === 'ellipse') return [textW + 44, textH + 22];
  if (shape === 'diamond') return [textW * 1.35 + 34, textH + 26];
  return [textW + 20, textH + 12];
}

export function layoutFlowchart(
  nodes: readonly FlowNode[] = flowNodes,
  edges: readonly FlowEdge[] = flowEdges,
  measure: MeasureText = estimateWidth,
): FlowLayout {
  const placed: PlacedNode[] = nodes.map((n) => {
    const lines = wrapLabel(n.label);
    const shape = shapeOf(n);
    const [w, h] = sizeOf(lines, shape, measure);
    const [x, y] = POSITION[n.id];
    return { id: n.id, node: n, lines, shape, x, y, w, h };
  });
  const byId = new Map(placed.map((p) => [p.id, p]));

  const routed: RoutedEdge[] = [];
  const gapsUsed = new Map<string, number>();
  for (const e of edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    const key = `${e.from}>${e.to}`;
    const points = route(a, b, WAYPOINTS[key] ?? autoBends(a, b, placed, gapsUsed));
    routed.push({ edge: e, key, points, labelAt: pointAlong(points, labelFraction(e, edges, points)) });
  }

  const fill = placed.filter((p) => p.node.cluster === 'fill');
  const cluster = boundsOf(fill, 22, 'Unchoke checked fill blocks');
  const width = Math.max(...placed.map((p) => p.x + p.w / 2)) + 30;
  const height = Math.max(...placed.map((p) => p.y + p.h / 2)) + 30;
  return { width, height, nodes: placed, edges: routed, cluster };
}

/**
 * Bends for an edge without waypoints, as dot routes long edges: at every level of nodes the edge
 * crosses, it passes through the gap nearest to the straight line (spread a little when several
 * edges share a gap). An edge along a row with nodes in between arcs over them.
 */
function autoBends(a: PlacedNode, b: PlacedNode, all: PlacedNode[], used: Map<string, number>): Point[] {
  if (a === b) return [[a.x + a.w / 2 + 20, a.y - 14], [a.x + a.w / 2 + 20, a.y + 14]];
  const others = all.filter((n) => n !== a && n !== b);
  if (Math.abs(a.y - b.y) < Math.max(a.h, b.h) / 2) {
    const lo = Math.min(a.x, b.x);
    const hi = Math.max(a.x, b.x);
    const between = others.filter((n) => n.x > lo && n.x < hi && Math.abs(n.y - a.y) < n.h / 2 + 6);
    if (between.length === 0) return [];
    const top = Math.min(...between.map((n) => n.y - n.h / 2)) - 16;
    return [[lo + (hi - lo) * 0.25, top], [lo + (hi - lo) * 0.75, top]].map(([x, y]) => [a.x < b.x ? x : lo + hi - x, y]) as Point[];
  }
  const down = b.y > a.y;
  const y0 = down ? a.y + a.h / 2 : a.y - a.h / 2;
  const y1 = down ? b.y - b.h / 2 : b.y + b.h / 2;
  const levels = [...new Set(others.map((n) => n.y))].filter((y) => (down ? y > y0 && y < y1 : y < y0 && y > y1)).sort((p, q) => (down ? p - q : q - p));
  const bends: Point[] = [];
  let prev: Point = [a.x, y0];
  for (const y of levels) {
    // Where the line from the last bend to the target crosses this level.
    const k = (y - prev[1]) / (y1 - prev[1]);
    const ideal = prev[0] + (b.x - prev[0]) * k;
    const blocked = others
      .filter((n) => Math.abs(n.y - y) < n.h / 2 + 4)
      .map((n) => [n.x - n.w / 2 - 10, n.x + n.w / 2 + 10] as Point)
      .sort((p, q) => p[0] - q[0]);
    const x = nearestFree(ideal, mergeIntervals(blocked));
    if (x === ideal) continue;
    const gap = `${Math.round(y)}:${Math.round(x)}`;
    const n = used.get(gap) ?? 0;
    used.set(gap, n + 1);
    const spread = (n % 2 ? -1 : 1) * Math.ceil(n / 2) * 5;
    const bend: Point = [x + spread, y];
    bends.push(bend);
    prev = bend;
  }
  return bends;
}

function mergeIntervals(sorted: Point[]): Point[] {
  const out: Point[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function nearestFree(x: number, blocked: Point[]): number {
  for (const [lo, hi] of blocked) if (x > lo && x < hi) return x - lo < hi - x ? lo : hi;
  return x;
}

/** The edge's polyline: from a's outline, through the bends, to b's outline. */
function route(a: PlacedNode, b: PlacedNode, bends: Point[]): Point[] {
  const first: Point = bends[0] ?? [b.x, b.y];
  const last: Point = bends[bends.length - 1] ?? [a.x, a.y];
  // Vertical edges leave from the bottom and enter at the top, as dot draws them.
  const start = portToward(a, first);
  const end = portToward(b, last);
  return [start, ...bends, end];
}

/** The point where the ray from n's centre toward `p` leaves n's outline. */
export function portToward(n: PlacedNode, p: Point): Point {
  const dx = p[0] - n.x;
  const dy = p[1] - n.y;
  if (dx === 0 && dy === 0) return [n.x, n.y];
  const hw = n.w / 2;
  const hh = n.h / 2;
  let t: number;
  if (n.shape === 'ellipse') t = 1 / Math.sqrt((dx * dx) / (hw * hw) + (dy * dy) / (hh * hh));
  else if (n.shape === 'diamond') t = 1 / (Math.abs(dx) / hw + Math.abs(dy) / hh);
  else t = Math.min(dx === 0 ? Infinity : hw / Math.abs(dx), dy === 0 ? Infinity : hh / Math.abs(dy));
  return [n.x + dx * t, n.y + dy * t];
}

/** Where along an edge its label goes, for edges the general rule places badly. */
const LABEL_AT: Record<string, number> = { 'loop>exit': 0.88 };

/**
 * Where along an edge its label goes: a branch label (Yes, No, …) next to the step it leaves, as
 * a flowchart reads; a count near the end whose node has fewer edges on that side, so the counts
 * of the many edges into Loop/Sync, or out of Case msg, do not pile up on one spot.
 */
function labelFraction(e: FlowEdge, all: readonly FlowEdge[], points: Point[]): number {
  const fixed = LABEL_AT[`${e.from}>${e.to}`];
  if (fixed !== undefined) return fixed;
  if (e.type === 'sync') return 0.5;
  if (e.label) return Math.min(0.5, 34 / Math.max(1, polylineLength(points)));
  const out = all.filter((x) => x.type === 'control' && x.from === e.from).length;
  const into = all.filter((x) => x.type === 'control' && x.to === e.to).length;
  if (into > 3 && into > out) return 0.3;
  if (out > 3 && out > into) return 0.7;
  return 0.5;
}

function polylineLength(points: Point[]): number {
  let sum = 0;
  for (let i = 1; i < points.length; i++) sum += Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
  return sum;
}

/** The point at fraction f of a polyline's length. */
export function pointAlong(points: Point[], f: number): Point {
  const lengths = points.slice(1).map((p, i) => Math.hypot(p[0] - points[i][0], p[1] - points[i][1]));
  let remaining = f * lengths.reduce((s, l) => s + l, 0);
  for (let i = 0; i < lengths.length; i++) {
    if (remaining <= lengths[i] || i === lengths.length - 1) {
      const k = lengths[i] ? Math.min(1, remaining / lengths[i]) : 0;
      const [x0, y0] = points[i];
      const [x1, y1] = points[i + 1];
      return [x0 + (x1 - x0) * k, y0 + (y1 - y0) * k];
    }
    remaining -= lengths[i];
  }
  return points[0];
}

function boundsOf(nodes: PlacedNode[], pad: number, label: string) {
  if (nodes.length === 0) return { x: 0, y: 0, w: 0, h: 0, label };
  const x0 = Math.min(...nodes.map((n) => n.x - n.w / 2)) - pad;
  const x1 = Math.max(...nodes.map((n) => n.x + n.w / 2)) + pad;
  const y0 = Math.min(...nodes.map((n) => n.y - n.h / 2)) - pad;
  const y1 = Math.max(...nodes.map((n) => n.y + n.h / 2)) + pad + 18;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, label };
}

export const FLOW_FONT_SIZE = FONT;
export const FLOW_LINE_HEIGHT = LINE;
