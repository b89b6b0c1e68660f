// `npm run bench:tcp`: one scenario on both transports — wall time, and on TCP whether every
// leecher completed — and the largest swarm this machine runs on TCP: the default scenario's
// shape grown to N leechers (BENCH_TCP_PEERS, default: as many as `tcpCapacity()` allows).
// Figures, never assertions. `npm run bench:tcp -- scenarios/x.yaml` benches another file.

import { loadScenario, runResolved } from '../sim/scenario/load.ts';
import type { Scenario } from '../sim/scenario/types.ts';
import { tcpCapacity } from '../sim/tcp/addresses.ts';
import { runScenarioOnTcp } from '../sim/tcp/run.ts';

const file = process.argv[2] ?? 'scenarios/default.yaml';
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(run: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

function summary(r: { ok: boolean; simTime: number; peers: { role: string; completedAt?: number }[] }): string {
  const leechers = r.peers.filter((p) => p.role === 'leecher');
  const done = leechers.filter((p) => p.completedAt !== undefined).length;
  return `${done}/${leechers.length} leechers complete, last at ${secs(r.simTime)} of run time, ${r.ok ? 'ok' : 'FAILED'}`;
}

const scenario = loadScenario(file, '1');
const memory = await timed(() => runResolved(scenario, '1'));
console.log(`${scenario.name} in memory: ${secs(memory.ms)} wall (${summary(memory.value)})`);
const tcp = await timed(() => runScenarioOnTcp(scenario, '1'));
console.log(`${scenario.name} on TCP:    ${secs(tcp.ms)} wall (${summary(tcp.value)})`);

const capacity = tcpCapacity();
const leechers = Number(process.env.BENCH_TCP_PEERS ?? capacity.peers - 1);
console.log(`TCP capacity here: ${capacity.peers} peers (${capacity.reason})`);
const big: Scenario = { ...scenario, name: `${scenario.name}-${leechers + 1}`, expect: { allComplete: true }, groups: [scenario.groups[0], { ...scenario.groups[1], count: leechers }] };
const large = await timed(() => runScenarioOnTcp(big, '1'));
console.log(`${big.name} on TCP: ${secs(large.ms)} wall (${summary(large.value)}${large.value.failures.length ? `; first failure: ${large.value.failures[0].message}` : ''})`);
