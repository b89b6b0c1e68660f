// Interop with aria2 on 127.0.0.1: swarmlab downloads a single-file and a multi-file torrent from
// aria2 seeds through opentracker and by direct --peer; aria2 (which finds peers only through a
// tracker) downloads from swarmlab as the seed.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  aria2Args,
  type Case,
  compareTrees,
  copyTree,
  downloadAll,
  freePort,
  makeCases,
  missing,
  Procs,
  removeDir,
  startTracker,
  summaryOf,
  tempDir,
} from './helpers/live.ts';

const skip = missing('aria2', 'opentracker');
if (skip) console.warn(`live-aria2: skipped — ${skip}`);

describe.skipIf(!!skip)(`swarmlab with aria2${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let procs = new Procs();
  const dirs: string[] = [];
  const work = (tag: string) => {
    const d = tempDir(tag);
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    await procs.stopAll();
    procs = new Procs();
    for (const d of dirs.splice(0)) removeDir(d);
  });

  /** One aria2 seed per torrent, each from a copy (aria2 writes BEP 47 padding files into what it seeds). */
  async function aria2Seeds(dir: string, cases: Case[]): Promise<Map<Case, number>> {
    const ports = new Map<Case, number>();
    for (const c of cases) {
      const seedDir = join(dir, `seed-${c.kind}`);
      copyTree(c.payloadDir, seedDir);
      const port = await freePort();
      ports.set(c, port);
      const p = procs.spawn(`aria2-seed-${c.kind}`, 'aria2c', aria2Args({ port, dir: seedDir, torrent: c.torrent, seed: true }), { seconds: 120 });
      await p.waitFor(/SEED\(/, 30_000);
    }
    return ports;
  }

  it('downloads a single-file and a multi-file torrent from aria2 seeds found through opentracker', async () => {
    const dir = work('aria2-tracker');
    const trackerPort = await freePort();
    const cases = makeCases(dir, [`http://127.0.0.1:${trackerPort}/announce`]);
    const tracker = await startTracker(procs, cases.map((c) => c.hash), 120, trackerPort);
    await aria2Seeds(dir, cases);
    for (const c of cases) await tracker.waitForSeeders(c.hash, 1, 30_000);
    const dls = await downloadAll(procs, cases, (c) => join(dir, `out-${c.kind}`));
    for (const [i, c] of cases.entries()) {
      expect(dls[i].code, dls[i].stderr).toBe(0);
      expect(summaryOf(dls[i])).toMatchObject({ ok: true, complete: true, infoHash: c.hash });
      expect(compareTrees(c.source, join(dir, `out-${c.kind}`, c.name)), c.kind).toEqual([]);
    }
  }, 120_000);

  it('downloads a single-file and a multi-file torrent from aria2 seeds by direct --peer', async () => {
    const dir = work('aria2-direct');
    const cases = makeCases(dir);
    const ports = await aria2Seeds(dir, cases);
    const dls = await downloadAll(procs, cases, (c) => join(dir, `out-${c.kind}`), (c) => ['--peer', `127.0.0.1:${ports.get(c)}`]);
    for (const [i, c] of cases.entries()) {
      expect(dls[i].code, dls[i].stderr).toBe(0);
      expect(compareTrees(c.source, join(dir, `out-${c.kind}`, c.name)), c.kind).toEqual([]);
    }
  }, 120_000);

  it('aria2 downloads a multi-file torrent from swarmlab as the seed, found through opentracker', async () => {
    const dir = work('aria2-leech');
    const trackerPort = await freePort();
    const [, multi] = makeCases(dir, [`http://127.0.0.1:${trackerPort}/announce`]);
    const tracker = await startTracker(procs, [multi.hash], 120, trackerPort);
    const seed = procs.swarmlab('swarmlab-seed', ['seed', multi.torrent, multi.payloadDir, '--bind', '127.0.0.1'], 120);
    await seed.waitFor(/seeding album on port/, 30_000);
    await tracker.waitForSeeders(multi.hash, 1, 30_000);
    const leech = procs.spawn('aria2-leech', 'aria2c', aria2Args({ port: await freePort(), dir: join(dir, 'out'), torrent: multi.torrent }), { seconds: 90 });
    expect(await leech.exit(90_000), leech.stdout.slice(-3000)).toBe(0);
    expect(compareTrees(multi.source, join(dir, 'out', 'album'))).toEqual([]);
  }, 120_000);
});
