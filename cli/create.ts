// `swarmlab create <path> -o x.torrent [--tracker URL]… [--piece-length N]`: a torrent of a file or
// a folder (files in byte order of their paths, as mktorrent does).

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { createTorrent, METAINFO_LIMITS } from '../engine/metainfo.ts';
import { ENGINE_VERSION } from '../engine/version.ts';
import { InputError } from './input-error.ts';

interface CreateFlags {
  output: string;
  tracker: string[];
  pieceLength?: number;
  webSeed: string[];
  private?: boolean;
  name?: string;
}

function pieceLengthArg(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(Number.isInteger(n) && n >= 16384 && n <= METAINFO_LIMITS.pieceLength && Number.isInteger(Math.log2(n)))) {
    throw new InvalidArgumentError(`piece length must be a power of two from 16384 to ${METAINFO_LIMITS.pieceLength}, got "${value}"`);
  }
  return n;
}

/** About 1,000–2,000 pieces, between 16 KiB and 16 MiB. */
export function defaultPieceLength(total: number): number {
  let p = 16384;
  while (p < 16 * 1024 * 1024 && total / p > 2000) p *= 2;
  return p;
}

function listFiles(dir: string, prefix: string[] = []): { path: string[]; abs: string }[] {
  const out: { path: string[]; abs: string }[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const e of entries) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(abs, [...prefix, e.name]));
    else if (e.isFile()) out.push({ path: [...prefix, e.name], abs });
  }
  return out;
}

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('make a .torrent of a file or a folder')
    .argument('<path>', 'the file or folder')
    .requiredOption('-o, --output <file>', 'where to write the .torrent')
    .option('--tracker <url>', 'an announce URL (repeat for more; each is its own tier)', (v: string, p: string[]) => [...p, v], [])
    .option('--piece-length <bytes>', 'piece length (a power of two, 16384 to 256 MiB; default: about 1,000-2,000 pieces)', pieceLengthArg)
    .option('--web-seed <url>', 'a web seed (BEP 19 url-list; repeat for more)', (v: string, p: string[]) => [...p, v], [])
    .option('--private', 'set the private flag (BEP 27)')
    .option('--name <name>', 'the torrent name (default: the file or folder name)')
    .action((path: string, flags: CreateFlags) => {
      const abs = resolve(path);
      const st = statSync(abs);
      const name = flags.name ?? basename(abs);
      let files: { path: string[]; data: Uint8Array }[] | Uint8Array;
      let total: number;
      if (st.isDirectory()) {
        const list = listFiles(abs);
        if (list.length === 0) throw new InputError(`${path}: the folder has no files; a torrent needs at least one`);
        files = list.map((f) => ({ path: f.path, data: new Uint8Array(readFileSync(f.abs)) }));
        total = files.reduce((n, f) => n + f.data.length, 0);
      } else {
        files = new Uint8Array(readFileSync(abs));
        total = files.length;
      }
      const pieceLength = flags.pieceLength ?? defaultPieceLength(total);
      const { bytes, torrent } = createTorrent({
        name,
        pieceLength,
        files,
        announce: flags.tracker.map((t) => [t]),
        createdBy: `swarmlab ${ENGINE_VERSION}`,
        urlList: flags.webSeed,
        ...(flags.private ? { private: true } : {}),
      });
      writeFileSync(flags.output, bytes);
      console.log(`${flags.output}: ${torrent.name}, ${torrent.files.length} file(s), ${total} bytes, ${torrent.pieceCount} pieces of ${pieceLength}`);
      console.log(`info-hash: ${torrent.infoHashHex}`);
    });
}
