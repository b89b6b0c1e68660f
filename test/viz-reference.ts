// A deliberately naive reading of a trace, straight from docs/trace-format.md ("Deriving state"):
// replay every event up to time t, one by one, with plain objects. The visualizer's replay model
// (indexes, snapshots, typed arrays) must agree with it; the tests compare the two.

export interface TraceLineEvent {
  t: number;
  peer: string;
  remote?: string;
  kind: string;
  node?: string;
  [field: string]: unknown;
}

export interface ReferenceState {
  /** Per connection ("peer>remote#k", k counting the pair's connections from 0): its last step's node. */
  node: Map<string, string>;
  /** Per connection: "from>to" -> times taken. */
  edges: Map<string, Map<string, number>>;
  /** Per peer: pieces of its join plus one per verified. */
  progress: Map<string, number>;
  /** Per piece: peers in the swarm holding it. */
  availability: number[];
  /** Per connection: the flags of its last `state` event. */
  flags: Map<string, { amChoking: boolean; amInterested: boolean; peerChoking: boolean; peerInterested: boolean }>;
}

export function parseLines(text: string): { header: Record<string, any>; events: TraceLineEvent[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return { header: JSON.parse(lines[0]), events: lines.slice(1).map((l) => JSON.parse(l)) };
}

/** The state after every event at or before time t. */
export function referenceStateAt(events: TraceLineEvent[], pieces: number, t: number): ReferenceState {
  const s: ReferenceState = { node: new Map(), edges: new Map(), progress: new Map(), availability: [], flags: new Map() };
  const generation = new Map<string, number>();
  const holds = new Map<string, Set<number>>();
  const inSwarm = new Set<string>();
  const connOf = (e: TraceLineEvent) => {
    const pair = `${e.peer}>${e.remote}`;
    if (e.kind === 'step' && e.node === 'connect') generation.set(pair, (generation.get(pair) ?? -1) + 1);
    if (!generation.has(pair)) generation.set(pair, 0);
    return `${pair}#${generation.get(pair)}`;
  };
  for (const e of events) {
    if (e.t > t) break;
    const conn = e.remote !== undefined ? connOf(e) : '';
    switch (e.kind) {
      case 'step': {
        const prev = s.node.get(conn);
        if (prev !== undefined) {
          const m = s.edges.get(conn) ?? new Map<string, number>();
          const key = `${prev}>${e.node}`;
          m.set(key, (m.get(key) ?? 0) + 1);
          s.edges.set(conn, m);
        }
        s.node.set(conn, e.node!);
        break;
      }
      case 'state':
        s.flags.set(conn, { amChoking: !!e.amChoking, amInterested: !!e.amInterested, peerChoking: !!e.peerChoking, peerInterested: !!e.peerInterested });
        break;
      case 'join': {
        s.progress.set(e.peer, Number(e.pieces));
        const h = holds.get(e.peer) ?? new Set<number>();
        if (e.role === 'seed') for (let p = 0; p < pieces; p++) h.add(p);
        holds.set(e.peer, h);
        inSwarm.add(e.peer);
        break;
      }
      case 'verified': {
        s.progress.set(e.peer, (s.progress.get(e.peer) ?? 0) + 1);
        const h = holds.get(e.peer) ?? new Set<number>();
        h.add(Number(e.piece));
        holds.set(e.peer, h);
        break;
      }
      case 'leave':
        inSwarm.delete(e.peer);
        break;
    }
  }
  s.availability = Array.from({ length: pieces }, (_, p) => [...inSwarm].filter((peer) => holds.get(peer)?.has(p)).length);
  return s;
}
