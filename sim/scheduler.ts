// A discrete-event scheduler on virtual time. Events at the same instant run in the order they
// were scheduled (a sequence number breaks every tie), so a run is a pure function of its inputs.
// A guard stops a run whose clock has stopped moving (a timer that reschedules itself at delay 0,
// two parts that wake each other at once): past MAX_EVENTS_AT_ONE_INSTANT events at one instant
// it throws ClockStoppedError naming the timer that spins. Events may carry their owner (a peer's
// label, through `clockFor`); the guard costs one comparison per event until it trips.

import type { Clock, Millis, TimerHandle } from '../engine/ports.ts';

/**
 * Events at one instant before the guard stops the run: the whole default swarm (21 peers) is
 * about 70,000 events, a 10,000-peer swarm joining at once a few hundred thousand; a million
 * at one instant is a loop, found within about a second of wall time.
 */
export const MAX_EVENTS_AT_ONE_INSTANT = 1_000_000;

/** Once tripped, this many more events are run and tallied to name the one that spins. */
const EVENTS_TALLIED = 1_000;

/** The virtual clock stopped: too many events at one instant. Names the timer that spins. */
export class ClockStoppedError extends Error {
  constructor(
    readonly time: Millis,
    readonly events: number,
    /** The timer seen most among the events at this instant: owner and function. */
    readonly spinning: string,
  ) {
    super(`the virtual clock stopped at t = ${time} ms: more than ${events} events at one instant (limit MAX_EVENTS_AT_ONE_INSTANT); the timer that spins: ${spinning}`);
    this.name = 'ClockStoppedError';
  }
}

/** An event in the queue; it is its own cancel handle (no closure per event). */
class ScheduledEvent implements TimerHandle {
  cancelled = false;

  constructor(
    readonly time: Millis,
    readonly seq: number,
    readonly fn: () => void,
    /** Who scheduled it (a peer's label), for the guard's message. */
    readonly owner: string | undefined,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

export class Scheduler implements Clock {
  /**
   * The queue: a 4-ary min-heap of events, with each one's time and sequence number copied into
   * typed arrays beside it. Ordering reads only those (contiguous, four children to a cache line
   * or two), never the event objects; with ~100,000 pending events (a 1,000-peer swarm), chasing
   * each level's event objects through the heap was the cost.
   */
  private events: ScheduledEvent[] = [];
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private size = 0;
  private seq = 0;
  private current: Millis = 0;
  /** Events run at the current instant so far. */
  private atThisInstant = 0;
  /** Events run so far (cancelled ones excluded). */
  executed = 0;
  /** Runs after every event when set: the debug invariant check (sim/debug-checks.ts). */
  afterEach: (() => void) | undefined;

  constructor(private readonly maxEventsAtOneInstant = MAX_EVENTS_AT_ONE_INSTANT) {}

  now(): Millis {
    return this.current;
  }

  setTimer(delay: Millis, fn: () => void, owner?: string): TimerHandle {
    return this.at(this.current + Math.max(0, delay), fn, owner);
  }

  /** Schedules `fn` at absolute virtual time `time` (never in the past). */
  at(time: Millis, fn: () => void, owner?: string): TimerHandle {
    const ev = new ScheduledEvent(Math.max(time, this.current), this.seq++, fn, owner);
    this.push(ev);
    return ev;
  }

  /** This scheduler as one owner's Clock: its timers are named after `owner` if the clock stops. */
  clockFor(owner: string): Clock {
    return { now: () => this.current, setTimer: (delay, fn) => this.setTimer(delay, fn, owner) };
  }

  get pending(): number {
    return this.size;
  }

  /**
   * Runs events in order until none are left, virtual time would pass `until`, or `stop()` says
   * so (checked after each event). Returns the virtual time reached.
   */
  run(until: Millis = Infinity, stop?: () => boolean): Millis {
    while (this.size > 0) {
      const ev = this.events[0];
      if (ev.time > until) {
        this.current = until;
        return this.current;
      }
      this.pop();
      if (ev.cancelled) continue;
      if (ev.time !== this.current) {
        this.current = ev.time;
        this.atThisInstant = 0;
      } else if (++this.atThisInstant > this.maxEventsAtOneInstant) this.clockStopped(ev);
      this.executed++;
      ev.fn();
      this.afterEach?.();
      if (stop?.()) break;
    }
    return this.current;
  }

  /** Runs a few more events of this instant, tallying who scheduled them, and throws. */
  private clockStopped(first: ScheduledEvent): never {
    const tally = new Map<string, number>();
    let ev: ScheduledEvent | undefined = first;
    for (let n = 0; ev && n < EVENTS_TALLIED; n++) {
      const name = describeTimer(ev);
      tally.set(name, (tally.get(name) ?? 0) + 1);
      this.executed++;
      ev.fn();
      ev = this.nextAtThisInstant();
    }
    // The most frequent; ties to the one seen first (Map order): deterministic.
    let spinning = describeTimer(first);
    let most = 0;
    for (const [name, count] of tally) if (count > most) [spinning, most] = [name, count];
    throw new ClockStoppedError(this.current, this.maxEventsAtOneInstant, `${spinning} (${most} of the last ${[...tally.values()].reduce((a, b) => a + b, 0)} events)`);
  }

  private nextAtThisInstant(): ScheduledEvent | undefined {
    while (this.size > 0 && this.events[0].time === this.current) {
      const ev = this.events[0];
      this.pop();
      if (!ev.cancelled) return ev;
    }
    return undefined;
  }

  // Sifted with a hole: each level moves one element, no swaps.
  private push(ev: ScheduledEvent): void {
    if (this.size === this.times.length) this.grow();
    const { events, times, seqs } = this;
    const t = ev.time;
    const q = ev.seq;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const pt = times[parent];
      if (pt < t || (pt === t && seqs[parent] < q)) break;
      events[i] = events[parent];
      times[i] = pt;
      seqs[i] = seqs[parent];
      i = parent;
    }
    events[i] = ev;
    times[i] = t;
    seqs[i] = q;
  }

  /** Removes the first event (the caller has read it from `events[0]`). */
  private pop(): void {
    const { events, times, seqs } = this;
    const n = --this.size;
    const last = events[n];
    const t = times[n];
    const q = seqs[n];
    events[n] = undefined as unknown as ScheduledEvent; // let it go
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      // The earliest of up to four children.
      let m = first;
      let mt = times[first];
      let mq = seqs[first];
      const end = Math.min(first + 4, n);
      for (let c = first + 1; c < end; c++) {
        const ct = times[c];
        if (ct < mt || (ct === mt && seqs[c] < mq)) {
          m = c;
          mt = ct;
          mq = seqs[c];
        }
      }
      if (t < mt || (t === mt && q < mq)) break;
      events[i] = events[m];
      times[i] = mt;
      seqs[i] = mq;
      i = m;
    }
    events[i] = last;
    times[i] = t;
    seqs[i] = q;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
  }
}

/** `L3: tick` — the owner, and the function's name or else the start of its source. */
function describeTimer(ev: ScheduledEvent): string {
  const source = ev.fn.name || ev.fn.toString().replace(/\s+/g, ' ').slice(0, 100);
  return `${ev.owner ?? 'sim'}: ${source}`;
}
