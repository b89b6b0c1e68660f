// The one check that an external client holds the right bytes: its data folder's files, laid out
// as the torrent says (under the save folder: `name` for one file, `name/path…` for several),
// hashed piece by piece against the torrent. Every adapter's `complete()` ends here, also when the
// client's own RPC says done. Files the torrent does not list (aria2's BEP 47 `.pad/` folder,
// Transmission's `.part` leftovers) are ignored; a BEP 47 pad file the client did not write reads as
// the zeros it stands for, and an empty file need not exist (Transmission creates none).

import { type FileHandle, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha1, type Torrent } from '../../../engine/metainfo.ts';
import { pieceSize } from '../../../engine/piece-shape.ts';
import { planPaths } from '../../../live/storage-paths.ts';

export interface VerifyResult {
  complete: boolean;
  /** Pieces that hashed right (those `known` already held included). */
  goodPieces: number;
  pieceCount: number;
  /** Why it is not complete, for a message: the first file short or missing, or the first bad piece. */
  problem?: string;
}

/** BEP 47 puts pad files in a `.pad` folder of the torrent (`.pad/N`): zeros nobody needs to store. */
function isPadFile(path: readonly string[]): boolean {
  return path.length >= 1 && path[0] === '.pad';
}

/**
 * Hashes `dataDir`'s files against `torrent`. Without `known`, every piece; with it (one byte a
 * piece, 1 = hashed right before), only the others, and `known` is updated. Files shorter than
 * the torrent says end the check before any hashing (a download still under way is cheap to ask).
 */
export async function verifyFiles(dataDir: string, torrent: Torrent, known?: Uint8Array): Promise<VerifyResult> {
  const pieceCount = torrent.pieceCount;
  let paths: string[];
  try {
    paths = planPaths(dataDir, torrent).files.map((f) => join(dataDir, ...f.parts));
  } catch (err) {
    return { complete: false, goodPieces: 0, pieceCount, problem: (err as Error).message };
  }
  const padded = torrent.files.map((f) => isPadFile(f.path));
  const present: boolean[] = [];
  for (const [i, f] of torrent.files.entries()) {
    const size = await stat(paths[i]).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1,
    );
    // A pad file not written stands for zeros; an empty file holds no bytes to check (Transmission writes none).
    if (size < 0 && (padded[i] || f.length === 0)) {
      present.push(false);
      continue;
    }
    if (size < f.length) {
      const goodPieces = known ? known.reduce((n, k) => n + k, 0) : 0;
      return { complete: false, goodPieces, pieceCount, problem: size < 0 ? `${paths[i]} is missing` : `${paths[i]} has ${size} of ${f.length} bytes` };
    }
    present.push(true);
  }

  const handles = new Map<number, FileHandle>();
  const buffer = Buffer.alloc(torrent.pieceLength);
  let goodPieces = 0;
  let problem: string | undefined;
  try {
    for (let piece = 0; piece < pieceCount; piece++) {
      if (known?.[piece]) {
        goodPieces++;
        continue;
      }
      const start = piece * torrent.pieceLength;
      const length = pieceSize(torrent, piece);
      await readRange(torrent, paths, present, handles, start, buffer.subarray(0, length));
      const digest = sha1(buffer.subarray(0, length));
      if (Buffer.compare(digest, torrent.pieceHashes[piece]) === 0) {
        goodPieces++;
        if (known) known[piece] = 1;
      } else {
        problem ??= `piece ${piece} does not match the torrent's hash`;
      }
    }
  } catch (err) {
    problem = `reading ${dataDir}: ${(err as Error).message}`;
  } finally {
    await Promise.all([...handles.values()].map((h) => h.close().catch(() => {})));
  }
  return { complete: problem === undefined && goodPieces === pieceCount, goodPieces, pieceCount, ...(problem ? { problem } : {}) };
}

/** Fills `into` with the torrent's bytes from `start`, across files; an absent pad file gives zeros. */
async function readRange(torrent: Torrent, paths: string[], present: boolean[], handles: Map<number, FileHandle>, start: number, into: Buffer): Promise<void> {
  const end = start + into.length;
  for (const [i, f] of torrent.files.entries()) {
    const fileEnd = f.offset + f.length;
    if (fileEnd <= start || f.offset >= end || f.length === 0) continue;
    const from = Math.max(start, f.offset);
    const to = Math.min(end, fileEnd);
    const target = into.subarray(from - start, to - start);
    if (!present[i]) {
      target.fill(0);
      continue;
    }
    let h = handles.get(i);
    if (!h) {
      h = await open(paths[i], 'r');
      handles.set(i, h);
    }
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await h.read(target, done, target.length - done, from - f.offset + done);
      if (bytesRead === 0) throw new Error(`${paths[i]} ended early`);
      done += bytesRead;
    }
  }
}

/**
 * complete() for one client: incremental checks (only pieces not yet found right are hashed again)
 * until every piece is right, then one full pass from scratch, whose answer stands.
 */
export class CompletionCheck {
  private readonly known: Uint8Array;
  private finished = false;
  private inFlight: Promise<boolean> | undefined;
  last: VerifyResult | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly torrent: Torrent,
  ) {
    this.known = new Uint8Array(torrent.pieceCount);
  }

  check(): Promise<boolean> {
    if (this.finished) return Promise.resolve(true);
    this.inFlight ??= (async () => {
      try {
        this.last = await verifyFiles(this.dataDir, this.torrent, this.known);
        if (!this.last.complete) return false;
        this.last = await verifyFiles(this.dataDir, this.torrent);
        if (!this.last.complete) this.known.fill(0);
        this.finished = this.last.complete;
        return this.finished;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}
