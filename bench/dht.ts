// `npm run bench -- dht`: a simulated DHT of 10,000 engine nodes (sim/dht-swarm.ts). The nodes
// join one every 2 ms of virtual time, each bootstrapping through node 0 and an earlier node;
// then 100 info-hashes are announced and looked up three times: on a clean network, under 20 %
// datagram loss, and after a fifth of the nodes have left without a word (churn); the 100 lookups
// of a phase run at once, from random nodes. Prints wall
// and CPU time, hops, messages and success per lookup. Target: bootstrap and the first 100
// lookups within 60 s of wall time. `npm run bench -- dht --nodes N --seed S` for other sizes.

import { idKey, randomId, type NodeId } from '../engine/dht/node-id.ts';
import { DhtSwarm } from '../sim/dht-swarm.ts';

interface Phase {
  phase: string;
  lookups: number;
  success: string;
  'k closest exact': string;
  'hops (mean)': string;
  'queries/lookup': string;
  'datagrams/lookup': string;
  wall: string;
  cpu: string;
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

function timed<T>(fn: () => T): { value: T; wall: number; cpu: number } {
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const value = fn();
  const cpu = process.cpuUsage(cpu0);
  return { value, wall: performance.now() - wall0, cpu: (cpu.user + cpu.system) / 1000 };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function runDhtBench(): void {
  const nodes = Number(option('nodes', '10000'));
  const seed = option('seed', '1');
  const swarm = new DhtSwarm({ seed });
  const grow = timed(() => swarm.grow(nodes, 2));
  const tables = swarm.nodes.map((n) => n.node.table.size);
  console.log(
    JSON.stringify({
      bench: 'dht bootstrap',
      nodes,
      seed,
      wall: seconds(grow.wall),
      cpu: seconds(grow.cpu),
      'virtual time': seconds(swarm.scheduler.now()),
      datagrams: swarm.net.stats.sent,
      'datagrams/node': +(swarm.net.stats.sent / nodes).toFixed(1),
      'routing table (mean contacts)': +(tables.reduce((a, b) => a + b, 0) / nodes).toFixed(1),
    }),
  );

  // 100 info-hashes, each announced by a random node.
  const hashes: { infoHash: NodeId; port: number }[] = [];
  const announce = timed(() => {
    for (let i = 0; i < 100; i++) hashes.push({ infoHash: randomId(swarm.random), port: 10_000 + i });
    swarm.lookups(hashes.map(({ infoHash, port }) => ({ from: swarm.random.pick(swarm.nodes), target: infoHash, kind: 'get_peers', announcePort: port })));
  });
  console.log(JSON.stringify({ bench: 'dht announce', announces: 100, wall: seconds(announce.wall), cpu: seconds(announce.cpu) }));

  let lastWall = 0;
  const phase = (name: string): Phase => {
    let found = 0, exact = 0, hops = 0, queries = 0, done = 0;
    const sent0 = swarm.net.stats.sent;
    const live = swarm.live();
    const t = timed(() => {
      const results = swarm.lookups(hashes.map(({ infoHash }) => ({ from: swarm.random.pick(live), target: infoHash, kind: 'get_peers' })));
      results.forEach((r, i) => {
        if ('error' in r) return;
        const { infoHash, port } = hashes[i];
        done++;
        if (r.peers.some((p) => p.port === port)) found++;
        const truth = swarm.closestTo(infoHash, 8).map((n) => idKey(n.node.id)).join();
        if (r.closest.map((c) => idKey(c.info.id)).join() === truth) exact++;
        hops += r.hops;
        queries += r.queries;
      });
    });
    const n = hashes.length;
    lastWall = t.wall;
    return {
      phase: name,
      lookups: n,
      success: `${((100 * found) / n).toFixed(0)} %`,
      'k closest exact': `${((100 * exact) / n).toFixed(0)} %`,
      'hops (mean)': (hops / Math.max(1, done)).toFixed(2),
      'queries/lookup': (queries / Math.max(1, done)).toFixed(1),
      'datagrams/lookup': ((swarm.net.stats.sent - sent0) / n).toFixed(1),
      wall: seconds(t.wall),
      cpu: seconds(t.cpu),
    };
  };

  const rows: Phase[] = [phase('clean')];
  const cleanWall = lastWall;
  console.log(`bootstrap + 100 lookups: ${seconds(grow.wall + cleanWall)} wall (target ≤ 60 s)`);
  swarm.net.loss = 0.2;
  rows.push(phase('20 % loss'));
  swarm.net.loss = 0;
  for (const n of swarm.random.sample(swarm.nodes, Math.floor(nodes / 5))) swarm.kill(n);
  rows.push(phase('churn: 20 % left'));
  console.table(rows);
}
