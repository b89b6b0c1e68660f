// Writes trace text to a file as it comes (the trace writer already hands it on in large chunks).

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class TraceFile {
  private readonly fd: number;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
  }

  readonly write = (text: string): void => {
    writeSync(this.fd, text);
  };

  close(): void {
    closeSync(this.fd);
  }
}
