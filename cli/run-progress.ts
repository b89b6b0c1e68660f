// The progress line of a long simulated run, on a terminal only (stderr, so stdout stays the
// summary or the JSON): virtual time, leechers complete, events per second of wall time.

import type { Swarm } from '../sim/swarm.ts';

/** Wall time before the first line: a short run shows none. */
const QUIET_MS = 1_000;

export class RunProgress {
  private readonly started = performance.now();
  private shown = false;

  constructor(private readonly tty = process.stderr.isTTY === true) {}

  readonly update = (swarm: Swarm): void => {
    const wallMs = performance.now() - this.started;
    if (!this.tty || wallMs < QUIET_MS) return;
    const leechers = swarm.peers.filter((p) => p.role === 'leecher');
    const complete = leechers.filter((p) => p.completedAt !== undefined).length;
    const rate = swarm.scheduler.executed / (wallMs / 1000);
    const line = `  virtual ${(swarm.scheduler.now() / 1000).toFixed(1)} s · ${complete}/${leechers.length} leechers complete · ${Math.round(rate).toLocaleString('en')} events/s (Ctrl-C stops)`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stderr.columns || 100) - 1))}`);
    this.shown = true;
  };

  /** Clears the line before the summary. */
  end(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
  }
}
