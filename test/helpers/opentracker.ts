// opentracker on 127.0.0.1 for the live tests: started with a whitelist, waited for until it
// accepts the first torrent, and scraped for seeders.

import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { percentEncode } from '../../live/http-tracker.ts';
import { tempDir } from './payloads.ts';
import { freePort, type Procs, sleep } from './processes.ts';

export interface Tracker {
  port: number;
  http: string;
  udp: string;
  /** Seeders of an info-hash, from a scrape. */
  seeders(infoHashHex: string): Promise<number>;
  waitForSeeders(infoHashHex: string, n: number, ms: number): Promise<void>;
}

export async function startTracker(procs: Procs, hashes: string[], seconds: number, port?: number): Promise<Tracker> {
  const dir = tempDir('tracker');
  procs.dirs.push(dir);
  // Debian's opentracker chroots into -d, drops to user nobody, then reads the whitelist from
  // inside the chroot: the folder and the file must be readable by others.
  writeFileSync(join(dir, 'whitelist'), hashes.join('\n') + '\n', { mode: 0o644 });
  chmodSync(dir, 0o755);
  port ??= await freePort();
  const p = procs.spawn('opentracker', 'opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-w', 'whitelist', '-d', dir], { seconds, cwd: dir });
  const t: Tracker = {
    port,
    http: `http://127.0.0.1:${port}/announce`,
    udp: `udp://127.0.0.1:${port}/announce`,
    seeders: async (hash) => {
      const res = await fetch(`http://127.0.0.1:${port}/scrape?info_hash=${percentEncode(Buffer.from(hash, 'hex'))}`);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      const m = /8:completei(\d+)e/.exec(body);
      return m ? Number(m[1]) : 0;
    },
    waitForSeeders: async (hash, n, ms) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if ((await t.seeders(hash).catch(() => 0)) >= n) return;
        await sleep(200);
      }
      throw new Error(`tracker: fewer than ${n} seeders of ${hash} after ${ms} ms`);
    },
  };
  // Up, and its whitelist loaded (it is read a moment after start): an announce for the first
  // hash is no longer refused. (A refused first announce makes some clients wait minutes.) The
  // probe's peer leaves again at once.
  const probe = `${t.http}?info_hash=${percentEncode(Buffer.from(hashes[0], 'hex'))}&peer_id=-PROBE-0000000000000&port=1&uploaded=0&downloaded=0&left=1&compact=1`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const body = await (await fetch(probe)).text();
      if (!body.includes('failure reason')) {
        await fetch(`${probe}&event=stopped`);
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || p.code !== undefined) throw new Error(`opentracker did not start or refused ${hashes[0]}: ${p.stderr}`);
    await sleep(100);
  }
  return t;
}
