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

  private less(a: ScheduledEvent, b: ScheduledEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(ev: ScheduledEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
