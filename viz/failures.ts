// The run's failed checks, from its trace, each with where the replay should go to show it: the
// moment it failed, its peer and, when the trace names one, its connection. A simulator run traces
// its verdict as `failure` events at the end (sim/scenario/failure-trace.ts); a trace without them
// (a live one, or an older one) has only its `violation` events of the safety checks, which then
// stand for the failures. Pure TS: the page and the tests share it.

import { countBelow, eventsOf } from './event-lists.ts';
import type { ReplayModel } from './model.ts';
import { eventObject, KIND } from './trace-table.ts';

export interface FailureEntry {
  check: string;
  message: string;
  /** Label index of the peer it names, -1 when it names none (a check of the whole swarm). */
  peer: number;
  /** When the check failed (ms); undefined when the check names no time (a count over the run). */
  at?: number;
  /** The event that shows it: its `violation` event when there is one, else its `failure` event. */
  event: number;
  /** Where the replay goes: just after `event`, or, for a failure without one, every event at or before `at`. */
  position: number;
  /** The time to show there: `event`'s, or `at`. */
  time: number;
  /** The connection to select, -1 when the trace names none. */
  conn: number;
}

/** Every failed check of the run, in the order the run listed them. */
export function findFailures(m: ReplayModel): FailureEntry[] {
  const t = m.table;
  const failures: number[] = [];
  const violations: number[] = [];
  for (let i = 0; i < t.count; i++) {
    if (t.kind[i] === KIND.failure) failures.push(i);
    else if (t.kind[i] === KIND.violation) violations.push(i);
  }
  if (failures.length === 0) {
    // No verdict traced: the safety violations are the failures (wire-rule findings are not, unless a check asked).
    return violations
      .map((i) => ({ i, e: eventObject(t, i) }))
      .filter(({ e }) => !String(e.check ?? '').startsWith('wire:'))
      .map(({ i, e }) => entry(m, i, String(e.check ?? ''), String(e.detail ?? ''), t.time[i], i));
  }
  const used = new Set<number>();
  return failures.map((i) => {
    const e = eventObject(t, i);
    const check = String(e.check ?? '');
    const at = typeof e.at === 'number' ? e.at : undefined;
    const shown = at === undefined ? undefined : violations.find((v) => !used.has(v) && t.peer[v] === t.peer[i] && Math.abs(t.time[v] - at) < 0.0015 && eventObject(t, v).check === check);
    if (shown !== undefined) used.add(shown);
    return entry(m, i, check, String(e.message ?? ''), at, shown);
  });
}

/** The failure that happened first (the earliest replay position; the first listed among equals). */
export function firstFailure(entries: readonly FailureEntry[]): FailureEntry | undefined {
  let first: FailureEntry | undefined;
  for (const f of entries) if (!first || f.position < first.position) first = f;
  return first;
}

function entry(m: ReplayModel, failureEvent: number, check: string, message: string, at: number | undefined, shown: number | undefined): FailureEntry {
  const t = m.table;
  const peer = m.peers.includes(t.peer[failureEvent]) ? t.peer[failureEvent] : -1;
  const event = shown ?? failureEvent;
  const position = shown !== undefined ? shown + 1 : at !== undefined ? m.positionAt(at) : failureEvent + 1;
  const time = shown === undefined && at !== undefined ? at : t.time[event];
  return { check, message, peer, ...(at !== undefined ? { at } : {}), event, position, time, conn: peer < 0 ? -1 : connectionOf(m, event, peer, position) };
}

/**
 * The connection a failure belongs to: its event's own (a violation naming the remote), or, for a
 * violation naming a piece, the connection that stored the piece's last block before it.
 */
function connectionOf(m: ReplayModel, event: number, peer: number, position: number): number {
  const t = m.table;
  if (t.conn[event] >= 0) return t.conn[event];
  if (t.kind[event] !== KIND.violation) return -1;
  const piece = eventObject(t, event).piece;
  if (typeof piece !== 'number') return -1;
  const pieceStore = t.nodeIds.indexOf('pieceStore');
  const events = eventsOf(m.byPeer, peer);
  for (let k = countBelow(events, position) - 1; k >= 0; k--) {
    const i = events[k];
    if (t.kind[i] === KIND.step && t.node[i] === pieceStore && t.arg[i] === piece && t.storedBytes[i] > 0) return t.conn[i];
  }
  return -1;
}
