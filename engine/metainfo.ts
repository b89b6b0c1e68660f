// .torrent metainfo (BEP 3, BEP 12 announce tiers, BEP 19 url-list, BEP 27 private flag): parsing
// and creation. Strict about the info dictionary (a fault there is a MetainfoError); lenient
// about the trackers and web seeds outside it, as parse-torrent and libtorrent are: a wrong-typed
// `announce-list` (or tier, or URL) or `url-list` is ignored with a line in `Torrent.warnings`,
// and `announce` serves instead.
//
// The info hash must be the SHA1 of the info dictionary's bytes exactly as they appear in the file:
// the decoder (engine/bdecode.ts) reports the info dictionary's byte span, and rejects malformed
// input with its position, here turned into a MetainfoError at the path of the faulty value.
// The bencode package encodes the torrents createTorrent makes.

import { createHash } from 'node:crypto';
import bencode from 'bencode';
import { BdecodeError, type BDecoded, bdecodeDocument, type BdecodeOptions, type BDict, type BValue } from './bdecode.ts';
import { toHex, utf8Text } from './bytes.ts';

export { type PieceShape, pieceSize } from './piece-shape.ts';

export interface TorrentFile {
  path: string[];
  length: number;
  /** Start of this file in the concatenated byte space of the torrent. */
  offset: number;
}

export interface Torrent {
  /** SHA1 of the info dict's bytes exactly as they appear in the file (never re-encoded). */
  infoHash: Uint8Array;
  infoHashHex: string;
  name: string;
  pieceLength: number;
  /** 20 bytes each; may be views into one shared buffer. */
  pieceHashes: Uint8Array[];
  pieceCount: number;
  /** Total bytes over all files. */
  length: number;
  /** Single-file torrents have one entry with path [name]. */
  files: TorrentFile[];
  multiFile: boolean;
  /** Tiers: announce-list (BEP 12) if it has a usable tracker, else [[announce]], else []. */
  announce: string[][];
  /** BEP 19 web seeds (`url-list`, a string or a list of strings), in file order; [] if none. */
  urlList: string[];
  /** What was ignored while parsing, one line each (at most METAINFO_LIMITS.warnings, then a count). */
  warnings: string[];
  /** The raw info dict bytes (needed for BEP 9 metadata exchange). */
  infoBytes: Uint8Array;
  private?: boolean;
}

/** What the info dictionary alone gives (parseInfo, BEP 9 metadata): no trackers, web seeds or warnings. */
export type TorrentInfo = Omit<Torrent, 'announce' | 'urlList' | 'warnings'>;

export class MetainfoError extends Error {
  /** `path` locates the offending value, e.g. "info.files[2].path[0]"; "" means the whole input. */
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'MetainfoError';
  }
}

function fail(path: string, detail: string): never {
  throw new MetainfoError(path ? `${path}: ${detail}` : detail, path);
}

// ---------------------------------------------------------------------------------------------
// Decoding, with bencoding faults as MetainfoErrors at the path of the value

/** Deep enough for any real torrent (libtorrent's bdecode allows 100 too), shallow enough for the stack. */
const MAX_NESTING = 100;

/**
 * Torrents in the wild have unsorted keys, and libtorrent reads them: the order is not checked.
 * Integers beyond 2^53 are decoded (inexactly) and refused only where a field is read, so such a
 * value in a field nobody reads (a "creation date" of 20 digits) does not spoil the torrent.
 * Spans are kept for the top level's values: the info dictionary's is the one needed.
 */
const TORRENT_DECODING = { maxDepth: MAX_NESTING, largeIntegers: 'approximate', spansToDepth: 1 } as const satisfies BdecodeOptions;


