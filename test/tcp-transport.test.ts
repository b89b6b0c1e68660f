// The TCP transport (issue 10, part 1): the same scenario files on real loopback sockets, through
// the relay, with the loopback tracker, in real time. The default swarm and three fault scenarios
// pass on both transports with byte-identical payloads; a scenario that cannot run on TCP says so
// before it starts; a run leaves no socket, timer or listener behind.

import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { loadScenario, loadScenarioFile, parseScenarioText, runResolved } from '../sim/scenario/load.ts';
import { createHash } from 'node:crypto';
import { findFailures } from '../viz/failures.ts';
import { ReplayModel } from '../viz/model.ts';
import { SWARMLAB } from './helpers/processes.ts';
import { TransportError } from '../sim/scenario/transport.ts';
import { hostAddress, PRIVATE_PORT, PUBLIC_PORT, tcpCapacity, trackerAddress } from '../sim/tcp/addresses.ts';
import { runScenarioOnTcp, type TcpScenarioResult } from '../sim/tcp/run.ts';
import { memoryTrace } from '../engine/trace-writer.ts';

/** Runs a library scenario on TCP, with its trace kept in memory. */
async function onTcp(file: string, seed = '1') {
  const trace = memoryTrace();
  const scenario = loadScenario(file, seed);
  const result = await runScenarioOnTcp(scenario, seed, { traceOut: trace.out });
  return { result, lines: trace.lines };
}

function expectAllComplete(r: TcpScenarioResult | ReturnType<typeof runResolved>) {
  expect(r.failures, JSON.stringify(r.failures.slice(0, 5))).toEqual([]);
  expect(r.ok).toBe(true);
  for (const p of r.peers) if (p.behaviour === 'honest') expect(p.payloadMatches, `${p.label}'s payload`).toBe(true);
}

