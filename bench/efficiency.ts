// `npm run bench -- efficiency [--n 10,100,1000] [--size MiB]`: how close the engine's swarms come
// to the fastest possible distribution. For a seed of upload u_s and N leechers of upload u and
// download d, no schedule delivers a file of F bytes to all before
//   T_min = max(F/u_s, N·F/(u_s + N·u), F/d)          (Kumar and Ross, 2006).
// Homogeneous flash crowds (every peer joins at t = 0), u_s = u and u_s = 4u, latency fixed and
// jittered. Prints T_last/T_min, T_mean/T_min, and the swarm's uplink utilisation (bytes uploaded ÷
// the upload capacity of every peer) over time: in the middle of the run (between 10 % and 90 % of
// T_last), and per tenth of the run.
//
// The bandwidth model matches the formula's assumptions in one respect and differs in one: each host
// has one upload and one download cap shared by all its connections (sim/network.ts), as the
// formula's u and d are per peer; but the formula counts payload only, while the simulator's links
// carry every wire byte (headers, HAVEs, REQUESTs), so a perfect engine still sits a few per cent
// above T_min. Each case runs in a fresh process so its memory is its own.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KiB, MiB } from '../sim/network.ts';
import { minDistributionTime } from '../sim/experiment/t-min.ts';
import { Swarm, swarmOf } from '../sim/swarm.ts';

const U = 512 * KiB;
const D = 2 * MiB;
const SAMPLE_MS = 500;

interface Case {
  n: number;
  /** The seed's upload as a multiple of u. */
  seedFactor: number;
  latency: [number, number];
  sizeMiB: number;
}

interface Row {
  N: number;
  'u_s/u': number;
  latency: string;
  'T_min s': number;
  'T_last/T_min': number;
  'T_mean/T_min': number;
  'util 10–90 %': string;
  'util by tenth': string;
  complete: string;
  wall: string;
}

function tMin(c: Case): number {
  const leechers = new Array<number>(c.n);
  return minDistributionTime({ size: c.sizeMiB * MiB, seedUpload: c.seedFactor * U, leecherUploads: leechers.fill(U), leecherDownloads: [...leechers].fill(D) });
}

function runCase(c: Case): Row {
  const started = performance.now();
  const options = swarmOf('1', 1, c.n, {
    size: c.sizeMiB * MiB,
    latency: c.latency,
    traceLevel: 'peers',
    groups: [
      { prefix: 'S', count: 1, role: 'seed', upload: c.seedFactor * U, download: D },
      { prefix: 'L', count: c.n, role: 'leecher', upload: U, download: D },
    ],
  });
  const swarm = new Swarm(options);
  const capacityPerMs = (c.seedFactor * U + c.n * U) / 1000;
  // Bytes uploaded by the whole swarm at each sample; the samples are events of their own, which
  // touch no peer, so the run is the same as without them.
  const uploaded: number[] = [];
  const sample = () => {
    uploaded.push(swarm.peers.reduce((sum, p) => sum + (p.client?.uploaded ?? 0), 0));
    if (!swarm.allLeechersDone()) swarm.scheduler.setTimer(SAMPLE_MS, sample, 'bench');
  };
  swarm.scheduler.at(0, sample, 'bench');
  const r = swarm.run();
  const leechers = r.peers.filter((p) => p.role === 'leecher');
  const done = leechers.filter((p) => p.completedAt !== undefined);
  const times = done.map((p) => p.completedAt! - p.joinedAt);
  const tLast = Math.max(...times);
  const tMean = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
  const min = tMin(c);
  // Utilisation per sample interval; the last sample may be short, so it is left out.
  const util = uploaded.slice(1).map((u, i) => (u - uploaded[i]) / (capacityPerMs * SAMPLE_MS));
  const share = (from: number, to: number) => {
    const slice = util.slice(Math.floor(from * util.length), Math.max(Math.floor(from * util.length) + 1, Math.floor(to * util.length)));
    return slice.reduce((a, b) => a + b, 0) / Math.max(1, slice.length);
  };
  const pct = (x: number) => `${Math.round(x * 100)}`;
  return {
    N: c.n,
    'u_s/u': c.seedFactor,
    latency: c.latency[0] === c.latency[1] ? `${c.latency[0]} ms` : `${c.latency[0]}–${c.latency[1]} ms`,
    'T_min s': Math.round(min / 100) / 10,
    'T_last/T_min': Math.round((tLast / min) * 100) / 100,
    'T_mean/T_min': Math.round((tMean / min) * 100) / 100,
    'util 10–90 %': `${pct(share(0.1, 0.9))} %`,
    'util by tenth': Array.from({ length: 10 }, (_, i) => pct(share(i / 10, (i + 1) / 10))).join(' '),
    complete: `${done.length}/${leechers.length}`,
    wall: `${((performance.now() - started) / 1000).toFixed(1)} s`,
  };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const one = flag('--case');
if (one) {
  console.log(JSON.stringify(runCase(JSON.parse(one) as Case)));
} else {
  const ns = (flag('--n') ?? '10,100,1000').split(',').map(Number);
  const sizeMiB = Number(flag('--size') ?? 16);
  const cases: Case[] = [];
  for (const n of ns)
    for (const seedFactor of [1, 4])
      for (const latency of [
        [30, 30],
        [10, 150],
      ] as [number, number][])
        cases.push({ n, seedFactor, latency, sizeMiB });
  const rows: Row[] = [];
  for (const c of cases) {
    const out = spawnSync(process.execPath, [...process.execArgv, '--max-semi-space-size=64', fileURLToPath(import.meta.url), '--case', JSON.stringify(c)], {
      encoding: 'utf8',
      maxBuffer: 64 * MiB,
    });
    if (out.status !== 0) throw new Error(`bench efficiency ${JSON.stringify(c)} failed:\n${out.stderr}`);
    const row = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Row;
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.table(rows);
  console.log('Target (issue 13): T_last/T_min ≤ 1.25 for every N; utilisation ≥ 90 % between the first and the last 10 % of the run.');
}
