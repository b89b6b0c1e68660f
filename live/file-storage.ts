// The engine's Storage port over the torrent's files on disk.
//
// The torrent's bytes are one contiguous space (the files concatenated); a read or write is split
// at file boundaries, so pieces may span files. Files are created (with their folders) on first
// write and never grown past their length. Every path is built from sanitised components and
// checked to lie inside the target folder, whatever the torrent says. Sync fs calls: the engine's
// Storage port is synchronous, and on a local disk they are fast.

import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, writeSync, constants } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Storage } from '../engine/ports.ts';

export interface StorageLayout {
  name: string;
  length: number;
  multiFile: boolean;
  files: readonly { path: readonly string[]; length: number; offset: number }[];
}

interface FileSlot {
  /** Absolute path on disk. */
  path: string;
  /** Path inside the torrent, for reports. */
  display: string;
  offset: number;
  length: number;
  fd?: number;
  /** Opened read-only because it did not exist yet: reads give zeros. */
  missing?: boolean;
}

export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}

/** One path component made safe: no separators, no NUL, never `.` or `..`, never empty. */
export function safeComponent(c: string): string {
  let s = c.replace(/[\u0000-\u001f/\\]/g, '_');
  if (process.platform === 'win32') s = s.replace(/[<>:"|?*]/g, '_');
  if (s === '' || s === '.' || s === '..') s = s.replace(/\./g, '_') || '_';
  return s;
}

export class FileStorage implements Storage {
  private readonly slots: FileSlot[];
  readonly root: string;
  readonly length: number;

  constructor(dir: string, layout: StorageLayout) {
    this.root = resolve(dir);
    this.length = layout.length;
    const base = layout.multiFile ? [safeComponent(layout.name)] : [];
    this.slots = layout.files.map((f) => {
      const parts = [...base, ...(layout.multiFile ? f.path : [layout.name]).map(safeComponent)];
      const path = resolve(join(this.root, ...parts));
      if (!path.startsWith(this.root + sep)) throw new StorageError(`path ${parts.join('/')} leaves ${this.root}`);
      return { path, display: parts.join('/'), offset: f.offset, length: f.length };
    });
  }

  /** The files, with their paths on disk. */
  files(): readonly { path: string; display: string; offset: number; length: number }[] {
    return this.slots.map(({ path, display, offset, length }) => ({ path, display, offset, length }));
  }

  /** True when at least one of the torrent's files exists on disk (a rerun, or a seed). */
  anyOnDisk(): boolean {
    return this.slots.some((s) => exists(s.path));
  }

  /** What is on disk for each file: missing, or its size (which may be wrong). */
  survey(): { display: string; length: number; size: number | undefined }[] {
    return this.slots.map((s) => {
      let size: number | undefined;
      try {
        size = statSync(s.path).size;
      } catch {
        size = undefined;
      }
      return { display: s.display, length: s.length, size };
    });
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length);
    this.each(offset, length, (slot, fileOffset, at, n) => {
      const fd = this.open(slot, false);
      if (fd === undefined) return; // not created yet: zeros
      let done = 0;
      while (done < n) {
        const got = readSync(fd, out, at + done, n - done, fileOffset + done);
        if (got === 0) break; // shorter than expected: the rest reads as zeros
        done += got;
      }
    });
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    this.check(offset, bytes.length);
    this.each(offset, bytes.length, (slot, fileOffset, at, n) => {
      const fd = this.open(slot, true)!;
      let done = 0;
      while (done < n) done += writeSync(fd, bytes, at + done, n - done, fileOffset + done);
    });
  }

  flush(): void {
    for (const s of this.slots) if (s.fd !== undefined && !s.missing) fsyncSync(s.fd);
  }

  /**
   * Creates every file that is still missing (0-byte files get no write) and trims any that is
   * longer than the torrent says. Called once the download is complete.
   */
  finish(): void {
    for (const s of this.slots) {
      const fd = this.open(s, true)!;
      if (fstatSync(fd).size > s.length) ftruncateSync(fd, s.length);
    }
    this.flush();
  }

  close(): void {
    for (const s of this.slots) {
      if (s.fd !== undefined) {
        try {
          closeSync(s.fd);
        } catch {
          // already gone
        }
      }
      s.fd = undefined;
      s.missing = undefined;
    }
  }

  private check(offset: number, length: number): void {
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.length)) {
      throw new StorageError(`range ${offset}+${length} is outside 0..${this.length}`);
    }
  }

  /** Calls `fn` for each file the range touches: the file's offset and the range's, and the count. */
  private each(offset: number, length: number, fn: (slot: FileSlot, fileOffset: number, at: number, n: number) => void): void {
    if (length === 0) return;
    // Binary search for the first file that ends after `offset`.
    let lo = 0;
    let hi = this.slots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = this.slots[mid];
      if (s.offset + s.length <= offset) lo = mid + 1;
      else hi = mid;
    }
    let at = 0;
    for (let i = lo; i < this.slots.length && at < length; i++) {
      const s = this.slots[i];
      if (s.length === 0) continue;
      const start = offset + at - s.offset;
      if (start < 0 || start >= s.length) continue;
      const n = Math.min(s.length - start, length - at);
      fn(s, start, at, n);
      at += n;
    }
  }

  private open(slot: FileSlot, forWrite: boolean): number | undefined {
    if (slot.fd !== undefined && !(forWrite && slot.missing)) return slot.fd;
    if (!forWrite) {
      if (slot.missing) return undefined;
      try {
        slot.fd = openSync(slot.path, constants.O_RDWR);
        return slot.fd;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          slot.missing = true;
          return undefined;
        }
        // Read-only data (a seed from a read-only folder).
        slot.fd = openSync(slot.path, constants.O_RDONLY);
        return slot.fd;
      }
    }
    mkdirSync(resolve(slot.path, '..'), { recursive: true });
    slot.fd = openSync(slot.path, constants.O_RDWR | constants.O_CREAT, 0o644);
    slot.missing = undefined;
    return slot.fd;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