describe('the TCP transport', () => {
  it('runs the default scenario: every leecher completes with the payload, the trace says TCP and not replayable', { timeout: 120_000 }, async () => {
    const { result, lines } = await onTcp('scenarios/default.yaml');
    expectAllComplete(result);
    // Every byte crossed the relay's wire checker: swarmlab's peers broke no rule on real sockets either.
    expect(result.violations).toEqual([]);
    expect(result.transport).toBe('tcp');
    expect(result.replayable).toBe(false);
    expect(result.traceHash).toMatch(/^[0-9a-f]{64}$/);
    const header = JSON.parse(lines[0]);
    expect(header.settings.transport).toBe('tcp');
    expect(header.settings.replayable).toBe(false);
    // The same trace format: peers' steps, connections and completions, on real time.
    const kinds = new Set(lines.slice(1).map((l) => (JSON.parse(l) as { kind: string }).kind));
    for (const k of ['join', 'connect', 'step', 'verified', 'complete']) expect(kinds, k).toContain(k);
    const completes = lines.slice(1).map((l) => JSON.parse(l) as { kind: string; peer: string }).filter((e) => e.kind === 'complete');
    expect(new Set(completes.map((e) => e.peer)).size).toBe(20);
  });

  for (const name of ['partition-heals', 'flaky-links', 'corrupt-peer', 'crash-restart', 'tracker-outage']) {
    it(`runs ${name} on both transports with the same expectations met`, { timeout: 240_000 }, async () => {
      const memory = runResolved(loadScenario(`scenarios/${name}.yaml`, '1'), '1');
      expectAllComplete(memory);
      const { result, lines } = await onTcp(`scenarios/${name}.yaml`);
      expectAllComplete(result);
      // The checker watched every connection on both: only the adversary broke wire rules.
      for (const r of [memory, result]) expect(r.violations.filter((v) => v.peer !== 'X0'), r === memory ? 'memory' : 'tcp').toEqual([]);
      if (name === 'corrupt-peer') for (const r of [memory, result]) expect(r.violations.map((v) => v.rule)).toContain('bad-data');
      const events = lines.slice(1).map((l) => JSON.parse(l) as { kind: string; fault?: string });
      // The faults were injected on TCP too, at their scheduled times; the corrupter was banned.
      const faults = events.filter((e) => e.kind === 'fault').map((e) => e.fault);
      if (name === 'partition-heals') expect(faults).toEqual(['partition', 'partition', 'partition-healed', 'partition-healed']);
      if (name === 'crash-restart') expect(faults.filter((f) => f === 'restart')).toHaveLength(3);
      if (name === 'tracker-outage') expect(faults).toEqual(['tracker-down', 'tracker-down-healed']);
      if (name === 'flaky-links') for (const f of ['reset', 'stall', 'latency', 'latency-healed']) expect(faults, f).toContain(f);
      if (name === 'corrupt-peer') {
        expect(result.bans.some((b) => b.banned === 'X0')).toBe(true);
        expect(result.hashFailures).toBeGreaterThan(0);
      }
    });
  }

  it('swarmlab test --transport tcp runs each seed once on TCP (no determinism rerun) and reproduces with --transport tcp', { timeout: 180_000 }, () => {
    const out = execFileSync(process.execPath, [SWARMLAB, 'test', 'scenarios/tiny-pieces.yaml', '--transport', 'tcp', '--json'], { encoding: 'utf8', timeout: 170_000 });
    const suite = JSON.parse(out) as { runs: { seed: string; ok: boolean; determinism: boolean; reproduce: string }[]; failed: number };
    const seeds = loadScenarioFile('scenarios/tiny-pieces.yaml').seeds;
    expect(suite.runs.map((r) => r.seed)).toEqual(seeds);
    expect(suite.runs.some((r) => r.determinism)).toBe(false);
    expect(suite.failed).toBe(0);
    for (const r of suite.runs) expect(r.reproduce).toMatch(/--transport tcp$/);
  });

  it('a failing run traces its verdict last, as on the memory transport, so the replay opens at it', { timeout: 60_000 }, async () => {
    // One slow seed and two leechers with 3 s to fetch 2 MiB at 128 KiB/s: neither can complete.
    const scenario = loadScenario(
      parseScenarioText(
        'name: tcp-too-short\ntorrent: { size: 2MiB, pieceLength: 256KiB }\ngroups:\n  - { name: S, role: seed, upload: 128KiB/s }\n  - { name: L, count: 2 }\ntimeLimit: 3s\nexpect: { allComplete: true }\n',
      ),
      '1',
    );
    const trace = memoryTrace();
    const result = await runScenarioOnTcp(scenario, '1', { traceOut: trace.out });
    expect(result.ok).toBe(false);
    expect(result.failures.map((f) => f.check)).toContain('liveness');
    const text = trace.lines.join('\n') + '\n';
    expect(createHash('sha256').update(text).digest('hex')).toBe(result.traceHash);
    const last = trace.lines.slice(-result.failures.length).map((l) => JSON.parse(l));
    expect(last.map((e) => [e.kind, e.check, e.peer])).toEqual(result.failures.map((f) => ['failure', f.check, f.peer ?? 'sim']));
    const found = findFailures(ReplayModel.fromText(text));
    expect(found.map((f) => f.check)).toEqual(result.failures.map((f) => f.check));
  });

  it('refuses, before anything starts, a scenario with more peers than this machine allows on TCP', async () => {
    const scenario = loadScenario('scenarios/default.yaml', '1');
    const tooMany = tcpCapacity().peers + 1;
    const big = { ...scenario, groups: [{ ...scenario.groups[0] }, { ...scenario.groups[1], count: tooMany }] };
    const run = runScenarioOnTcp(big, '1');
    await expect(run).rejects.toThrow(TransportError);
    await expect(run).rejects.toThrow(/peers, but this machine allows at most/);
  });

  it("frees every address it bound: each peer's and the tracker's ports can be bound again at once", { timeout: 120_000 }, async () => {
    const { result } = await onTcp('scenarios/tiny-pieces.yaml');
    expect(result.ok).toBe(true);
    const ips = result.peers.map((_, i) => hostAddress(result.block, i));
    for (const ip of ips) {
      expect(await canListen(ip, PUBLIC_PORT), `${ip}:${PUBLIC_PORT}`).toBe(true);
      expect(await canListen(ip, PRIVATE_PORT), `${ip}:${PRIVATE_PORT}`).toBe(true);
    }
    expect(await canListen(trackerAddress(result.block), 6969)).toBe(true);
  });
});

/** Resolves when `host:port` can be listened on (nothing holds it). */
function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
