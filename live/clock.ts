// The real clock: milliseconds since the clock was made, and timers on Node's event loop. A timer
// callback that throws is reported to `onError` (stderr by default) and the process goes on: an
// engine bug in one timer must not end a download.

import type { Clock, Millis, TimerHandle } from '../engine/ports.ts';
import { type ErrorReporter, reportError } from './io-errors.ts';

export class RealClock implements Clock {
  private readonly origin = performance.now();

  /** Told of every exception a timer callback threw (set by whoever owns the log). */
  onError: ErrorReporter | undefined;

  constructor(onError?: ErrorReporter) {
    this.onError = onError;
  }

  now(): Millis {
    return performance.now() - this.origin;
  }

  setTimer(delay: Millis, fn: () => void): TimerHandle {
    const timer = setTimeout(() => this.run(fn), Math.max(0, delay));
    // A pending engine timer alone must not keep the process alive after everything else is done.
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }

  private run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      reportError(this.onError, 'a timer', err);
    }
  }
}
