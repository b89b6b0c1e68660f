// Writes trace text to a file as it comes (the trace writer already hands it on in large chunks).
// A path ending in `.gz` gets one gzip member, written as the run goes: each chunk is deflated on
// its own and ended with a sync flush (byte-aligned, not final), so the chunks join into one
// deflate stream that close() ends with an empty final block and the gzip trailer (RFC 1952).
// The trace hash stays that of the text, whichever the file.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** The gzip header: magic, deflate, no flags, no mtime (the same run, the same bytes), unknown OS. */
const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);

export const isGzipPath = (path: string): boolean => path.toLowerCase().endsWith('.gz');

export class TraceFile {
  private readonly fd: number;
  private readonly gzip: boolean;
  private crc = 0;
  private length = 0;
  private closed = false;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
    this.gzip = isGzipPath(path);
    if (this.gzip) writeSync(this.fd, GZIP_HEADER);
  }

  readonly write = (text: string): void => {
    if (!this.gzip) {
      writeSync(this.fd, text);
      return;
    }
    const bytes = Buffer.from(text);
    this.crc = crc32(bytes, this.crc);
    this.length = (this.length + bytes.length) >>> 0;
    writeSync(this.fd, deflateRawSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }));
  };

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.gzip) {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.length, 4);
      writeSync(this.fd, Buffer.concat([deflateRawSync(Buffer.alloc(0)), trailer]));
    }
    closeSync(this.fd);
  }
}
