// The wire checker on the in-memory network: a ConnectionChecker (sim/wire-checker.ts) for every
// connection of the swarm — honest peers, free riders and adversaries alike — fed by the network's
// write tap (what each end sends) and delivery tap (how much of the other end's stream its reader
// has been handed). Each violation is logged (a capped list, every one counted) and traced as a
// `violation` event with check `wire:<rule>`.

import type { SimEndpoint } from './network.ts';
import type { Swarm } from './swarm.ts';
import { ConnectionChecker, type Side, type WireCheckerOptions, type WireViolation, WireViolationLog } from './wire-checker.ts';

export class SwarmWireChecks {
  readonly log = new WireViolationLog();
  private readonly ends = new WeakMap<SimEndpoint, { checker: ConnectionChecker; side: Side }>();
  private readonly options: WireCheckerOptions;
  private readonly detach: (() => void)[] = [];

  constructor(private readonly swarm: Swarm) {
    const t = swarm.torrent;
    this.options = {
      torrent: { pieceCount: t.pieceCount, pieceLength: t.pieceLength, length: t.length, infoHash: t.infoHash },
      payload: swarm.payload,
      // Virtual time: a peer reads what it is handed at once.
      chokeGrace: 0,
      counted: (peer, rule) => {
        if (rule === 'bad-data' && this.excused(peer)) return;
        this.log.counted(peer, rule);
      },
    };
    this.detach.push(
      swarm.network.tapWrites((from, chunks) => {
        const end = this.endOf(from);
        const now = swarm.scheduler.now();
        if (chunks instanceof Uint8Array) end.checker.sent(end.side, chunks, now);
        else for (const c of chunks) end.checker.sent(end.side, c, now);
      }),
      swarm.network.tapDeliveries((to, total) => {
        const end = this.endOf(to);
        end.checker.delivered(end.side, total, swarm.scheduler.now());
      }),
    );
  }

  /** Stops watching (the checkers already made are dropped with their connections). */
  stop(): void {
    for (const d of this.detach.splice(0)) d();
  }

  private endOf(e: SimEndpoint): { checker: ConnectionChecker; side: Side } {
    let end = this.ends.get(e);
    if (end) return end;
    const other = e.peer && this.ends.get(e.peer);
    if (other) end = { checker: other.checker, side: other.side === 'a' ? 'b' : 'a' };
    else end = { checker: new ConnectionChecker(this.options, e.host.label, e.remote.host, (v) => this.report(v)), side: 'a' };
    this.ends.set(e, end);
    return end;
  }

  private report(v: WireViolation): void {
    if (v.rule === 'bad-data' && this.excused(v.peer)) return;
    this.log.add(v);
    this.swarm.traceSink.emit({ t: v.t, peer: v.peer, remote: v.remote, kind: 'violation', check: `wire:${v.rule}`, detail: v.message, bytes: v.bytes });
  }

  /** A peer whose storage has a corrupt-read fault on it serves what the fault spoiled: not its doing. */
  private excused(label: string): boolean {
    return this.swarm.peers.find((p) => p.label === label)?.storageFaults.corruptingReads === true;
  }
}
