// `npm run bench`: the default swarm and a 200-peer swarm, each in a fresh process so its peak
// memory is its own. Prints wall time, simulated time, events per second and peak RSS.
// `npm run bench -- flash1000` runs the 1,000-peer flash crowd (16 MiB) as well, with a
// peer-level trace; `flash1000steps` runs it with every step traced. A case named `<case>+wire`
// runs it with the wire checker on every connection (sim/wire-checks.ts), as scenario runs do;
// `default+wire` and `peers200+wire` run by default, to show what the checker costs.
// `flash300`, `flash300fixed` (every host 30 ms away: the handshakes of the whole crowd land at
// once) and `flash1000` also print when the last leecher got its first piece, how many had none
// at 20 s, and when the last completed (issue 11: a flash crowd must not starve, at any size).
// `npm run bench -- scale` runs flash crowds of 100, 1,000, 3,000 and 10,000 peers (16 MiB, one
// seed, peer-level traces) and says whether issue 13's targets are met: 1,000 peers within 30 s and
// 2 GiB, 10,000 within 10 min and 12 GiB, events/s at 3,000 at least 80 % of that at 100
// (`--upto N`: only the crowds of at most N peers).
// `--built` (with any of these) runs the simulator compiled in dist/, as an installed package does
// (it builds first); without it, the sources through tsx.
// `npm run bench -- efficiency` compares flash crowds with the fastest possible (bench/efficiency.ts).
// `npm run bench -- dht` runs the DHT bench instead (bench/dht.ts).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HEAP_GROWING_PERCENT } from '../cli/heap-growth.ts';
import { MiB } from '../sim/network.ts';
import { Swarm, swarmOf, type SwarmOptions, type SwarmResult } from '../sim/swarm.ts';
import { SwarmWireChecks } from '../sim/wire-checks.ts';

const CASES: Record<string, () => SwarmOptions> = {
  default: () => swarmOf('1', 1, 20),
  peers200: () => swarmOf('1', 1, 199),
  flash300: () => swarmOf('1', 1, 300, { size: 16 * MiB, traceLevel: 'peers' }),
  flash300fixed: () => swarmOf('1', 1, 300, { size: 16 * MiB, traceLevel: 'peers', latency: [30, 30] }),
  flash1000: () => swarmOf('1', 1, 999, { size: 16 * MiB, traceLevel: 'peers' }),
  flash1000steps: () => swarmOf('1', 1, 999, { size: 16 * MiB }),
  // `npm run bench -- scale` (issue 13): flash crowds of 100, 1,000, 3,000 and 10,000 peers.
  flash100: () => swarmOf('1', 1, 99, { size: 16 * MiB, traceLevel: 'peers' }),
  flash3000: () => swarmOf('1', 1, 2999, { size: 16 * MiB, traceLevel: 'peers' }),
  flash10000: () => swarmOf('1', 1, 9999, { size: 16 * MiB, traceLevel: 'peers' }),
};

/** Issue 13's scale targets, checked against the rows of `npm run bench -- scale`. */
const SCALE_TARGETS = [
  { case: 'flash1000', wallS: 30, rssMiB: 2048 },
  { case: 'flash10000', wallS: 600, rssMiB: 12 * 1024 },
];

const WIRE = '+wire';

/**
 * The simulator's classes: from the sources (through tsx), or with `--built` from dist/ as an
 * installed package runs them (compiled by tsc; `npm run build` first, which `--built` does).
 */
async function simulator(built: boolean): Promise<{ Swarm: typeof Swarm; SwarmWireChecks: typeof SwarmWireChecks }> {
  return built ? await import('./built-simulator.mjs') : { Swarm, SwarmWireChecks };
}

async function runOne(name: string, built: boolean): Promise<void> {
  const { Swarm, SwarmWireChecks } = await simulator(built);
  const wire = name.endsWith(WIRE);
  const options = CASES[wire ? name.slice(0, -WIRE.length) : name]();
  // First piece per leecher, from the trace's `verified` events (peer-level traces only: reading
  // a full step trace would cost more than the run).
  const firstPiece = new Map<string, number>();
  const crowd = options.traceLevel === 'peers';
  if (crowd) options.traceOut = (text) => {
    for (const line of text.split('\n')) {
      if (!line.includes('"verified"')) continue;
      const e = JSON.parse(line) as { t: number; peer: string };
      if (!firstPiece.has(e.peer)) firstPiece.set(e.peer, e.t);
    }
  };
  const started = performance.now();
  const swarm = new Swarm(options);
  const checks = wire ? new SwarmWireChecks(swarm) : undefined;
  const r = swarm.run();
  const wall = performance.now() - started;
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  const row = {
    case: name,
    peers: r.peers.length,
    size: `${options.size / MiB} MiB`,
    trace: options.traceLevel ?? 'steps',
    code: built ? 'dist' : 'tsx',
    complete: r.complete,
    wall: `${(wall / 1000).toFixed(2)} s`,
    simulated: `${(r.simTime / 1000).toFixed(1)} s`,
    events: r.events,
    'events/s': Math.round(r.events / (wall / 1000)),
    'trace events/s': Math.round(r.traceEvents / (wall / 1000)),
    'peak RSS': `${peakMiB.toFixed(0)} MiB`,
    ...(checks ? { violations: checks.log.count } : {}),
    ...(crowd ? crowdFigures(r, firstPiece) : {}),
  };
  console.log(JSON.stringify(row));
}

