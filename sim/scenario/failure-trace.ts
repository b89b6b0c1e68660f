// The run's verdict in its trace: one `failure` event per failed check, written when the run is
// judged (docs/trace-format.md), so a trace read alone says what failed, and the replay page can
// open at the first failure.

import type { TraceSink } from '../../engine/trace.ts';
import type { Failure } from './types.ts';

/** Traces each failure at time `t` (the run's end); `at` is when the check failed, when it names a time. */
export function traceFailures(sink: TraceSink, t: number, failures: readonly Failure[]): void {
  for (const f of failures) {
    sink.emit({
      t,
      peer: f.peer ?? 'sim',
      kind: 'failure',
      check: f.check,
      message: f.message,
      ...(f.t !== undefined ? { at: Math.round(f.t * 1000) / 1000 } : {}),
    });
  }
}
