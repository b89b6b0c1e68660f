// Writes the trace as JSON Lines and keeps the SHA-256 of every byte written, so two runs can be
// compared by one hash. Where the text goes (a file, memory, nowhere) is the caller's choice.
//
// Lines are gathered and handed on (and hashed) in chunks of about 256 KiB: a swarm emits millions
// of events, and one hash update or write per line would cost more than the simulation.

import { createHash, type Hash } from 'node:crypto';
import { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader, type TraceSink } from './trace.ts';

const CHUNK_CHARS = 256 * 1024;

export class TraceWriter implements TraceSink {
  private readonly hash: Hash = createHash('sha256');
  private pending: string[] = [];
  private pendingChars = 0;
  private digest: string | undefined;
  events = 0;

  /** `out` receives the trace as text: whole lines, several at a time. */
  constructor(
    header: Omit<TraceHeader, 'format' | 'version'>,
    private readonly out?: (text: string) => void,
  ) {
    this.line(JSON.stringify({ format: TRACE_FORMAT, version: TRACE_VERSION, ...header }));
  }

  emit(event: TraceEvent): void {
    // Times to the microsecond: shorter lines, and no float noise in the text.
    event.t = Math.round(event.t * 1000) / 1000;
    this.events++;
    this.line(JSON.stringify(event));
  }

  /** The SHA-256 (hex) of the whole trace; ends the trace. */
  finish(): string {
    if (this.digest === undefined) {
      this.flush();
      this.digest = this.hash.digest('hex');
    }
    return this.digest;
  }

  private line(text: string): void {
    if (this.digest !== undefined) throw new Error('trace: emit after finish');
    this.pending.push(text);
    this.pendingChars += text.length + 1;
    if (this.pendingChars >= CHUNK_CHARS) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    this.pendingChars = 0;
    this.hash.update(text);
    this.out?.(text);
  }
}

/** Collects a trace's lines in memory (tests, the visualizer's report). */
export function memoryTrace(): { lines: string[]; out: (text: string) => void } {
  const lines: string[] = [];
  return {
    lines,
    out: (text) => {
      for (const l of text.split('\n')) if (l !== '') lines.push(l);
    },
  };
}
