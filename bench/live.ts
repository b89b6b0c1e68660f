// `npm run bench:live`: a 256 MiB single-file torrent (1 MiB pieces) seeded by libtorrent over
// loopback, downloaded in turn by swarmlab, aria2 and a libtorrent leecher (fresh folder and
// process each time, three runs each), all finding the seed through opentracker; and the
// machine's SHA1 rate in node:crypto as the ceiling. Prints each median in MB/s (10^6 bytes/s of
// payload over the downloader's wall time, process start to exit).

import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createTorrent } from '../engine/metainfo.ts';
import { aria2Args, libtorrent } from '../test/helpers/clients.ts';
import { missing } from '../test/helpers/installed.ts';
import { startTracker } from '../test/helpers/opentracker.ts';
import { removeDir, tempDir } from '../test/helpers/payloads.ts';
import { freePort, Procs } from '../test/helpers/processes.ts';
import { summaryOf } from '../test/helpers/swarmlab-cli.ts';

const SIZE = Number(process.env.BENCH_LIVE_MIB ?? 256) * 1024 * 1024;
const PIECE = 1024 * 1024;
const RUNS = Number(process.env.BENCH_LIVE_RUNS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

function sha1Rate(data: Uint8Array): number {
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    createHash('sha1').update(data).digest();
    rates.push(mbps(data.length, performance.now() - t));
  }
  return median(rates);
}

async function main(): Promise<void> {
  const absent = missing('libtorrent', 'aria2', 'opentracker');
  if (absent) {
    console.error(`bench:live needs the real clients — ${absent}`);
    process.exit(1);
  }
  const dir = tempDir('bench-live');
  const procs = new Procs();
  try {
    console.log(`bench:live — ${SIZE / 1048576} MiB, ${PIECE / 1048576} MiB pieces, ${RUNS} runs each, loopback`);
    const payload = new Uint8Array(SIZE);
    for (let at = 0; at < SIZE; at += 1 << 24) randomFillSync(payload, at, Math.min(1 << 24, SIZE - at));
    const sha1 = sha1Rate(payload);
    const expected = createHash('sha1').update(payload).digest('hex');
    const seedDir = join(dir, 'seed');
    removeDir(seedDir);
    mkdirSync(seedDir, { recursive: true });
    const out = openSync(join(seedDir, 'payload.bin'), 'w');
    writeSync(out, payload);
    closeSync(out);

    const trackerPort = await freePort();
    const { bytes, torrent } = createTorrent({ name: 'payload.bin', pieceLength: PIECE, files: payload, announce: [[`http://127.0.0.1:${trackerPort}/announce`]] });
    const torrentPath = join(dir, 'bench.torrent');
    writeFileSync(torrentPath, bytes);
    const tracker = await startTracker(procs, [torrent.infoHashHex], 3600, trackerPort);
    const seed = libtorrent(procs, 'lt-seed', 'seed', torrentPath, seedDir, await freePort(), [], 3600);
    await seed.waitFor(/listening \d+/, 60_000);
    await tracker.waitForSeeders(torrent.infoHashHex, 1, 60_000);

    const check = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex') === expected;
    const clients: { name: string; run: (out: string) => Promise<{ ms: number; own?: number }> }[] = [
      {
        name: 'swarmlab',
        run: async (o) => {
          const t = performance.now();
          const p = procs.swarmlab('swarmlab', ['download', torrentPath, '-o', o, '--bind', '127.0.0.1', '--json'], 600);
          const code = await p.exit(600_000);
          const ms = performance.now() - t;
          if (code !== 0) throw new Error(`swarmlab exited ${code}: ${p.stderr.slice(-2000)}`);
          const s = summaryOf(p);
          return { ms, own: s ? mbps(SIZE, Number(s.seconds) * 1000) : undefined };
        },
      },
      {
        name: 'aria2',
        run: async (o) => {
          const t = performance.now();
          const p = procs.spawn('aria2', 'aria2c', aria2Args({ port: await freePort(), dir: o, torrent: torrentPath }).map((a) => (a === '--check-integrity=true' ? '--check-integrity=false' : a)), { seconds: 600 });
          const code = await p.exit(600_000);
          if (code !== 0) throw new Error(`aria2 exited ${code}: ${p.stdout.slice(-2000)}`);
          return { ms: performance.now() - t };
        },
      },
      {
        name: 'libtorrent',
        run: async (o) => {
          const t = performance.now();
          const p = libtorrent(procs, 'lt-leech', 'leech', torrentPath, o, await freePort(), [], 600);
          const code = await p.exit(600_000);
          if (code !== 0) throw new Error(`libtorrent exited ${code}: ${p.stderr.slice(-2000)}`);
          const m = /done ([\d.]+)/.exec(p.stdout);
          return { ms: performance.now() - t, own: m ? mbps(SIZE, Number(m[1]) * 1000) : undefined };
        },
      },
    ];
    const results: { name: string; wall: number[]; own: number[] }[] = [];
    for (const c of clients) {
      const wall: number[] = [];
      const own: number[] = [];
      for (let i = 1; i <= RUNS; i++) {
        const o = join(dir, `${c.name}-${i}`);
        const r = await c.run(o);
        if (!check(join(o, 'payload.bin'))) throw new Error(`${c.name} run ${i}: the payload differs`);
        removeDir(o);
        wall.push(mbps(SIZE, r.ms));
        if (r.own !== undefined) own.push(r.own);
        console.log(`  ${c.name.padEnd(10)} run ${i}: ${(r.ms / 1000).toFixed(2)} s wall, ${mbps(SIZE, r.ms).toFixed(1)} MB/s${r.own ? ` (${r.own.toFixed(1)} MB/s by its own clock)` : ''}`);
      }
      results.push({ name: c.name, wall, own });
    }
    console.log('');
    console.log('median MB/s (payload bytes / wall time of the downloading process)');
    for (const r of results) console.log(`  ${r.name.padEnd(10)} ${median(r.wall).toFixed(1).padStart(7)}${r.own.length ? `   (own clock: ${median(r.own).toFixed(1)})` : ''}`);
    console.log(`  ${'SHA1 (node:crypto)'.padEnd(10)} ${sha1.toFixed(1).padStart(7)}   ceiling`);
  } finally {
    await procs.stopAll();
    removeDir(dir);
  }
}

await main();
