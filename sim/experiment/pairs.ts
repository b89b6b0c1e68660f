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
  /** Pair → who unchoked and when, while it is unchoked (`from` kept apart: a label may hold any character). */
  const since = new Map<string, { from: string; start: number }>();
  const add = (map: Map<string, number>, key: string, amount: number) => map.set(key, (map.get(key) ?? 0) + amount);
  const stop = (key: string, t: number) => {
    const open = since.get(key);
    if (open === undefined) return;
    add(unchokedMs, key, t - open.start);
    const leechingUntil = Math.min(t, completedAt.get(open.from) ?? Infinity);
    if (leechingUntil > open.start) add(leechingMs, key, leechingUntil - open.start);
    since.delete(key);
  };
  const onEvent = (e: TraceEvent) => {
    if (e.remote === undefined) {
      if (e.kind === 'complete' && !completedAt.has(e.peer)) completedAt.set(e.peer, e.t);
      // A peer that leaves or pauses closes all its connections at once.
      if (e.kind === 'leave' || e.kind === 'pause') for (const [key, open] of [...since]) if (open.from === e.peer) stop(key, e.t);
      return;
    }
    const key = pairKey(e.peer, e.remote);
    if (e.kind === 'state') {
      if (e.amChoking === false && !since.has(key)) since.set(key, { from: e.peer, start: e.t });
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
