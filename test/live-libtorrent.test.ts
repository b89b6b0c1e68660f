// Interop with libtorrent-rasterbar (python3-libtorrent) on 127.0.0.1: swarmlab downloads a
// single-file and a multi-file torrent from libtorrent seeds through opentracker (UDP announces)
// and by direct --peer; libtorrent downloads from swarmlab; a magnet link is resolved over BEP 9
// from a libtorrent seed.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libtorrent } from './helpers/clients.ts';
import { missing } from './helpers/installed.ts';
import { type Case, downloadAll, expectDownloaded, expectDownloadsThroughTracker, makeCases, seedEach } from './helpers/interop-cases.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees } from './helpers/payloads.ts';
import { freePort } from './helpers/processes.ts';
import { summaryOf } from './helpers/swarmlab-cli.ts';

const skip = missing('libtorrent', 'opentracker');
if (skip) console.warn(`live-libtorrent: skipped — ${skip}`);

describe.skipIf(!!skip)(`swarmlab with libtorrent${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { procs, work } = useLiveWorkspace();

  function ltSeeds(cases: Case[]): Promise<Map<Case, number>> {
    return seedEach(cases, (c, port) => libtorrent(procs(), `lt-seed-${c.kind}`, 'seed', c.torrent, c.payloadDir, port, [], 120).waitFor(/listening \d+/, 20_000));
  }

  it('downloads a single-file and a multi-file torrent from libtorrent seeds found through opentracker (UDP)', async () => {
    await expectDownloadsThroughTracker(procs(), work('lt-tracker'), { scheme: 'udp', trackerSeconds: 120, seed: ltSeeds });
  }, 120_000);

  it('downloads a single-file and a multi-file torrent from libtorrent seeds by direct --peer', async () => {
    const dir = work('lt-direct');
    const cases = makeCases(dir);
    const ports = await ltSeeds(cases);
    const dls = await downloadAll(procs(), cases, dir, (c) => ['--peer', `127.0.0.1:${ports.get(c)}`]);
    expectDownloaded(dls, cases, dir);
  }, 120_000);

  it('libtorrent downloads a multi-file torrent from swarmlab as the seed', async () => {
    const dir = work('lt-leech');
    const [, multi] = makeCases(dir);
    const port = await freePort();
    const seed = procs().swarmlab('swarmlab-seed', ['seed', multi.torrent, multi.payloadDir, '--bind', '127.0.0.1', '--port', String(port)], 120);
    await seed.waitFor(/seeding album on port/, 30_000);
    const leech = libtorrent(procs(), 'lt-leech', 'leech', multi.torrent, join(dir, 'out'), await freePort(), [`127.0.0.1:${port}`], 90);
    expect(await leech.exit(90_000), leech.stderr.slice(-2000)).toBe(0);
    expect(leech.stdout).toMatch(/done/);
    expect(compareTrees(multi.source, join(dir, 'out', 'album'))).toEqual([]);
  }, 120_000);

  it('resolves a magnet link over BEP 9 from a libtorrent seed, then downloads it', async () => {
    const dir = work('lt-magnet');
    const [, multi] = makeCases(dir);
    const ports = await ltSeeds([multi]);
    const trace = join(dir, 'magnet.trace');
    const magnet = `magnet:?xt=urn:btih:${multi.hash}&dn=album`;
    const dl = procs().swarmlab('swarmlab', ['download', magnet, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--peer', `127.0.0.1:${ports.get(multi)}`, '--json', '--trace', trace], 90);
    expect(await dl.exit(90_000), dl.stderr + dl.stdout).toBe(0);
    expect(summaryOf(dl)).toMatchObject({ ok: true, complete: true, infoHash: multi.hash });
    expect(compareTrees(multi.source, join(dir, 'out', 'album'))).toEqual([]);
    // The info dictionary came over ut_metadata and passed its SHA1 check.
    const events = readFileSync(trace, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
    expect(events.some((e) => e.node === 'metadataCheck' && e.ok === true)).toBe(true);
  }, 120_000);
});
