// `expect.firstCopy`: when do the peers outside one group first hold a full copy of the payload
// between them, and how much had that group uploaded by then? BEP 16's measure of a super-seed
// ("a seed might have to upload 150% to 200% of the total size … before other clients became
// seeds"). Watches the trace's `verified` events; chained after the invariant checker's observer.

import type { TraceEvent, TraceSink } from '../../engine/trace.ts';

/** A peer as the watch sees it, on either transport. */
export interface CopyPeer {
  readonly label: string;
  readonly group: { readonly prefix: string };
  readonly client?: { readonly uploaded: number };
}

export interface CopyTarget {
  readonly peers: readonly CopyPeer[];
  readonly torrent: { readonly pieceCount: number };
  observer: TraceSink | undefined;
}

export class FirstCopyWatch {
  /** Pieces some peer outside the group has verified. */
  private readonly held: Uint8Array;
  private count = 0;
  /** Peers by label, rebuilt when a label is new (churn adds peers). */
  private byLabel = new Map<string, CopyPeer>();
  /** When the others first held every piece, and what the group had uploaded then. */
  reached: { t: number; uploaded: number } | undefined;

  constructor(
    private readonly swarm: CopyTarget,
    readonly group: string,
  ) {
    this.held = new Uint8Array(swarm.torrent.pieceCount);
    const before = swarm.observer;
    swarm.observer = {
      emit: (e) => {
        before?.emit(e);
        this.onEvent(e);
      },
    };
  }

  /** What the group has uploaded so far (its engines' counters). */
  uploaded(): number {
    let sum = 0;
    for (const p of this.swarm.peers) if (p.group.prefix === this.group) sum += p.client?.uploaded ?? 0;
    return sum;
  }

  private onEvent(e: TraceEvent): void {
    if (this.reached || e.kind !== 'verified' || typeof e.piece !== 'number') return;
    if (!this.byLabel.has(e.peer)) this.byLabel = new Map(this.swarm.peers.map((p) => [p.label, p]));
    const peer = this.byLabel.get(e.peer);
    if (!peer || peer.group.prefix === this.group || this.held[e.piece]) return;
    this.held[e.piece] = 1;
    if (++this.count === this.held.length) this.reached = { t: e.t, uploaded: this.uploaded() };
  }
}
