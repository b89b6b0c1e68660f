// The wire checks of a run (either transport), and their feed on the in-memory network: a ConnectionChecker (sim/wire-checker.ts) for every
// connection of the swarm — honest peers, free riders and adversaries alike — fed by the network's
// write tap (what each end sends) and delivery tap (how much of the other end's stream its reader
// has been handed). Each violation is logged (a capped list, every one counted) and traced as a
// `violation` event with check `wire:<rule>`.

import type { SimEndpoint } from './network.ts';
import type { Swarm } from './swarm.ts';
import type { Torrent } from '../engine/metainfo.ts';
import type { TraceSink } from '../engine/trace.ts';
import { ConnectionChecker, type Side, type WireCheckerOptions, type WireViolation, WireViolationLog } from './wire-checker.ts';

/** What the checks need of a swarm, on either transport. */
export interface WireCheckTarget {
  readonly torrent: Torrent;
  readonly payload: Uint8Array;
  readonly traceSink: TraceSink;
  readonly peers: readonly { readonly label: string; readonly storageFaults?: { readonly corruptingReads: boolean } }[];
}

/**
 * One run's wire checks, whatever carries the bytes: a ConnectionChecker per connection, every
 * violation logged and traced. The in-memory network feeds it below; the TCP relay's tap feeds it
 * in sim/tcp/wire-checks.ts.
 */
export class WireChecks {
  readonly log = new WireViolationLog();
  private readonly options: WireCheckerOptions;

  /**
   * `chokeGrace`: 0 on virtual time (a peer reads what it is handed at once); more on TCP.
   * `decoded`: told of every message a peer sent (a TCP run traces other clients' messages).
   */
  constructor(
    private readonly target: WireCheckTarget,
    chokeGrace: number,
    decoded?: WireCheckerOptions['decoded'],
  ) {
    const t = target.torrent;
    this.options = {
      torrent: { pieceCount: t.pieceCount, pieceLength: t.pieceLength, length: t.length, infoHash: t.infoHash },
      payload: target.payload,
      chokeGrace,
      ...(decoded ? { decoded } : {}),
      counted: (peer, rule) => {
        if (rule === 'bad-data' && this.excused(peer)) return;
        this.log.counted(peer, rule);
      },
    };
  }

  /** A checker for a new connection between `a` (its side 'a') and `b`. */
  checker(a: string, b: string): ConnectionChecker {
    return new ConnectionChecker(this.options, a, b, (v) => this.report(v));
  }

  private report(v: WireViolation): void {
    if (v.rule === 'bad-data' && this.excused(v.peer)) return;
    this.log.add(v);
    this.target.traceSink.emit({ t: v.t, peer: v.peer, remote: v.remote, kind: 'violation', check: `wire:${v.rule}`, detail: v.message, bytes: v.bytes });
  }

  /** A peer whose storage has a corrupt-read fault on it serves what the fault spoiled: not its doing. */
  private excused(label: string): boolean {
    return this.target.peers.find((p) => p.label === label)?.storageFaults?.corruptingReads === true;
  }
}

/** The wire checks of an in-memory swarm, fed by the network's write and delivery taps. */
export class SwarmWireChecks extends WireChecks {
  private readonly ends = new WeakMap<SimEndpoint, { checker: ConnectionChecker; side: Side }>();
  private readonly detach: (() => void)[] = [];

  constructor(swarm: Swarm) {
    super(swarm, 0);
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
    else end = { checker: this.checker(e.host.label, e.remote.host), side: 'a' };
    this.ends.set(e, end);
    return end;
  }
}
