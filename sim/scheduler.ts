// A discrete-event scheduler on virtual time. Events at the same instant run in the order they
// were scheduled (a sequence number breaks every tie), so a run is a pure function of its inputs.

import type { Clock, Millis, TimerHandle } from '../engine/ports.ts';

/** An event in the queue; it is its own cancel handle (no closure per event). */
class ScheduledEvent implements TimerHandle {
  cancelled = false;

  constructor(
    readonly time: Millis,
    readonly seq: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

export class Scheduler implements Clock {
  private heap: ScheduledEvent[] = [];
  private seq = 0;
  private current: Millis = 0;
  /** Events run so far (cancelled ones excluded). */
  executed = 0;

  now(): Millis {
    return this.current;
  }

  setTimer(delay: Millis, fn: () => void): TimerHandle {
    return this.at(this.current + Math.max(0, delay), fn);
  }

  /** Schedules `fn` at absolute virtual time `time` (never in the past). */
  at(time: Millis, fn: () => void): TimerHandle {
    const ev = new ScheduledEvent(Math.max(time, this.current), this.seq++, fn);
    this.push(ev);
    return ev;
  }

  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs events in order until none are left, virtual time would pass `until`, or `stop()` says
   * so (checked after each event). Returns the virtual time reached.
   */
  run(until: Millis = Infinity, stop?: () => boolean): Millis {
    while (this.heap.length > 0) {
      const ev = this.heap[0];
      if (ev.time > until) {
        this.current = until;
        return this.current;
      }
      this.pop();
      if (ev.cancelled) continue;
      this.current = ev.time;
      this.executed++;
      ev.fn();
      if (stop?.()) break;
    }
    return this.current;
  }

  // A binary heap, sifted with a hole (each level moves one element, no swaps): the run loop
  // spends most of its own time here.
  private push(ev: ScheduledEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (!before(ev, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && before(h[r], h[l]) ? r : l;
      if (!before(h[m], last)) break;
      h[i] = h[m];
      i = m;
    }
    h[i] = last;
  }
}

/** Earlier time first; at the same time, the one scheduled first. */
function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
