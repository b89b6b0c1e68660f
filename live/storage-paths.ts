// Where each of a torrent's files goes on disk, decided once when the torrent is opened.
//
// Every component is sanitised (no separators, control characters, `.` or `..`), an over-long one
// is shortened keeping its extension as libtorrent does, and then the whole plan is checked: two
// files on one disk path, or a file that is also another file's folder, are refused with both
// torrent paths named (sanitising and shortening are not injective, and a file written over
// another's verified piece would end in "complete" with wrong bytes); so is a path the system
// cannot open (PATH_MAX). Pure string work: the disk itself is checked by `FileStorage`.

import { join } from 'node:path';
import { METAINFO_LIMITS } from '../engine/metainfo.ts';

export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}

/** Linux's NAME_MAX and PATH_MAX (which counts the closing NUL); most other systems allow no more. */
export const PATH_LIMITS = {
  componentBytes: 255,
  pathBytes: 4095,
  /** A shortened component keeps this many bytes of its name, then its extension (libtorrent: 240). */
  shortenedStemBytes: 240,
  /** Only a final `.xyz` of at most this many bytes counts as an extension (libtorrent: 10). */
  extensionBytes: 10,
} as const satisfies Record<string, number>;

/** One path component made safe: no separators, no control characters, never `.` or `..`, never empty. */
export function safeComponent(c: string): string {
  let s = c.replace(/[\u0000-\u001f/\\]/g, '_');
  if (process.platform === 'win32') s = s.replace(/[<>:"|?*]/g, '_');
  if (s === '' || s === '.' || s === '..') s = s.replace(/\./g, '_') || '_';
  return s;
}

const utf8 = new TextEncoder();
const byteLength = (s: string) => utf8.encode(s).length;

/** The longest prefix of `s` of at most `max` UTF-8 bytes, never splitting a character. */
function prefixOfBytes(s: string, max: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const n = byteLength(ch);
    if (bytes + n > max) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end);
}

/**
 * `c` if it fits in a component, else its first 240 bytes plus its extension (when it has a short
 * one), as libtorrent's sanitize_append_path_element shortens names.
 */
export function shortenComponent(c: string): string {
  if (byteLength(c) <= PATH_LIMITS.componentBytes) return c;
  const dot = c.lastIndexOf('.');
  const extension = dot > 0 && byteLength(c.slice(dot)) <= PATH_LIMITS.extensionBytes ? c.slice(dot) : '';
  return prefixOfBytes(c.slice(0, c.length - extension.length), PATH_LIMITS.shortenedStemBytes) + extension;
}

/** A torrent path as it appears in messages: control characters escaped, so two names that look alike show apart. */
export function showTorrentPath(parts: readonly string[]): string {
  return JSON.stringify(parts.join('/'));
}

export interface PlannedFile {
  /** Components below the output folder, sanitised and shortened. */
  parts: string[];
  /** The path as the torrent gives it (its name first for a multi-file torrent). */
  torrentPath: string[];
}

export interface PathPlan {
  files: PlannedFile[];
  /** Components that were too long, before and after. */
  shortened: { from: string; to: string }[];
}

export interface PathLayout {
  name: string;
  multiFile: boolean;
  files: readonly { path: readonly string[] }[];
}

/** Plans every file's disk path under `root`; throws StorageError for what cannot be stored safely. */
export function planPaths(root: string, layout: PathLayout): PathPlan {
  const shortened = new Map<string, string>();
  const diskComponent = (c: string) => {
    const safe = safeComponent(c);
    const short = shortenComponent(safe);
    if (short !== safe) shortened.set(safe, short);
    return short;
  };
  const files = layout.files.map((f) => {
    const torrentPath = layout.multiFile ? [layout.name, ...f.path] : [layout.name];
    if (torrentPath.length > METAINFO_LIMITS.pathDepth + 1) {
      throw new StorageError(`${showTorrentPath(torrentPath)} is ${torrentPath.length} folders deep, over the limit of ${METAINFO_LIMITS.pathDepth}`);
    }
    const parts = torrentPath.map(diskComponent);
    const full = join(root, ...parts);
    if (byteLength(full) > PATH_LIMITS.pathBytes) {
      throw new StorageError(`${showTorrentPath(torrentPath)} would be a path of ${byteLength(full)} bytes in ${root}, over the system's limit of ${PATH_LIMITS.pathBytes}`);
    }
    return { parts, torrentPath };
  });
  checkCollisions(files);
  return { files, shortened: [...shortened].map(([from, to]) => ({ from, to })) };
}

/** Case-insensitive file systems are the default on macOS and Windows: compare as they do. */
function diskKey(parts: readonly string[]): string {
  const path = parts.join('/');
  return process.platform === 'darwin' || process.platform === 'win32' ? path.normalize('NFC').toLowerCase() : path;
}

/** Refuses two files on one disk path, and a file that is also a folder of another, naming both. */
function checkCollisions(files: readonly PlannedFile[]): void {
  const fileAt = new Map<string, PlannedFile>();
  const folderOf = new Map<string, PlannedFile>();
  for (const f of files) {
    const key = diskKey(f.parts);
    const other = fileAt.get(key);
    if (other) throw new StorageError(`${showTorrentPath(other.torrentPath)} and ${showTorrentPath(f.torrentPath)} would both be stored as ${f.parts.join('/')}`);
    const below = folderOf.get(key);
    if (below) throw new StorageError(`${showTorrentPath(f.torrentPath)} would be stored as ${f.parts.join('/')}, which is a folder of ${showTorrentPath(below.torrentPath)}`);
    fileAt.set(key, f);
    for (let depth = 1; depth < f.parts.length; depth++) {
      const folder = diskKey(f.parts.slice(0, depth));
      const file = fileAt.get(folder);
      if (file) throw new StorageError(`${showTorrentPath(file.torrentPath)} would be stored as ${f.parts.slice(0, depth).join('/')}, which is a folder of ${showTorrentPath(f.torrentPath)}`);
      if (!folderOf.has(folder)) folderOf.set(folder, f);
    }
  }
}
