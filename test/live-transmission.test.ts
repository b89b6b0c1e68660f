// Interop with Transmission 3 (transmission-daemon) on 127.0.0.1. Transmission never dials peers
// on 127.x addresses but accepts them: swarmlab downloads a single-file and a multi-file torrent
// from a Transmission seed through opentracker and by direct --peer, and Transmission downloads
// from swarmlab when swarmlab dials it. Transmission unchokes only at its 10 s rechoke, hence the
// longer bounds.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTransmission, type Transmission } from './helpers/clients.ts';
import { missing } from './helpers/installed.ts';
import { type Case, downloadAll, expectDownloaded, expectDownloadsThroughTracker, makeCases } from './helpers/interop-cases.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees } from './helpers/payloads.ts';

const skip = missing('transmission', 'opentracker');
if (skip) console.warn(`live-transmission: skipped — ${skip}`);

describe.skipIf(!!skip)(`swarmlab with Transmission${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { procs, work } = useLiveWorkspace();

  /** One daemon seeding both torrents (ids 1 and 2), each from its payload folder, checked. */
  async function transmissionSeed(dir: string, cases: Case[]): Promise<Transmission> {
    const tr = await startTransmission(procs(), 'transmission-seed', join(dir, 'tr-downloads'), 150);
    for (const c of cases) tr.remote('-a', c.torrent, '-w', c.payloadDir);
    for (const [i] of cases.entries()) await tr.waitForPercent(100, 30_000, i + 1);
    return tr;
  }

  it('downloads a single-file and a multi-file torrent from a Transmission seed found through opentracker', async () => {
    const dir = work('tr-tracker');
    await expectDownloadsThroughTracker(procs(), dir, { scheme: 'http', trackerSeconds: 150, downloadSeconds: 120, seed: (cases) => transmissionSeed(dir, cases) });
  }, 150_000);

  it('downloads a single-file and a multi-file torrent from a Transmission seed by direct --peer', async () => {
    const dir = work('tr-direct');
    const cases = makeCases(dir);
    const tr = await transmissionSeed(dir, cases);
    const dls = await downloadAll(procs(), cases, dir, () => ['--peer', `127.0.0.1:${tr.peerPort}`], 120);
    expectDownloaded(dls, cases, dir);
  }, 150_000);

  it('Transmission downloads a multi-file torrent from swarmlab, which dials it', async () => {
    const dir = work('tr-leech');
    const [, multi] = makeCases(dir);
    const tr = await startTransmission(procs(), 'transmission-leech', join(dir, 'out'), 150);
    tr.remote('-a', multi.torrent, '-w', join(dir, 'out'));
    procs().swarmlab('swarmlab-seed', ['seed', multi.torrent, multi.payloadDir, '--bind', '127.0.0.1', '--peer', `127.0.0.1:${tr.peerPort}`], 150);
    await tr.waitForPercent(100, 120_000);
    // Transmission creates no 0-byte files.
    expect(compareTrees(multi.source, join(dir, 'out', 'album'), { allowMissingEmpty: true })).toEqual([]);
  }, 150_000);
});