/** When the last leecher got its first piece, how many had none at 20 s, when the last completed. */
function crowdFigures(r: SwarmResult, firstPiece: ReadonlyMap<string, number>): Record<string, string | number> {
  const leechers = r.peers.filter((p) => p.role === 'leecher');
  const first = leechers.map((p) => firstPiece.get(p.label) ?? Infinity);
  const last = Math.max(...leechers.map((p) => p.completedAt ?? Infinity));
  return {
    'last first piece': `${(Math.max(...first) / 1000).toFixed(1)} s`,
    'no piece at 20 s': first.filter((t) => t > 20_000).length,
    'last complete': `${(last / 1000).toFixed(1)} s`,
  };
}

const arg = process.argv[2];
const BUILT = process.argv.includes('--built');
if (BUILT && !arg?.startsWith('--case=')) {
  console.log('npm run build …');
  if (spawnSync('npm', ['run', 'build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' }).status !== 0) process.exit(1);
}
if (arg === 'efficiency') {
  // `npm run bench -- efficiency`: its own bench (bench/efficiency.ts) with its own flags.
  await import('./efficiency.ts');
} else if (arg === 'dht') {
  (await import('./dht.ts')).runDhtBench();
} else if (arg === 'scale') {
  // Each case in a fresh process, smallest first; the 10,000-peer one takes many minutes.
  // `--upto N` stops after the crowd of N peers (a quicker look).
  const at = process.argv.indexOf('--upto');
  const upto = at >= 0 ? Number(process.argv[at + 1]) : Infinity;
  const sizes = [100, 1_000, 3_000, 10_000].filter((n) => n <= upto);
  const rows = sizes.map((n) => `flash${n}`).map((name) => {
    const row = spawnCase(name);
    console.log(JSON.stringify(row));
    return row;
  });
  console.table(rows);
  const byCase = new Map(rows.map((r) => [r.case as string, r]));
  for (const t of SCALE_TARGETS) {
    const r = byCase.get(t.case);
    if (!r) continue;
    const wall = parseFloat(String(r.wall));
    const rss = parseFloat(String(r['peak RSS']));
    console.log(`${t.case}: ${wall.toFixed(1)} s (target ≤ ${t.wallS} s), ${rss} MiB (target ≤ ${t.rssMiB} MiB): ${wall <= t.wallS && rss <= t.rssMiB ? 'met' : 'missed'}`);
  }
  const [small, large] = [byCase.get('flash100'), byCase.get('flash3000')];
  if (small && large) {
    const ratio = Number(large['events/s']) / Number(small['events/s']);
    console.log(`events/s at 3,000 peers ÷ at 100: ${(ratio * 100).toFixed(0)} % (target ≥ 80 %): ${ratio >= 0.8 ? 'met' : 'missed'}`);
  }
} else if (arg?.startsWith('--case=')) {
  await runOne(arg.slice('--case='.length), BUILT);
} else {
  const names = ['default', 'default+wire', 'peers200', 'peers200+wire', ...process.argv.slice(2).filter((n) => n.replace(WIRE, '') in CASES)];
  const rows = names.map(spawnCase);
  console.table(rows);
}

/** Runs one case in a fresh process (its peak memory its own) and returns its row. */
function spawnCase(name: string): Record<string, string | number> {
  // A larger young generation: the simulator allocates many short-lived objects (messages,
  // events), and with V8's default semi-space most of its time went to scavenges.
  // And the CLI's bound on heap growth between full collections (cli/heap-growth.ts).
  const flags = [...process.execArgv, '--max-semi-space-size=64', `--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
  const out = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), `--case=${name}`, ...(BUILT ? ['--built'] : [])], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (out.status !== 0) throw new Error(`bench ${name} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Record<string, string | number>;
}