function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** Decodes a whole document; `rootPath` names it in errors ("" for a .torrent, "info" for a bare info dictionary). */
function decodeDocument(bytes: Uint8Array, rootPath: string): BDecoded {
  try {
    return bdecodeDocument(bytes, TORRENT_DECODING);
  } catch (err) {
    if (err instanceof BdecodeError) fail(err.pathText(rootPath), `not valid bencoding at byte ${err.position}: ${err.detail}`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Typed reads of decoded values; every failure names the path of the value

type Dictionary = BDict;

function describe(value: BValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return 'integer';
  if (value instanceof Uint8Array) return 'string';
  if (Array.isArray(value)) return 'list';
  return 'dictionary';
}

function isDictionary(value: BValue | undefined): value is Dictionary {
  return describe(value) === 'dictionary';
}

/** Own properties only: a "__proto__" key in the input must not make other keys appear present. */
function field(dictionary: Dictionary, key: string): BValue | undefined {
  return Object.hasOwn(dictionary, key) ? dictionary[key] : undefined;
}

function requirePresent(value: BValue | undefined, path: string): BValue {
  if (value === undefined) fail(path, 'missing');
  return value;
}

function expectDictionary(value: BValue | undefined, path: string): Dictionary {
  if (!isDictionary(requirePresent(value, path))) fail(path, `expected a dictionary, got ${describe(value)}`);
  return value as Dictionary;
}

function expectList(value: BValue | undefined, path: string): BValue[] {
  if (!Array.isArray(requirePresent(value, path))) fail(path, `expected a list, got ${describe(value)}`);
  return value as BValue[];
}

function expectBytes(value: BValue | undefined, path: string): Uint8Array {
  if (!(requirePresent(value, path) instanceof Uint8Array)) fail(path, `expected a string, got ${describe(value)}`);
  return value as Uint8Array;
}

function expectText(value: BValue | undefined, path: string): string {
  return utf8Text(expectBytes(value, path));
}

function expectInteger(value: BValue | undefined, path: string, minimum: number): number {
  const kind = minimum > 0 ? 'a positive integer' : minimum === 0 ? 'a non-negative integer' : 'an integer';
  if (typeof requirePresent(value, path) !== 'number') fail(path, `expected ${kind}, got ${describe(value)}`);
  const number = value as number;
  if (!Number.isSafeInteger(number)) fail(path, `expected ${kind}, got ${number}, which is too large`);
  if (number < minimum) fail(path, `expected ${kind}, got ${number}`);
  return number;
}

/** A file or folder name that is safe to join under a download directory. */
function expectPathSegment(value: BValue | undefined, path: string): string {
  const segment = expectText(value, path);
  if (segment === '') fail(path, 'must not be empty');
  if (segment === '.' || segment === '..') fail(path, `must not be "${segment}"`);
  if (segment.includes('/') || segment.includes('\\')) fail(path, `must not contain a path separator, got "${segment}"`);
  if (segment.includes('\0')) fail(path, 'must not contain a NUL character');
  if (/^[A-Za-z]:/.test(segment)) fail(path, `must not be an absolute (drive letter) path, got "${segment}"`);
  return segment;
}

/** `key`, overridden by `key.utf-8` when present (both are validated). */
function readPreferringUtf8<T>(dictionary: Dictionary, key: string, path: string, read: (value: BValue | undefined, path: string) => T): T {
  const plain = read(field(dictionary, key), childPath(path, key));
  const utf8Key = `${key}.utf-8`;
  return field(dictionary, utf8Key) === undefined ? plain : read(field(dictionary, utf8Key), childPath(path, utf8Key));
}

function expectFilePath(value: BValue | undefined, path: string): string[] {
  const segments = expectList(value, path);
  if (segments.length === 0) fail(path, 'expected a non-empty list');
  if (segments.length > METAINFO_LIMITS.pathDepth) tooLarge(path, 'path depth', segments.length, METAINFO_LIMITS.pathDepth);
  return segments.map((segment, index) => expectPathSegment(segment, `${path}[${index}]`));
}

// ---------------------------------------------------------------------------------------------
// Info dictionary and announce tiers

const HASH_LENGTH = 20;

/**
 * What a torrent may ask of us. Past a limit, parsing (and creating) fails with the field and the
 * limit named, instead of a RangeError deep in the engine or an allocation that cannot succeed.
 */
export const METAINFO_LIMITS = {
  /**
   * 256 MiB: mktorrent caps piece lengths at 2^28 and qBittorrent/libtorrent's creators offer no
   * more; libtorrent refuses above ~512 MiB. Each piece is read whole to be hashed, so this also
   * bounds one verification's buffer.
   */
  pieceLength: 256 * 1024 * 1024,
  /** libtorrent's max_num_pieces (2^30 − 1): piece indices stay far inside 32 bits. */
  pieceCount: 2 ** 30 - 1,
  /** The largest real torrents hold some 10^5 files; a million bounds the layout's memory. */
  fileCount: 1_000_000,
  /** libtorrent's max_file_offset (2^48 − 1, 256 TiB): far above any payload, far inside exact doubles. */
  totalLength: 2 ** 48 - 1,
  /** Path components per file, as libtorrent bounds a v2 file tree's depth (100). */
  pathDepth: 100,
  /** Warnings kept per torrent: a million bad URLs must not make a million lines; the rest are counted. */
  warnings: 20,
} as const satisfies Record<string, number>;

function tooLarge(path: string, what: string, got: number, limit: number): never {
  fail(path, `${what} ${got} is over the limit of ${limit}`);
}

function readFiles(info: Dictionary, name: string): { files: TorrentFile[]; multiFile: boolean } {
  const hasLength = field(info, 'length') !== undefined;
  const hasFiles = field(info, 'files') !== undefined;
  if (hasLength === hasFiles) {
    fail('info', `expected exactly one of "length" (single file) or "files" (multiple files), found ${hasLength ? 'both' : 'neither'}`);
  }
  if (hasLength) {
    const length = expectInteger(field(info, 'length'), 'info.length', 0);
    if (length > METAINFO_LIMITS.totalLength) tooLarge('info.length', 'length', length, METAINFO_LIMITS.totalLength);
    return { files: [{ path: [name], length, offset: 0 }], multiFile: false };
  }

  const entries = expectList(field(info, 'files'), 'info.files');
  if (entries.length === 0) fail('info.files', 'expected a non-empty list');
  if (entries.length > METAINFO_LIMITS.fileCount) tooLarge('info.files', 'file count', entries.length, METAINFO_LIMITS.fileCount);
  const files: TorrentFile[] = [];
  const pathOwners = new Map<string, number>();
  let offset = 0;
  entries.forEach((entry, index) => {
    const entryPath = `info.files[${index}]`;
    const dictionary = expectDictionary(entry, entryPath);
    const length = expectInteger(field(dictionary, 'length'), `${entryPath}.length`, 0);
    const path = readPreferringUtf8(dictionary, 'path', entryPath, expectFilePath);
    // Segments cannot contain '/', so joining with it is unambiguous.
    const joined = path.join('/');
    const owner = pathOwners.get(joined);
    if (owner !== undefined) fail(`${entryPath}.path`, `duplicates the path of info.files[${owner}]`);
    pathOwners.set(joined, index);
    files.push({ path, length, offset });
    offset += length;
    if (offset > METAINFO_LIMITS.totalLength) tooLarge(`${entryPath}.length`, 'total length of the files', offset, METAINFO_LIMITS.totalLength);
  });
  return { files, multiFile: true };
}

function checkPieceLength(pieceLength: number): void {
  if (pieceLength > METAINFO_LIMITS.pieceLength) tooLarge('info.piece length', 'piece length', pieceLength, METAINFO_LIMITS.pieceLength);
}

function readInfo(info: Dictionary, infoBytes: Uint8Array): TorrentInfo {
  const name = readPreferringUtf8(info, 'name', 'info', expectPathSegment);
  const pieceLength = expectInteger(field(info, 'piece length'), 'info.piece length', 1);
  checkPieceLength(pieceLength);
  const pieces = expectBytes(field(info, 'pieces'), 'info.pieces');
  if (pieces.length % HASH_LENGTH !== 0) {
    fail('info.pieces', `length ${pieces.length} is not a multiple of ${HASH_LENGTH}`);
  }
  if (pieces.length / HASH_LENGTH > METAINFO_LIMITS.pieceCount) {
    tooLarge('info.pieces', 'piece count', pieces.length / HASH_LENGTH, METAINFO_LIMITS.pieceCount);
  }
  const { files, multiFile } = readFiles(info, name);
  const length = files.reduce((sum, file) => sum + file.length, 0);

  const pieceCount = pieces.length / HASH_LENGTH;
  const expectedPieceCount = Math.ceil(length / pieceLength);
  if (pieceCount !== expectedPieceCount) {
    fail('info.pieces', `holds ${pieceCount} piece hashes, but ${length} bytes in pieces of ${pieceLength} need ${expectedPieceCount}`);
  }
  // Decoded strings are views of the input; a copy keeps the hashes safe from a caller reusing its buffer.
  const ownPieces = pieces.slice();
  const pieceHashes: Uint8Array[] = [];
  for (let index = 0; index < pieceCount; index++) {
    pieceHashes.push(ownPieces.subarray(index * HASH_LENGTH, (index + 1) * HASH_LENGTH));
  }

  const infoHash = sha1(infoBytes);
  const torrent: TorrentInfo = {
    infoHash,
    infoHashHex: toHex(infoHash),
    name,
    pieceLength,
    pieceHashes,
    pieceCount,
    length,
    files,
    multiFile,
    infoBytes,
  };
  const privateFlag = field(info, 'private');
  if (privateFlag !== undefined) torrent.private = expectInteger(privateFlag, 'info.private', -Infinity) === 1;
  return torrent;
}

/** Collects the warnings of one parse, bounded by METAINFO_LIMITS.warnings. */
class Warnings {
  readonly lines: string[] = [];
  private dropped = 0;

  add(path: string, detail: string): void {
    if (this.lines.length < METAINFO_LIMITS.warnings) this.lines.push(`${path}: ${detail}`);
    else this.dropped++;
  }

  done(): string[] {
    return this.dropped === 0 ? this.lines : [...this.lines, `${this.dropped} more warnings not shown`];
  }
}

/** The strings of a list, each other value skipped with a warning; empty strings skipped silently. */
function textsOf(list: BValue[], path: string, warnings: Warnings, what: string): string[] {
  const texts: string[] = [];
  list.forEach((value, index) => {
    if (value instanceof Uint8Array) {
      if (value.length > 0) texts.push(utf8Text(value));
    } else warnings.add(`${path}[${index}]`, `expected a string, got ${describe(value)}; this ${what} is ignored`);
  });
  return texts;
}

function readAnnounce(metainfo: Dictionary, warnings: Warnings): string[][] {
  // `announce` stays strict, as it was: a torrent whose one tracker is not a string is broken.
  const announce = field(metainfo, 'announce');
  const announceUrl = announce === undefined ? '' : expectText(announce, 'announce');
  const fallback = announceUrl ? [[announceUrl]] : [];

  const announceList = field(metainfo, 'announce-list');
  if (announceList === undefined) return fallback;
  if (!Array.isArray(announceList)) {
    warnings.add('announce-list', `expected a list, got ${describe(announceList)}; ignored, ${announceUrl ? 'announce is used' : 'and there is no announce'}`);
    return fallback;
  }
  const usableTiers: string[][] = [];
  announceList.forEach((tier, tierIndex) => {
    const path = `announce-list[${tierIndex}]`;
    if (!Array.isArray(tier)) return warnings.add(path, `expected a list, got ${describe(tier)}; this tier is ignored`);
    const urls = textsOf(tier, path, warnings, 'tracker');
    if (urls.length > 0) usableTiers.push(urls);
  });
  // BEP 12: when announce-list has trackers, it replaces announce.
  return usableTiers.length > 0 ? usableTiers : fallback;
}

/** BEP 19: `url-list` is one URL or a list of them; anything else is ignored with a warning. */
function readUrlList(metainfo: Dictionary, warnings: Warnings): string[] {
  const urlList = field(metainfo, 'url-list');
  if (urlList === undefined) return [];
  if (urlList instanceof Uint8Array) return urlList.length > 0 ? [utf8Text(urlList)] : [];
  if (Array.isArray(urlList)) return textsOf(urlList, 'url-list', warnings, 'web seed');
  warnings.add('url-list', `expected a string or a list of strings, got ${describe(urlList)}; no web seeds are used`);
  return [];
}

// ---------------------------------------------------------------------------------------------
// Public API

export function parseTorrent(bytes: Uint8Array): Torrent {
  const { value: metainfo, spanOf } = decodeDocument(bytes, '');
  if (!isDictionary(metainfo)) fail('', `expected a dictionary at the top level, got ${describe(metainfo)}`);
  const info = expectDictionary(field(metainfo, 'info'), 'info');
  const infoSpan = spanOf(info)!;
  const { infoBytes, ...rest } = readInfo(info, bytes.slice(infoSpan.start, infoSpan.end));
  const warnings = new Warnings();
  const announce = readAnnounce(metainfo, warnings);
  const urlList = readUrlList(metainfo, warnings);
  return { ...rest, announce, urlList, warnings: warnings.done(), infoBytes };
}

/** Parses a bare info dictionary, e.g. one assembled from BEP 9 metadata pieces. */
export function parseInfo(infoBytes: Uint8Array): TorrentInfo {
  const info = expectDictionary(decodeDocument(infoBytes, 'info').value, 'info');
  return readInfo(info, infoBytes.slice());
}

/** SHA1 of the bytes, or of several chunks as if concatenated (without concatenating them). */
export function sha1(bytes: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha1');
  if (bytes instanceof Uint8Array) hash.update(bytes);
  else for (const chunk of bytes) hash.update(chunk);
  return new Uint8Array(hash.digest());
}

export interface CreateOptions {
  name: string;
  pieceLength: number;
  /** A list of files for a multi-file torrent, or the bytes of a single-file torrent. */
  files: { path: string[]; data: Uint8Array }[] | Uint8Array;
  announce?: string[][];
  createdBy?: string;
  /** true writes `private: 1`; false writes `private: 0` (as Transmission does); omitted leaves the key out (as mktorrent does). */
  private?: boolean;
  /** BEP 19 web seeds, written as `url-list` (a list) when not empty. */
  urlList?: string[];
}

/**
 * Hashes the concatenation of `contents` in pieces. Pieces are fed to SHA1 as views of the
 * callers' buffers, so nothing is copied, even where a piece spans several files.
 */
function hashPieces(contents: readonly Uint8Array[], pieceLength: number): Uint8Array {
  const totalLength = contents.reduce((sum, data) => sum + data.length, 0);
  const pieces = new Uint8Array(Math.ceil(totalLength / pieceLength) * HASH_LENGTH);
  let piecesWritten = 0;
  let pendingChunks: Uint8Array[] = [];
  let pendingLength = 0;
  const flush = () => {
    pieces.set(sha1(pendingChunks), piecesWritten * HASH_LENGTH);
    piecesWritten++;
    pendingChunks = [];
    pendingLength = 0;
  };
  for (const data of contents) {
    let position = 0;
    while (position < data.length) {
      const take = Math.min(pieceLength - pendingLength, data.length - position);
      pendingChunks.push(data.subarray(position, position + take));
      pendingLength += take;
      position += take;
      if (pendingLength === pieceLength) flush();
    }
  }
  if (pendingLength > 0) flush();
  return pieces;
}

/** Builds a valid .torrent; throws MetainfoError for anything parseTorrent would reject. */
export function createTorrent(o: CreateOptions): { bytes: Uint8Array; torrent: Torrent } {
  if (!Number.isSafeInteger(o.pieceLength) || o.pieceLength <= 0) {
    fail('info.piece length', `expected a positive integer, got ${o.pieceLength}`);
  }
  checkPieceLength(o.pieceLength);
  const contents = o.files instanceof Uint8Array ? [o.files] : o.files.map((file) => file.data);

  // bencode.encode sorts dictionary keys, as BEP 3 requires; all keys here are ASCII.
  const info: Record<string, unknown> = {
    name: o.name,
    'piece length': o.pieceLength,
    pieces: hashPieces(contents, o.pieceLength),
  };
  if (o.files instanceof Uint8Array) info.length = o.files.length;
  else info.files = o.files.map((file) => ({ length: file.data.length, path: file.path }));
  if (o.private !== undefined) info.private = o.private ? 1 : 0;

  const metainfo: Record<string, unknown> = { info };
  const tiers = (o.announce ?? []).filter((tier) => tier.length > 0);
  if (tiers.length > 0) {
    metainfo.announce = tiers[0][0];
    // Like mktorrent: announce-list only when there is more than the one tracker.
    if (tiers.length > 1 || tiers[0].length > 1) metainfo['announce-list'] = tiers;
  }
  if (o.createdBy !== undefined) metainfo['created by'] = o.createdBy;
  if (o.urlList?.length) metainfo['url-list'] = o.urlList;

  const bytes = bencode.encode(metainfo);
  return { bytes, torrent: parseTorrent(bytes) };
}
