// The state of the whole swarm after a prefix of the trace's events, and how one event changes
// it. The rules are those of docs/trace-format.md, "Deriving state".

import { FLAG, INITIAL_FLAGS, KIND, type TraceTable } from './trace-table.ts';

/** Where a connection is in its life. */
export const PHASE = {
  /** No event yet. */
  none: 0,
  /** Its first step (connect) is taken; the handshake is not done. */
  starting: 1,
  /** The `connect` event: handshake done, remote registered. */
  open: 2,
  /** A `disconnect`, or its process reached exit/cleanup. */
  closed: 3,
} as const;

export class SwarmState {
  /** Number of events applied: the state holds events [0, position). */
  position = 0;
  /** 1 while the peer is in the swarm (between `join` and `leave`). */
  readonly alive: Uint8Array;
  readonly completed: Uint8Array;
  /** Pieces each peer holds, from `join` (seeds) and `verified`: haves[peer * pieces + piece]. */
  readonly haves: Uint8Array;
  /**
   * Pieces held per peer: `pieces` of its join plus one per `verified`; another client (no
   * `verified` events) has its join's until its `complete`, then all (see `ReplayModel.progressKnown`).
   */
  readonly progress: Int32Array;
  /** Per piece: how many peers in the swarm hold it. */
  readonly availability: Int32Array;
  /** Per piece: hash failures so far. */
  readonly hashfails: Int32Array;
  /** Per label: how many peers have banned it so far (`ban` events naming it as the remote). */
  readonly bannedBy: Int32Array;
  readonly connPhase: Uint8Array;
  /** FLAG bits of each connection (its last `state` event). */
  readonly connFlags: Uint8Array;
  /** Node index of each connection's last step, -1 before its first. */
  readonly connNode: Int16Array;
  /** How often each edge was taken, over all connections. */
  readonly edgeCounts: Int32Array;

  constructor(
    readonly peers: number,
    readonly pieces: number,
    readonly connections: number,
    readonly edges: number,
  ) {
    this.alive = new Uint8Array(peers);
    this.completed = new Uint8Array(peers);
    this.haves = new Uint8Array(peers * pieces);
    this.progress = new Int32Array(peers);
    this.availability = new Int32Array(pieces);
    this.hashfails = new Int32Array(pieces);
    this.bannedBy = new Int32Array(peers);
    this.connPhase = new Uint8Array(connections);
    this.connFlags = new Uint8Array(connections).fill(INITIAL_FLAGS);
    this.connNode = new Int16Array(connections).fill(-1);
    this.edgeCounts = new Int32Array(edges);
  }

  clone(): SwarmState {
    const s = new SwarmState(this.peers, this.pieces, this.connections, this.edges);
    s.copyFrom(this);
    return s;
  }

  copyFrom(o: SwarmState): void {
    this.position = o.position;
    this.alive.set(o.alive);
    this.completed.set(o.completed);
    this.haves.set(o.haves);
    this.progress.set(o.progress);
    this.availability.set(o.availability);
    this.hashfails.set(o.hashfails);
    this.bannedBy.set(o.bannedBy);
    this.connPhase.set(o.connPhase);
    this.connFlags.set(o.connFlags);
    this.connNode.set(o.connNode);
    this.edgeCounts.set(o.edgeCounts);
  }

  /** Applies events [position, to). */
  advance(table: TraceTable, edgeOf: Int16Array, to: number): void {
    for (let i = this.position; i < to; i++) this.apply(table, edgeOf, i);
    this.position = Math.max(this.position, to);
  }

  private apply(table: TraceTable, edgeOf: Int16Array, i: number): void {
    const peer = table.peer[i];
    const c = table.conn[i];
    switch (table.kind[i]) {
      case KIND.step: {
        if (c < 0) return;
        const node = table.node[i];
        this.connNode[c] = node;
        if (edgeOf[i] >= 0) this.edgeCounts[edgeOf[i]]++;
        if (this.connPhase[c] === PHASE.none) this.connPhase[c] = PHASE.starting;
        const id = table.nodeIds[node];
        if (id === 'exit' || id === 'cleanup') this.connPhase[c] = PHASE.closed;
        return;
      }
      case KIND.connect:
        if (c >= 0) this.connPhase[c] = PHASE.open;
        return;
      case KIND.disconnect:
        if (c >= 0) this.connPhase[c] = PHASE.closed;
        return;
      case KIND.state:
        if (c >= 0) this.connFlags[c] = table.arg[i];
        return;
      case KIND.ban:
        if (c >= 0) this.bannedBy[table.connections[c].remote]++;
        return;
      case KIND.join:
        return this.join(peer, table.roles[peer] === 'seed', table.arg[i]);
      case KIND.leave:
        return this.leave(peer);
      case KIND.verified:
        return this.verified(peer, table.arg[i]);
      case KIND.hashfail: {
        const piece = table.arg[i];
        if (piece >= 0 && piece < this.pieces) this.hashfails[piece]++;
        return;
      }
      case KIND.complete:
        this.completed[peer] = 1;
        // Another client traces no `verified`: its `complete` (its files hashed right) is when its pieces are known.
        if (table.clients[peer] !== undefined) this.holdsAll(peer);
        return;
    }
  }

  private join(peer: number, seed: boolean, pieces: number): void {
    if (this.alive[peer]) this.leave(peer);
    const row = peer * this.pieces;
    if (seed) this.haves.fill(1, row, row + this.pieces);
    this.alive[peer] = 1;
    this.progress[peer] = pieces;
    for (let p = 0; p < this.pieces; p++) this.availability[p] += this.haves[row + p];
  }

  /** The peer holds every piece (another client's `complete`). */
  private holdsAll(peer: number): void {
    const row = peer * this.pieces;
    for (let p = 0; p < this.pieces; p++) {
      if (this.haves[row + p]) continue;
      this.haves[row + p] = 1;
      if (this.alive[peer]) this.availability[p]++;
    }
    this.progress[peer] = this.pieces;
  }

  private leave(peer: number): void {
    if (!this.alive[peer]) return;
    const row = peer * this.pieces;
    for (let p = 0; p < this.pieces; p++) this.availability[p] -= this.haves[row + p];
    this.alive[peer] = 0;
  }

  private verified(peer: number, piece: number): void {
    this.progress[peer]++;
    if (piece < 0 || piece >= this.pieces) return;
    const k = peer * this.pieces + piece;
    if (this.haves[k]) return;
    this.haves[k] = 1;
    if (this.alive[peer]) this.availability[piece]++;
  }
}

/** Choke and interest of a connection's flags, by name. */
export function flagsOf(bits: number) {
  return {
    amChoking: (bits & FLAG.amChoking) !== 0,
    amInterested: (bits & FLAG.amInterested) !== 0,
    peerChoking: (bits & FLAG.peerChoking) !== 0,
    peerInterested: (bits & FLAG.peerInterested) !== 0,
  };
}
