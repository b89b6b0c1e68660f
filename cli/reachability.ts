// Which peers a live download tried and why each failed, read from the engine's trace events
// (`connect`, `disconnect` with its `reason`), so that `swarmlab download` can say when no peer
// is reachable instead of waiting in silence.

import type { TraceEvent, TraceSink } from '../engine/trace.ts';

/** Peers named in one line at most; the rest are counted. */
const NAMED = 6;

export class Reachability {
  /** Remote → why its last connection ended (or its dial failed). */
  private readonly failed = new Map<string, string>();
  private readonly connected = new Set<string>();
  private said = '';

  /** `inner`, with every event seen here first. */
  tee(inner: TraceSink): TraceSink {
    return {
      steps: inner.steps,
      emit: (e: TraceEvent) => {
        this.observe(e);
        inner.emit(e);
      },
    };
  }

  private observe(e: TraceEvent): void {
    if (!e.remote) return;
    if (e.kind === 'connect') {
      this.connected.add(e.remote);
      this.failed.delete(e.remote);
    } else if (e.kind === 'disconnect') {
      this.connected.delete(e.remote);
      this.failed.set(e.remote, String(e.reason ?? 'closed'));
    }
  }

  /** With no peer connected and some tried: `no peer reachable: tried A (why), …`; once per new state. */
  report(): string | undefined {
    if (this.connected.size > 0 || this.failed.size === 0) return undefined;
    const tried = [...this.failed].map(([remote, why]) => `${remote} (${why})`);
    const more = tried.length > NAMED ? `, and ${tried.length - NAMED} more` : '';
    const line = `no peer reachable: tried ${tried.slice(0, NAMED).join(', ')}${more}`;
    if (line === this.said) return undefined;
    this.said = line;
    return line;
  }
}
