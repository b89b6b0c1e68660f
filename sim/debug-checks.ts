// The simulator's debug invariant check: after an event, the hand-kept counters of every client
// that event touched are recomputed from scratch and compared (engine/counters.ts). On in tests
// (the vitest setup file test/setup.ts turns the default on), off in the CLI and the bench.
//
// "Touched" means the client emitted a trace event during the event: every change to a counter
// happens in a step of a Peer process, and steps are traced. A counter that drifts is caught at
// the touching event, or at the client's next one (the recount is from scratch). When steps are not
// traced (`traceLevel: 'peers'`) every running client is checked after every event instead.

import { checkClientCounters, type CountedClient } from '../engine/counters.ts';

/** The default of `SwarmOptions.checkCounters` (and of the puppet bench's check). */
export const debugChecks = { counters: false };

export class CounterCheck<Owner> {
  private readonly touched = new Set<Owner>();

  constructor(
    /** The owner's client while it runs (undefined when it is down or has none). */
    private readonly clientOf: (owner: Owner) => CountedClient | undefined,
    /** Every owner, checked after each event when touches are not seen (no step trace). */
    private readonly everyone?: () => Iterable<Owner>,
  ) {}

  /** The owner's client did something in this event. */
  touch(owner: Owner): void {
    this.touched.add(owner);
  }

  /** After an event (Scheduler.afterEach). */
  readonly afterEvent = (): void => {
    for (const owner of this.everyone ? this.everyone() : this.touched) {
      const client = this.clientOf(owner);
      if (client) checkClientCounters(client);
    }
    this.touched.clear();
  };
}
