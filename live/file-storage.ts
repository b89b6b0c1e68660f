// The engine's Storage port over the torrent's files on disk.
//
// The torrent's bytes are one contiguous space (the files concatenated); a read or write is split
// at file boundaries, so pieces may span files. Files are created (with their folders) on first
// write and never grown past their length. Where each file goes is planned once
// (`storage-paths.ts`: sanitised, shortened, no two files on one path); on disk, nothing below the
// output folder is followed through a symbolic link: every folder from the output folder down is
// lstat'ed (and created one level at a time), files are opened with O_NOFOLLOW, so a link planted
// in the folder is a StorageError naming it, never a write elsewhere. The output folder itself may
// be a link (the user chose it). Every fs failure comes out as a StorageError naming the file.
// Sync fs calls: the engine's Storage port is synchronous, and on a local disk they are fast.

import { accessSync, closeSync, fstatSync, fsyncSync, ftruncateSync, lstatSync, mkdirSync, openSync, readSync, statSync, writeSync, constants, type Stats } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Storage } from '../engine/ports.ts';
import { planPaths, StorageError } from './storage-paths.ts';

export { safeComponent, StorageError } from './storage-paths.ts';

export interface StorageLayout {
  name: string;
  length: number;
  multiFile: boolean;
  files: readonly { path: readonly string[]; length: number; offset: number }[];
}

export interface FileStorageOptions {
  /** Told of each name shortened to fit the file system. */
  log?: (line: string) => void;
}

interface FileSlot {
  /** Absolute path on disk. */
  path: string;
  /** Components below the root, sanitised. */
  parts: readonly string[];
  /** Path inside the torrent, for reports. */
  display: string;
  offset: number;
  length: number;
  fd?: number;
  /** Opened read-only because it did not exist yet: reads give zeros. */
  missing?: boolean;
}

/** `err`'s message after `what`: Node's messages name the call and the cause ("ENOSPC: no space left on device, write"). */
function failure(what: string, err: unknown): StorageError {
  return err instanceof StorageError ? err : new StorageError(`${what}: ${(err as Error).message}`);
}

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** lstat, or undefined when nothing is there. */
function entryAt(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw failure(`cannot look at ${path}`, err);
  }
}

/**
 * Makes sure `dir` can be downloaded into: creates it (and its parents) if need be, and checks it
 * is a folder we may write to. For `download -o DIR`, so that a bad DIR is an error at start, not
 * a stall at the first block.
 */
