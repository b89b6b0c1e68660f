// Writes trace lines to a file through a buffer: one write per ~1 MiB, not one per event.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class TraceFile {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
  }

  readonly write = (line: string): void => {
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= 1 << 20) this.flush();
  };

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
  }
}
