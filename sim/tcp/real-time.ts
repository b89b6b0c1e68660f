// Real time for a TCP run: milliseconds since the run started, and timers on Node's event loop
// that the run can cancel all at once when it ends. The fault schedule, joins and leaves are set
// on it at the same offsets the in-memory scheduler would use; the engine's peers take it as
// their Clock, so every trace time is "ms since the run started" on both transports.

import type { Clock, Millis, TimerHandle } from '../../engine/ports.ts';

export class RealTimeScheduler implements Clock {
  private readonly origin = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** The first exception a timer threw: the run ends with it as a crash. */
  error: unknown;
  /** Told when a timer throws (the runner stops the run). */
  onError: ((error: unknown) => void) | undefined;

  now(): Millis {
    return performance.now() - this.origin;
  }

  setTimer(delay: Millis, fn: () => void): TimerHandle {
    if (this.stopped) return { cancel() {} };
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (err) {
        this.error ??= err;
        this.onError?.(err);
      }
    }, Math.max(0, delay));
    this.timers.add(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      },
    };
  }

  /** Runs `fn` at `time` ms since the start (at once if that is past). */
  at(time: Millis, fn: () => void): TimerHandle {
    return this.setTimer(time - this.now(), fn);
  }

  /** Timers still pending (tests check that a finished run leaves none). */
  get pending(): number {
    return this.timers.size;
  }

  /** Cancels every pending timer; later `setTimer`s do nothing. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
