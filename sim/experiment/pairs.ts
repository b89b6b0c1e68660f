// Who gives to whom: per ordered pair of peers, how long one kept the other unchoked, in all and
// while the unchoking peer was still a leecher (trading, not seeding), read off the trace events
// as they are emitted (the `state` events' `amChoking`, `complete`). Exact to the event, not to a
// sampling step: libtorrent's optimistic-unchoke fairness is a claim about seconds in 30 minutes.
// Needs the step-level trace (the default); it touches no peer, so the run and its hash are as
// without it.

import type { TraceEvent, TraceSink } from '../../engine/trace.ts';
import type { Swarm } from '../swarm.ts';

/** `from` → `to`: `from` unchoked `to`. */
export const pairKey = (from: string, to: string) => `${from}→${to}`;

export interface PairLog {
  /** ms each pair spent with `from` not choking `to` (a connection's unchoked time, added over connections). */
  unchokedMs: Map<string, number>;
  /** The part of `unchokedMs` before `from` completed: the unchokes of tit-for-tat, not of seeding. */
  leechingMs: Map<string, number>;
  /** Closes what is still open at `now` (the end of the run); the log is final after it. */
  close(now: number): void;
}

/** Starts logging `swarm`'s pairs; chains after any observer already there (the invariant checker). */
export function observePairs(swarm: Swarm): PairLog {
  const unchokedMs = new Map<string, number>();
  const leechingMs = new Map<string, number>();
  /** Peer → when it completed. */
  const completedAt = new Map<string, number>();
  /** Pair → when `from` unchoked `to`, while it is unchoked. */
  const since = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, amount: number) => map.set(key, (map.get(key) ?? 0) + amount);
  const stop = (key: string, t: number) => {
    const start = since.get(key);
    if (start === undefined) return;
    add(unchokedMs, key, t - start);
    const leechingUntil = Math.min(t, completedAt.get(key.slice(0, key.indexOf('→'))) ?? Infinity);
    if (leechingUntil > start) add(leechingMs, key, leechingUntil - start);
    since.delete(key);
  };
  const onEvent = (e: TraceEvent) => {
    if (e.remote === undefined) {
      if (e.kind === 'complete' && !completedAt.has(e.peer)) completedAt.set(e.peer, e.t);
      // A peer that leaves or pauses closes all its connections at once.
      if (e.kind === 'leave' || e.kind === 'pause') for (const key of [...since.keys()]) if (key.startsWith(`${e.peer}→`)) stop(key, e.t);
      return;
    }
    const key = pairKey(e.peer, e.remote);
    if (e.kind === 'state') {
      if (e.amChoking === false && !since.has(key)) since.set(key, e.t);
      else if (e.amChoking === true) stop(key, e.t);
    } else if (e.kind === 'disconnect') stop(key, e.t);
  };
  const before: TraceSink | undefined = swarm.observer;
  swarm.observer = {
    emit(e) {
      before?.emit(e);
      onEvent(e);
    },
  };
  return {
    unchokedMs,
    leechingMs,
    close(now) {
      for (const key of [...since.keys()]) stop(key, now);
    },
  };
}
