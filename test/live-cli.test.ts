// The live commands end to end on 127.0.0.1, swarmlab with itself: Ctrl-C tells the tracker
// `stopped` and a rerun resumes from what is on disk after re-checking it; `seed` reports what is
// missing or wrong; `create` makes the same info-hash as mktorrent; --trace writes a replayable trace.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import { parseTorrent } from '../engine/metainfo.ts';
import { isControlEdge } from '../engine/flowchart.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees, multiPayload, removeDir, singlePayload } from './helpers/payloads.ts';
import { freePort, sleep } from './helpers/processes.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

const { procs, work, addCleanup } = useLiveWorkspace();

/** An HTTP tracker that records each announce's event and hands out no peers. */
async function recordingTracker(): Promise<{ url: string; events: string[] }> {
  const events: string[] = [];
  const server = createServer((req, res) => {
    events.push(new URL(req.url!, 'http://x').searchParams.get('event') ?? 'periodic');
    res.end(Buffer.from(bencodeValue({ interval: 1800, peers: new Uint8Array(0) })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  addCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`, events };
}

describe('swarmlab download: Ctrl-C and resume', () => {
  it('Ctrl-C tells the tracker stopped; the rerun re-checks what is on disk and fetches only the rest', async () => {
    const dir = work('resume');
    const file = singlePayload(join(dir, 'seed'), 'payload.bin', 40 * 65536);
    const tracker = await recordingTracker();
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(file, torrentPath, { trackers: [tracker.url], pieceLength: 65536 });
    // On disk already: the first 25 pieces right, the rest garbage (a crash mid-download).
    const original = readFileSync(file);
    const partial = Buffer.alloc(original.length, 0x5a);
    original.copy(partial, 0, 0, 25 * 65536);
    mkdirSync(join(dir, 'out'), { recursive: true });
    writeFileSync(join(dir, 'out', 'payload.bin'), partial);

    const first = procs().swarmlab('download-1', ['download', torrentPath, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--json'], 60);
    await first.waitFor(/"type":"progress"/, 30_000);
    while (!tracker.events.includes('started')) await sleep(20);
    first.child.kill('SIGINT');
    expect(await first.exit(30_000)).toBe(130);
    expect(summaryOf(first)).toMatchObject({ ok: false, complete: false, reason: 'interrupted', resumedPieces: 25, have: 25 });
    expect(tracker.events).toEqual(['started', 'stopped']);

    const port = await freePort();
    const seed = procs().swarmlab('seed', ['seed', torrentPath, join(dir, 'seed'), '--bind', '127.0.0.1', '--port', String(port)], 60);
    await seed.waitFor(/seeding payload.bin on port/, 30_000);
    const second = procs().swarmlab('download-2', ['download', torrentPath, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--peer', `127.0.0.1:${port}`, '--json'], 60);
    expect(await second.exit(60_000), second.stderr).toBe(0);
    const summary = summaryOf(second)!;
    expect(summary).toMatchObject({ ok: true, complete: true, resumedPieces: 25, have: 40 });
    expect(summary.downloaded).toBe(15 * 65536); // only what was missing or wrong
    expect(compareTrees(file, join(dir, 'out', 'payload.bin'))).toEqual([]);
  }, 120_000);
});

describe('swarmlab seed: the check report', () => {
  it('names missing files, files of the wrong size and files with bad pieces, then seeds', async () => {
    const dir = work('seed-report');
    const root = multiPayload(join(dir, 'data'), 'album');
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(root, torrentPath, { pieceLength: 65536 });
    // Damage the copy: one file gone, one cut short, one with a flipped byte.
    removeDir(join(root, 'sub', 'b.txt'));
    writeFileSync(join(root, 'sub', 'deeper', 'c.dat'), readFileSync(join(root, 'sub', 'deeper', 'c.dat')).subarray(0, 1000));
    const a = readFileSync(join(root, 'a.bin'));
    a[100] ^= 0xff;
    writeFileSync(join(root, 'a.bin'), a);
    const seed = procs().swarmlab('seed', ['seed', torrentPath, join(dir, 'data'), '--bind', '127.0.0.1', '--json'], 60);
    await seed.waitFor(/fetching them from peers.*seeding what is good meanwhile/, 30_000);
    const check = JSON.parse(seed.stdout.split('\n').find((l) => l.includes('"type":"check"'))!);
    expect(check.missing).toEqual(['album/sub/b.txt']);
    expect(check.wrongSize).toEqual([{ file: 'album/sub/deeper/c.dat', size: 1000, expected: 900_123 }]);
    expect(check.incomplete).toEqual(expect.arrayContaining(['album/a.bin', 'album/sub/b.txt', 'album/sub/deeper/c.dat']));
    expect(check.good).toBeLessThan(check.pieces);
  }, 60_000);
});

describe('swarmlab download --trace', () => {
  it('writes the simulator trace format; every step pair is an edge of the flowchart', async () => {
    const dir = work('trace');
    const root = multiPayload(join(dir, 'seed'), 'album');
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(root, torrentPath, { pieceLength: 65536 });
    const port = await freePort();
    const seed = procs().swarmlab('seed', ['seed', torrentPath, join(dir, 'seed'), '--bind', '127.0.0.1', '--port', String(port)], 60);
    await seed.waitFor(/seeding album on port/, 30_000);
    const trace = join(dir, 'dl.trace');
    const dl = procs().swarmlab('dl', ['download', torrentPath, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--peer', `127.0.0.1:${port}`, '--trace', trace, '--json'], 60);
    expect(await dl.exit(60_000), dl.stderr).toBe(0);
    expect(compareTrees(root, join(dir, 'out', 'album'))).toEqual([]);
    const [header, ...lines] = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(header).toMatchObject({ format: 'swarmlab-trace', version: 1, torrent: { name: 'album', infoHash: parseTorrent(readFileSync(torrentPath)).infoHashHex } });
    expect(summaryOf(dl)?.traceHash).toMatch(/^[0-9a-f]{64}$/);
    const last = new Map<string, string>();
    const bad: string[] = [];
    for (const e of lines) {
      if (e.kind !== 'step') continue;
      const key = `${e.peer}|${e.remote}`;
      const prev = last.get(key);
      if (prev && !isControlEdge(prev, e.node)) bad.push(`${prev}->${e.node}`);
      if (e.node === 'cleanup') last.delete(key);
      else last.set(key, e.node);
    }
    expect(bad).toEqual([]);
    expect(lines.filter((e) => e.kind === 'verified').length).toBe(header.torrent.pieces);
    expect(lines.some((e) => e.node === 'haveAll')).toBe(true); // the seed spoke BEP 6
  }, 90_000);
});

const noMktorrent = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v mktorrent'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'not installed: mktorrent';
  }
})();

describe.skipIf(!!noMktorrent)(`swarmlab create${noMktorrent ? ` (skipped: ${noMktorrent})` : ''}`, () => {
  it('gives the same info-hash as mktorrent for a file and for a folder', () => {
    const dir = work('create');
    const file = singlePayload(dir, 'one.bin', 300_000);
    const root = multiPayload(dir, 'album');
    for (const [path, name] of [[file, 'one'], [root, 'album']]) {
      const ours = createTorrentFile(path, join(dir, `${name}-ours.torrent`), { pieceLength: 32768, trackers: ['http://127.0.0.1:1/announce'] });
      execFileSync('mktorrent', ['-l', '15', '-a', 'http://127.0.0.1:1/announce', '-o', join(dir, `${name}-mk.torrent`), path], { stdio: 'ignore', timeout: 30_000 });
      expect(ours, name).toBe(parseTorrent(readFileSync(join(dir, `${name}-mk.torrent`))).infoHashHex);
    }
  });
});
