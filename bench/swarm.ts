// `npm run bench`: the default swarm and a 200-peer swarm, each in a fresh process so its peak
// memory is its own. Prints wall time, simulated time, events per second and peak RSS.
// `npm run bench -- flash1000` runs the 1,000-peer flash crowd (16 MiB) as well, with a
// peer-level trace; `flash1000steps` runs it with every step traced. A case named `<case>+wire`
// runs it with the wire checker on every connection (sim/wire-checks.ts), as scenario runs do;
// `default+wire` and `peers200+wire` run by default, to show what the checker costs.
// `npm run bench -- efficiency` compares flash crowds with the fastest possible (bench/efficiency.ts).
// `npm run bench -- dht` runs the DHT bench instead (bench/dht.ts).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MiB } from '../sim/network.ts';
import { Swarm, swarmOf, type SwarmOptions } from '../sim/swarm.ts';
import { SwarmWireChecks } from '../sim/wire-checks.ts';

const CASES: Record<string, () => SwarmOptions> = {
  default: () => swarmOf('1', 1, 20),
  peers200: () => swarmOf('1', 1, 199),
  flash1000: () => swarmOf('1', 1, 999, { size: 16 * MiB, traceLevel: 'peers' }),
  flash1000steps: () => swarmOf('1', 1, 999, { size: 16 * MiB }),
};

const WIRE = '+wire';

function runOne(name: string): void {
  const wire = name.endsWith(WIRE);
  const options = CASES[wire ? name.slice(0, -WIRE.length) : name]();
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
    complete: r.complete,
    wall: `${(wall / 1000).toFixed(2)} s`,
    simulated: `${(r.simTime / 1000).toFixed(1)} s`,
    events: r.events,
    'events/s': Math.round(r.events / (wall / 1000)),
    'trace events/s': Math.round(r.traceEvents / (wall / 1000)),
    'peak RSS': `${peakMiB.toFixed(0)} MiB`,
    ...(checks ? { violations: checks.log.count } : {}),
  };
  console.log(JSON.stringify(row));
}

const arg = process.argv[2];
if (arg === 'efficiency') {
  // `npm run bench -- efficiency`: its own bench (bench/efficiency.ts) with its own flags.
  await import('./efficiency.ts');
} else if (arg === 'dht') {
  (await import('./dht.ts')).runDhtBench();
} else if (arg?.startsWith('--case=')) {
  runOne(arg.slice('--case='.length));
} else {
  const names = ['default', 'default+wire', 'peers200', 'peers200+wire', ...process.argv.slice(2).filter((n) => n.replace(WIRE, '') in CASES)];
  const rows = names.map((name) => {
    // A larger young generation: the simulator allocates many short-lived objects (messages,
    // events), and with V8's default semi-space most of its time went to scavenges.
    const flags = [...process.execArgv, '--max-semi-space-size=64'];
    const out = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), `--case=${name}`], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`bench ${name} failed:\n${out.stderr}`);
    return JSON.parse(out.stdout.trim().split('\n').at(-1)!);
  });
  console.table(rows);
}
