// The two torrents every interop test moves (a single file; a folder with pieces spanning files and
// an empty file), and the steps the tests share: download every case with swarmlab, check the
// bytes, seed each case, and the whole run through an opentracker.

import { join } from 'node:path';
import { expect } from 'vitest';
import { startTracker } from './opentracker.ts';
import { compareTrees, multiPayload, singlePayload } from './payloads.ts';
import { freePort, type Proc, type Procs } from './processes.ts';
import { createTorrentFile, summaryOf } from './swarmlab-cli.ts';

export interface Case {
  kind: 'single' | 'multi';
  /** The payload: a file (single) or a folder (multi), inside `payloadDir`. */
  source: string;
  payloadDir: string;
  /** The torrent's name: the file or folder name inside a download folder. */
  name: string;
  torrent: string;
  hash: string;
}

/**
 * A single-file torrent (3 MiB and a bit, 128 KiB pieces) and a multi-file one (four files, one
 * empty, 64 KiB pieces spanning files), each with its payload in its own folder.
 */
export function makeCases(dir: string, trackers: string[] = []): Case[] {
  const single = singlePayload(join(dir, 'payload-single'), 'payload.bin', 3 * 1024 * 1024 + 12_345);
  const multi = multiPayload(join(dir, 'payload-multi'), 'album');
  return [
    { kind: 'single', source: single, payloadDir: join(dir, 'payload-single'), name: 'payload.bin', torrent: join(dir, 'single.torrent'), hash: '' },
    { kind: 'multi', source: multi, payloadDir: join(dir, 'payload-multi'), name: 'album', torrent: join(dir, 'multi.torrent'), hash: '' },
  ].map((c) => ({ ...c, kind: c.kind as Case['kind'], hash: createTorrentFile(c.source, c.torrent, { trackers, pieceLength: c.kind === 'single' ? 128 * 1024 : 64 * 1024 }) }));
}

/** Where downloadAll puts a case: dir/out-KIND. */
export function downloadDir(dir: string, c: Case): string {
  return join(dir, `out-${c.kind}`);
}

/** Runs `swarmlab download` for every case at once into dir/out-KIND; resolves with each process once all exited. */
export async function downloadAll(procs: Procs, cases: Case[], dir: string, extra: (c: Case) => string[] = () => [], seconds = 90): Promise<Proc[]> {
  const ps = cases.map((c) => procs.swarmlab(`swarmlab-${c.kind}`, ['download', c.torrent, '-o', downloadDir(dir, c), '--bind', '127.0.0.1', '--json', ...extra(c)], seconds));
  await Promise.all(ps.map((p) => p.exit(seconds * 1000 + 5_000)));
  return ps;
}

/** Each download of downloadAll exited 0 with the exact bytes; with `summary`, its summary says complete. */
export function expectDownloaded(dls: Proc[], cases: Case[], dir: string, o: { summary?: boolean } = {}): void {
  for (const [i, c] of cases.entries()) {
    expect(dls[i].code, dls[i].stderr).toBe(0);
    if (o.summary) expect(summaryOf(dls[i])).toMatchObject({ ok: true, complete: true, infoHash: c.hash });
    expect(compareTrees(c.source, join(downloadDir(dir, c), c.name)), c.kind).toEqual([]);
  }
}

/** Starts one seed per case, each on a free port, in turn; returns each case's port. */
export async function seedEach(cases: Case[], start: (c: Case, port: number) => Promise<unknown>): Promise<Map<Case, number>> {
  const ports = new Map<Case, number>();
  for (const c of cases) {
    const port = await freePort();
    ports.set(c, port);
    await start(c, port);
  }
  return ports;
}

/**
 * Both cases announced to a fresh opentracker (`scheme` URLs) and seeded by `seed`; swarmlab, which
 * finds the seeds only through the tracker, downloads each; then expectDownloaded with the summary.
 */
export async function expectDownloadsThroughTracker(
  procs: Procs,
  dir: string,
  o: { scheme: 'http' | 'udp'; trackerSeconds: number; downloadSeconds?: number; seed: (cases: Case[]) => Promise<unknown> },
): Promise<void> {
  const trackerPort = await freePort();
  const cases = makeCases(dir, [`${o.scheme}://127.0.0.1:${trackerPort}/announce`]);
  const tracker = await startTracker(procs, cases.map((c) => c.hash), o.trackerSeconds, trackerPort);
  await o.seed(cases);
  for (const c of cases) await tracker.waitForSeeders(c.hash, 1, 30_000);
  const dls = await downloadAll(procs, cases, dir, () => [], o.downloadSeconds);
  expectDownloaded(dls, cases, dir, { summary: true });
}
