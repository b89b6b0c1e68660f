// Interop with aria2 on 127.0.0.1: swarmlab downloads a single-file and a multi-file torrent from
// aria2 seeds through opentracker and by direct --peer; aria2 (which finds peers only through a
// tracker) downloads from swarmlab as the seed.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aria2Args } from './helpers/clients.ts';
import { missing } from './helpers/installed.ts';
import { type Case, downloadAll, expectDownloaded, expectDownloadsThroughTracker, makeCases, seedEach } from './helpers/interop-cases.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { startTracker } from './helpers/opentracker.ts';
import { compareTrees, copyTree } from './helpers/payloads.ts';
import { freePort } from './helpers/processes.ts';

const skip = missing('aria2', 'opentracker');
if (skip) console.warn(`live-aria2: skipped — ${skip}`);

describe.skipIf(!!skip)(`swarmlab with aria2${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { procs, work } = useLiveWorkspace();

  /** One aria2 seed per torrent, each from a copy (aria2 writes BEP 47 padding files into what it seeds). */
  function aria2Seeds(dir: string, cases: Case[]): Promise<Map<Case, number>> {
    return seedEach(cases, (c, port) => {
      const seedDir = join(dir, `seed-${c.kind}`);
      copyTree(c.payloadDir, seedDir);
      return procs().spawn(`aria2-seed-${c.kind}`, 'aria2c', aria2Args({ port, dir: seedDir, torrent: c.torrent, seed: true }), { seconds: 120 }).waitFor(/SEED\(/, 30_000);
    });
  }

  it('downloads a single-file and a multi-file torrent from aria2 seeds found through opentracker', async () => {
    const dir = work('aria2-tracker');
    await expectDownloadsThroughTracker(procs(), dir, { scheme: 'http', trackerSeconds: 120, seed: (cases) => aria2Seeds(dir, cases) });
  }, 120_000);

  it('downloads a single-file and a multi-file torrent from aria2 seeds by direct --peer', async () => {
    const dir = work('aria2-direct');
    const cases = makeCases(dir);
    const ports = await aria2Seeds(dir, cases);
    const dls = await downloadAll(procs(), cases, dir, (c) => ['--peer', `127.0.0.1:${ports.get(c)}`]);
    expectDownloaded(dls, cases, dir);
  }, 120_000);

  it('aria2 downloads a multi-file torrent from swarmlab as the seed, found through opentracker', async () => {
    const dir = work('aria2-leech');
    const trackerPort = await freePort();
    const [, multi] = makeCases(dir, [`http://127.0.0.1:${trackerPort}/announce`]);
    const tracker = await startTracker(procs(), [multi.hash], 120, trackerPort);
    const seed = procs().swarmlab('swarmlab-seed', ['seed', multi.torrent, multi.payloadDir, '--bind', '127.0.0.1'], 120);
    await seed.waitFor(/seeding album on port/, 30_000);
    await tracker.waitForSeeders(multi.hash, 1, 30_000);
    const leech = procs().spawn('aria2-leech', 'aria2c', aria2Args({ port: await freePort(), dir: join(dir, 'out'), torrent: multi.torrent }), { seconds: 90 });
    expect(await leech.exit(90_000), leech.stdout.slice(-3000)).toBe(0);
    expect(compareTrees(multi.source, join(dir, 'out', 'album'))).toEqual([]);
  }, 120_000);
});
