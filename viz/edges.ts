// The edges a trace takes: each `step` after a connection's first is the edge (previous node ->
// node); `cleanup` ends a connection, and the next one between the pair starts afresh. Edges get
// small ids: the flowchart's control edges first, in its order, then any pair the flowchart does
// not draw (so counts stay complete even for a newer engine).

import { flowEdges } from '../engine/flowchart.ts';
import { KIND, type TraceTable } from './trace-table.ts';

export interface EdgeIndex {
  /** `from` and `to` node indices of each edge id. */
  from: Int16Array;
  to: Int16Array;
  /** "fromId>toId" of each edge id. */
  keys: string[];
  /** Number of edges the flowchart draws (ids below this are drawn). */
  drawn: number;
  /** Per event: the id of the edge a `step` took to get there, -1 for other events and first steps. */
  edgeOf: Int16Array;
}

export function indexEdges(table: TraceTable): EdgeIndex {
  const nodeIndex = new Map(table.nodeIds.map((id, i) => [id, i]));
  const from: number[] = [];
  const to: number[] = [];
  const keys: string[] = [];
  const idOf = new Map<number, number>();
  const pair = (a: number, b: number) => a * 0x8000 + b;
  const add = (a: number, b: number): number => {
    const id = keys.length;
    from.push(a);
    to.push(b);
    keys.push(`${table.nodeIds[a]}>${table.nodeIds[b]}`);
    idOf.set(pair(a, b), id);
    return id;
  };
  for (const e of flowEdges) if (e.type === 'control') add(nodeIndex.get(e.from)!, nodeIndex.get(e.to)!);
  const drawn = keys.length;

  const edgeOf = new Int16Array(table.count).fill(-1);
  const lastNode = new Int16Array(table.connections.length).fill(-1);
  const { kind, conn, node } = table;
  const STEP = KIND.step;
  // `cleanup` ends a connection: a later one between the same pair starts afresh at `connect`.
  const cleanup = nodeIndex.get('cleanup') ?? -2;
  for (let i = 0; i < table.count; i++) {
    if (kind[i] !== STEP || conn[i] < 0) continue;
    const c = conn[i];
    const prev = lastNode[c];
    const cur = node[i];
    if (prev >= 0 && prev !== cleanup) edgeOf[i] = idOf.get(pair(prev, cur)) ?? add(prev, cur);
    lastNode[c] = cur;
  }
  return { from: Int16Array.from(from), to: Int16Array.from(to), keys, drawn, edgeOf };
}
