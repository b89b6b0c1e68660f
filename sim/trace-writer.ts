// Writes the trace as JSON Lines and keeps the SHA-256 of every byte written, so two runs can be
// compared by one hash. Where the lines go (a file, memory, nowhere) is the caller's choice.

import { createHash, type Hash } from 'node:crypto';
import { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader, type TraceSink } from '../engine/trace.ts';

export class TraceWriter implements TraceSink {
  private readonly hash: Hash = createHash('sha256');
  events = 0;
  private digest: string | undefined;

  constructor(
    header: Omit<TraceHeader, 'format' | 'version'>,
    private readonly out?: (line: string) => void,
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
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }

  private line(text: string): void {
    if (this.digest) throw new Error('trace: emit after finish');
    const l = text + '\n';
    this.hash.update(l);
    this.out?.(l);
  }
}

/** Collects trace lines in memory (tests, the visualizer's report). */
export function memoryTrace(): { lines: string[]; out: (line: string) => void } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l) };
}