export function prepareOutputFolder(dir: string): void {
  const root = resolve(dir);
  try {
    mkdirSync(root, { recursive: true });
  } catch (err) {
    throw failure(`cannot create the output folder ${dir}`, err);
  }
  if (!statSync(root).isDirectory()) throw new StorageError(`the output folder ${dir} is not a folder`);
  try {
    accessSync(root, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw failure(`cannot write into the output folder ${dir}`, err);
  }
}

export class FileStorage implements Storage {
  private readonly slots: FileSlot[];
  readonly root: string;
  readonly length: number;
  /** Names that were too long for the file system, and what they became. */
  readonly shortened: readonly { from: string; to: string }[];

  constructor(dir: string, layout: StorageLayout, options: FileStorageOptions = {}) {
    this.root = resolve(dir);
    this.length = layout.length;
    const plan = planPaths(this.root, layout);
    this.shortened = plan.shortened;
    for (const s of plan.shortened) options.log?.(`storage: the name ${JSON.stringify(s.from)} is too long for the file system; stored as ${JSON.stringify(s.to)}`);
    this.slots = layout.files.map((f, i) => {
      const { parts } = plan.files[i];
      const path = join(this.root, ...parts);
      // Cannot happen after sanitising; kept as the last line of defence.
      if (!path.startsWith(this.root + sep)) throw new StorageError(`path ${parts.join('/')} leaves ${this.root}`);
      return { path, parts, display: parts.join('/'), offset: f.offset, length: f.length };
    });
  }

  /**
   * Checks what is already on disk: no symbolic link and nothing of the wrong kind (a folder
   * where a file goes, a file where a folder goes) in any file's way. Throws the first StorageError.
   */
  checkDisk(): void {
    for (const s of this.slots) this.fileEntry(s);
  }

  /** The files, with their paths on disk. */
  files(): readonly { path: string; display: string; offset: number; length: number }[] {
    return this.slots.map(({ path, display, offset, length }) => ({ path, display, offset, length }));
  }

  /** True when at least one of the torrent's files exists on disk (a rerun, or a seed). */
  anyOnDisk(): boolean {
    return this.slots.some((s) => this.fileEntry(s) !== undefined);
  }

  /** What is on disk for each file: missing, or its size (which may be wrong). */
  survey(): { display: string; length: number; size: number | undefined }[] {
    return this.slots.map((s) => ({ display: s.display, length: s.length, size: this.fileEntry(s)?.size }));
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length);
    this.each(offset, length, (slot, fileOffset, at, n) => {
      const fd = this.open(slot, false);
      if (fd === undefined) return; // not created yet: zeros
      let done = 0;
      try {
        while (done < n) {
          const got = readSync(fd, out, at + done, n - done, fileOffset + done);
          if (got === 0) break; // shorter than expected: the rest reads as zeros
          done += got;
        }
      } catch (err) {
        throw failure(`cannot read ${slot.display}`, err);
      }
    });
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    this.check(offset, bytes.length);
    this.each(offset, bytes.length, (slot, fileOffset, at, n) => {
      const fd = this.open(slot, true)!;
      let done = 0;
      try {
        while (done < n) done += writeSync(fd, bytes, at + done, n - done, fileOffset + done);
      } catch (err) {
        throw failure(`cannot write ${slot.display}`, err);
      }
    });
  }

  flush(): void {
    for (const s of this.slots) {
      if (s.fd === undefined || s.missing) continue;
      try {
        fsyncSync(s.fd);
      } catch (err) {
        throw failure(`cannot flush ${s.display}`, err);
      }
    }
  }

  /**
   * Creates every file that is still missing (0-byte files get no write) and trims any that is
   * longer than the torrent says. Called once the download is complete.
   */
  finish(): void {
    for (const s of this.slots) {
      const fd = this.open(s, true)!;
      try {
        if (fstatSync(fd).size > s.length) ftruncateSync(fd, s.length);
      } catch (err) {
        throw failure(`cannot trim ${s.display}`, err);
      }
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

  /**
   * Walks the folders from the root down to `slot`'s file: each must be a real folder, never a
   * symbolic link. With `create`, makes the missing ones, one level at a time, each checked after
   * it is made. Returns false when one is missing (and not created).
   */
  private walkFolders(slot: FileSlot, create: boolean): boolean {
    if (create) {
      try {
        mkdirSync(this.root, { recursive: true }); // the root may be a link: the user chose it
      } catch (err) {
        throw failure(`cannot create the output folder ${this.root}`, err);
      }
    }
    let at = this.root;
    for (const part of slot.parts.slice(0, -1)) {
      at = join(at, part);
      let entry = entryAt(at);
      if (!entry) {
        if (!create) return false;
        try {
          mkdirSync(at);
        } catch (err) {
          if (errorCode(err) !== 'EEXIST') throw failure(`cannot create the folder for ${slot.display}`, err);
        }
        entry = entryAt(at);
      }
      if (entry?.isSymbolicLink()) throw new StorageError(`${at} is a symbolic link; refusing to follow it out of ${this.root} (for ${slot.display})`);
      if (!entry?.isDirectory()) throw new StorageError(`${at} is in the way: ${slot.display} needs a folder there`);
    }
    return true;
  }

  /** What is at `slot`'s path: undefined when nothing (or a folder on the way is missing); throws when it is not a plain file. */
  private fileEntry(slot: FileSlot): Stats | undefined {
    if (!this.walkFolders(slot, false)) return undefined;
    const entry = entryAt(slot.path);
    if (!entry) return undefined;
    if (entry.isSymbolicLink()) throw new StorageError(`${slot.path} is a symbolic link; refusing to follow it out of ${this.root}`);
    if (!entry.isFile()) throw new StorageError(`${slot.path} is in the way: ${slot.display} must be a file there`);
    return entry;
  }

  /** Opens with O_NOFOLLOW: a link made since the check is refused by the system itself. */
  private openFile(slot: FileSlot, flags: number): number {
    let fd: number;
    try {
      fd = openSync(slot.path, flags | constants.O_NOFOLLOW, 0o644);
    } catch (err) {
      if (errorCode(err) === 'ELOOP') throw new StorageError(`${slot.path} is a symbolic link; refusing to follow it out of ${this.root}`);
      throw err;
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new StorageError(`${slot.path} is in the way: ${slot.display} must be a file there`);
    }
    return fd;
  }

  private open(slot: FileSlot, forWrite: boolean): number | undefined {
    if (slot.fd !== undefined && !(forWrite && slot.missing)) return slot.fd;
    if (!forWrite) {
      if (slot.missing) return undefined;
      if (this.fileEntry(slot) === undefined) {
        slot.missing = true;
        return undefined;
      }
      try {
        slot.fd = this.openFile(slot, constants.O_RDWR);
      } catch (err) {
        if (err instanceof StorageError) throw err;
        if (errorCode(err) === 'ENOENT') {
          slot.missing = true;
          return undefined;
        }
        // Read-only data (a seed from a read-only folder).
        try {
          slot.fd = this.openFile(slot, constants.O_RDONLY);
        } catch (again) {
          throw failure(`cannot open ${slot.display}`, again);
        }
      }
      return slot.fd;
    }
    this.walkFolders(slot, true);
    this.fileEntry(slot);
    try {
      slot.fd = this.openFile(slot, constants.O_RDWR | constants.O_CREAT);
    } catch (err) {
      throw failure(`cannot open ${slot.display} for writing`, err);
    }
    slot.missing = undefined;
    return slot.fd;
  }
}
