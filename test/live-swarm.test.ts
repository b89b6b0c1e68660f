// A mixed swarm on 127.0.0.1: one libtorrent seed, and leechers of several clients (two swarmlabs,
// aria2, libtorrent) that find each other through opentracker. Every leecher completes with the
// exact bytes.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aria2Args, libtorrent } from './helpers/clients.ts';
import { missing } from './helpers/installed.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { startTracker } from './helpers/opentracker.ts';
import { compareTrees, singlePayload } from './helpers/payloads.ts';
import { freePort } from './helpers/processes.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

const skip = missing('libtorrent', 'aria2', 'opentracker');
if (skip) console.warn(`live-swarm: skipped — ${skip}`);

describe.skipIf(!!skip)(`a mixed swarm${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { procs, work } = useLiveWorkspace();

  it('one libtorrent seed; swarmlab, swarmlab, aria2 and libtorrent leechers all complete', async () => {
    const dir = work('swarm');
    const file = singlePayload(join(dir, 'seed'), 'payload.bin', 4 * 1024 * 1024 + 4321);
    const torrentPath = join(dir, 'x.torrent');
    const trackerPort = await freePort();
    const hash = createTorrentFile(file, torrentPath, { trackers: [`http://127.0.0.1:${trackerPort}/announce`], pieceLength: 64 * 1024 });
    const tracker = await startTracker(procs(), [hash], 150, trackerPort);
    const seed = libtorrent(procs(), 'lt-seed', 'seed', torrentPath, join(dir, 'seed'), await freePort(), [], 150);
    await seed.waitFor(/listening \d+/, 20_000);
    await tracker.waitForSeeders(hash, 1, 30_000);

    const sl = [1, 2].map((n) =>
      procs().swarmlab(`swarmlab-${n}`, ['download', torrentPath, '-o', join(dir, `sl${n}`), '--bind', '127.0.0.1', '--json'], 120),
    );
    const aria = procs().spawn('aria2', 'aria2c', aria2Args({ port: await freePort(), dir: join(dir, 'aria2'), torrent: torrentPath }), { seconds: 120 });
    const lt = libtorrent(procs(), 'lt-leech', 'leech', torrentPath, join(dir, 'lt'), await freePort(), [], 120);

    const codes = await Promise.all([...sl, aria, lt].map((p) => p.exit(125_000)));
    expect(codes, [...sl, aria, lt].map((p) => `${p.name}: ${p.stderr.slice(-800)}`).join('\n')).toEqual([0, 0, 0, 0]);
    for (const p of sl) expect(summaryOf(p)).toMatchObject({ ok: true, complete: true });
    for (const out of ['sl1', 'sl2', 'aria2', 'lt']) expect(compareTrees(file, join(dir, out, 'payload.bin')), out).toEqual([]);
  }, 150_000);
});
