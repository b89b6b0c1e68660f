// The real clock: milliseconds since the clock was made, and timers on Node's event loop.

import type { Clock, Millis, TimerHandle } from '../engine/ports.ts';

export class RealClock implements Clock {
  private readonly origin = performance.now();

  now(): Millis {
    return performance.now() - this.origin;
  }

  setTimer(delay: Millis, fn: () => void): TimerHandle {
    const timer = setTimeout(fn, Math.max(0, delay));
    // A pending engine timer alone must not keep the process alive after everything else is done.
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }
}
