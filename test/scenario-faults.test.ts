// Each kind of fault does what it says, the honest peers cope, and the checks see what they
// should. Small swarms, a few seconds of virtual time each.

import { describe, expect, it } from 'vitest';
import type { PlantedBug } from '../engine/test-hooks.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { loadScenario, parseScenarioText } from '../sim/scenario/load.ts';
import { runResolvedScenario } from '../sim/scenario/run.ts';
import type { FaultSpec, Scenario } from '../sim/scenario/types.ts';
import { memoryTrace } from '../engine/trace-writer.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

function scenario(faults: FaultSpec[], over: Partial<Scenario> = {}): Scenario {
  return {
    name: 'faults',
    torrent: { size: 2 * MiB, pieceLength: 64 * KiB, files: 1 },
    groups: [
      { name: 'seed', count: 1, role: 'seed', upload: 1 * MiB, download: 1 * MiB, joinAt: 0, leave: { when: 'never' }, behaviour: 'honest' },
      { name: 'peer', count: 6, role: 'leecher', upload: 256 * KiB, download: 1 * MiB, joinAt: 0, leave: { when: 'never' }, behaviour: 'honest' },
    ],
    network: { latency: [10, 40] },
    faults,
    timeLimit: 600_000,
    trackerInterval: 60_000,
    expect: {},
    seeds: ['1'],
    ...over,
  };
}

function run(s: Scenario, seed = '1', plantedBug?: PlantedBug) {
  const mem = memoryTrace();
  const result = runResolvedScenario(s, seed, { traceOut: mem.out, plantedBug });
  const events: TraceEvent[] = mem.lines.slice(1).map((l) => JSON.parse(l));
  return { result, events };
}

const stored = (events: TraceEvent[], from: (remote: string) => boolean, t0: number, t1: number) =>
  events.filter((e) => e.node === 'pieceStore' && e.result === 'stored' && from(e.remote!) && e.t >= t0 && e.t < t1).length;

describe('faults', () => {
  it('partition: nothing crosses the cut until it heals, then every leecher completes', () => {
    const { result, events } = run(scenario([{ kind: 'partition', at: 1_000, until: 20_000, between: ['seed', 'peer'] }]));
    expect(result.failures).toEqual([]);
    // Blocks in flight when the cut came are held, not lost: allow the first latency's worth.
    expect(stored(events, (r) => r === 'seed0', 1_200, 20_000)).toBe(0);
    expect(stored(events, (r) => r === 'seed0', 20_000, Infinity)).toBeGreaterThan(0);
    expect(events.some((e) => e.kind === 'fault' && e.fault === 'partition-healed' && e.t === 20_000)).toBe(true);
  });

  it('crash and restart: the peer re-checks what it holds and carries on', () => {
    const { result, events } = run(scenario([{ kind: 'crash', at: 4_000, group: 'peer', count: 2, restartAfter: 5_000 }]));
    expect(result.failures).toEqual([]);
    const crashed = events.filter((e) => e.kind === 'fault' && e.fault === 'crash' && e.peer !== 'sim').map((e) => e.peer);
    expect(crashed).toHaveLength(2);
    for (const label of crashed) {
      const rejoin = events.find((e) => e.kind === 'join' && e.peer === label && e.t >= 9_000);
      expect(rejoin, label).toBeDefined();
      expect(rejoin!.pieces as number).toBeGreaterThan(0); // its storage survived the crash
      // Nothing traced by the dead process while it was down.
      expect(events.filter((e) => e.peer === label && e.t > 4_000 && e.t < 9_000 && e.kind !== 'fault')).toEqual([]);
    }
  });

  it('churn: peers leave and fresh ones join at a seeded rate; the newcomers complete', () => {
    const { result, events } = run(scenario([{ kind: 'random', rate: 12, from: 1_000, until: 20_000, fault: { kind: 'churn', group: 'peer' } }]));
    expect(result.failures).toEqual([]);
    const newcomers = result.peers.filter((p) => p.group === 'peer' && Number(p.label.slice(4)) >= 6);
    expect(newcomers.length).toBeGreaterThan(1);
    expect(newcomers.every((p) => p.completedAt !== undefined)).toBe(true);
    expect(events.some((e) => e.kind === 'leave' && e.reason === 'churn')).toBe(true);
  });

  it('a disk that is full for a while: writes fail, blocks are fetched again, all complete', () => {
    const { result, events } = run(scenario([{ kind: 'disk-full', at: 1_000, until: 6_000, group: 'peer' }]));
    expect(result.failures).toEqual([]);
    expect(events.some((e) => e.node === 'pieceStore' && e.result === 'write-failed')).toBe(true);
  });

  it('corrupt reads: pieces fail their hash check and are fetched again; nothing corrupt is verified', () => {
    const { result } = run(scenario([{ kind: 'corrupt-read', at: 0, until: 10_000, group: 'peer', probability: 0.1 }]));
    expect(result.hashFailures).toBeGreaterThan(0);
    expect(result.failures).toEqual([]);
  });

  it('tracker outage: announces fail and are retried; the swarm forms once it is back', () => {
    const { result, events } = run(scenario([{ kind: 'tracker-down', at: 0, until: 30_000 }]));
    expect(result.failures).toEqual([]);
    expect(events.filter((e) => e.kind === 'announce' && e.ok === false).length).toBeGreaterThan(6);
    expect(events.filter((e) => e.kind === 'verified').every((e) => e.t > 30_000)).toBe(true);
  });

  it('resets, stalls, pauses, latency and bandwidth changes: the swarm still completes', () => {
    const { result, events } = run(
      scenario([
        { kind: 'latency', at: 1_000, until: 9_000, latency: 300, jitter: 100 },
        { kind: 'bandwidth', at: 1_000, until: 9_000, group: 'seed', upload: 64 * KiB },
        { kind: 'stall', at: 2_000, duration: 3_000 },
        { kind: 'reset', at: 4_000, count: 5 },
        { kind: 'pause', at: 6_000, duration: 4_000, group: 'peer', count: 2 },
      ]),
    );
    expect(result.failures).toEqual([]);
    expect(events.filter((e) => e.kind === 'disconnect' && String(e.reason).includes('injected reset')).length).toBeGreaterThanOrEqual(5);
    // At 64 KiB/s the seed sends at most ~8 s × 64 KiB in the window (plus what was on the wire).
    const fromSeed = stored(events, (r) => r === 'seed0', 1_500, 9_000) * 16 * KiB;
    expect(fromSeed).toBeLessThan(8 * 64 * KiB + 128 * KiB);
  });

  it('two full-disk faults that overlap: the first one healing does not free the disk the second fills', () => {
    const { result, events } = run(
      scenario([
        { kind: 'disk-full', at: 1_000, until: 3_000, group: 'peer' },
        { kind: 'disk-full', at: 2_000, until: 8_000, group: 'peer' },
      ]),
    );
    expect(result.failures).toEqual([]);
    const inWindow = (e: TraceEvent) => e.node === 'pieceStore' && e.t > 3_500 && e.t < 8_000;
    expect(events.filter((e) => inWindow(e) && e.result === 'write-failed').length).toBeGreaterThan(0);
    expect(events.filter((e) => inWindow(e) && e.result === 'stored').length).toBe(0);
  });

  it('loss: lost batches are sent again later; the swarm completes, later than without loss', () => {
    const lossy = run(scenario([{ kind: 'loss', at: 0, until: 30_000, probability: 0.3 }]));
    const clean = run(scenario([]));
    expect(lossy.result.failures).toEqual([]);
    expect(lossy.events.some((e) => e.kind === 'fault' && e.fault === 'loss-healed' && e.t === 30_000)).toBe(true);
    const lastCompletion = (r: typeof clean.result) => Math.max(...r.peers.map((p) => p.completedAt ?? Infinity));
    expect(lastCompletion(lossy.result)).toBeGreaterThan(lastCompletion(clean.result));
  });

  it('a loss fault loads from a file, its probability a fraction drawn from the seed', () => {
    const text = 'name: l\ntorrent: { size: 1MiB }\ngroups:\n  - { name: S, role: seed }\n  - { name: L, count: 3 }\nfaults:\n  - { kind: loss, at: 1s, until: 5s, group: L, probability: 0.1..0.2 }\n';
    const [f] = loadScenario(parseScenarioText(text), 1).faults;
    expect(f.kind === 'loss' && f.group === 'L' && f.until === 5_000 && f.probability >= 0.1 && f.probability <= 0.2).toBe(true);
    expect(() => parseScenarioText(text.replace('0.1..0.2', '2'))).toThrow(/probability: expected a number from 0 to 1/);
  });

  it('overlapping faults heal one at a time: the end of the first does not undo the second', () => {
    // The second cap outlives the first; when the first heals, the seed must stay at 16 KiB/s.
    const { result, events } = run(
      scenario([
        { kind: 'bandwidth', at: 500, until: 2_000, group: 'seed', upload: 1 * MiB },
        { kind: 'bandwidth', at: 1_000, until: 30_000, group: 'seed', upload: 16 * KiB },
        { kind: 'latency', at: 500, until: 2_000, group: 'seed', latency: 20 },
        { kind: 'latency', at: 1_000, until: 30_000, group: 'seed', latency: 400 },
      ]),
    );
    expect(result.failures).toEqual([]);
    // 16 KiB/s for the 27.5 s after 2.5 s: at most ~28 blocks of 16 KiB (one more on the wire).
    expect(stored(events, (r) => r === 'seed0', 2_500, 30_000)).toBeLessThanOrEqual(29);
    expect(stored(events, (r) => r === 'seed0', 2_500, 30_000)).toBeGreaterThan(10);
  });

  it('the same faults under the same seed give the same trace; another seed differs', () => {
    const s = scenario([{ kind: 'random', rate: 20, from: 0, until: 15_000, fault: { kind: 'reset', group: 'peer' } }]);
    const a = run(s, '5').result.traceHash;
    expect(run(s, '5').result.traceHash).toBe(a);
    expect(run(s, '6').result.traceHash).not.toBe(a);
  });
});

describe('checks', () => {
  it('a piece verified with bytes that differ from the payload is a safety violation (planted bug)', () => {
    const s = scenario([{ kind: 'corrupt-read', at: 0, until: 20_000, group: 'peer', probability: 0.1 }]);
    const { result, events } = run(s, '3', 'trust-single-source');
    const v = result.failures.find((f) => f.check === 'verified-bytes');
    expect(v?.message).toMatch(/piece \d+ was marked verified but its bytes differ from the payload/);
    expect(v?.peer).toMatch(/^peer\d$/);
    expect(events.some((e) => e.kind === 'violation' && e.check === 'verified-bytes')).toBe(true);
    expect(result.ok).toBe(false);
  });

  it('liveness: a leecher that cannot finish by the bound is reported with its missing pieces', () => {
    const { result } = run(scenario([], { expect: { completeBy: 2_000 } }));
    const stuck = result.failures.filter((f) => f.check === 'liveness');
    expect(stuck.length).toBeGreaterThan(0);
    expect(stuck[0].message).toMatch(/peer\d (never completed|completed at .* after the bound) \(bound 2\.0 s\)/);
  });

  it('a leecher whose missing pieces nobody holds any more is excused, not reported stuck', () => {
    const { result } = run(
      scenario([], {
        groups: [
          { name: 'seed', count: 1, role: 'seed', upload: 64 * KiB, download: 1 * MiB, joinAt: 0, leave: { when: 'after', time: 5_000 }, behaviour: 'honest' },
          { name: 'peer', count: 3, role: 'leecher', upload: 64 * KiB, download: 1 * MiB, joinAt: 0, leave: { when: 'never' }, behaviour: 'honest' },
        ],
        timeLimit: 60_000,
      }),
    );
    expect(result.peers.filter((p) => p.role === 'leecher').every((p) => p.completedAt === undefined)).toBe(true);
    expect(result.failures).toEqual([]);
  });

  it('expectations: banned, max hash failures, min complete', () => {
    const { result } = run(
      scenario([{ kind: 'corrupt-read', at: 0, until: 10_000, group: 'peer', probability: 0.1 }], {
        expect: { banned: ['seed'], maxHashFailures: 0, minComplete: 7 },
      }),
    );
    const checks = result.failures.map((f) => f.check).sort();
    expect(checks).toEqual(['banned', 'hash-failures', 'min-complete']);
  });
});

describe('liveness when the payload cannot be reached', () => {
  const swarm = (groups: string) =>
    loadScenario(parseScenarioText(`name: unreachable\ntorrent: { size: 1MiB, pieceLength: 256KiB }\ngroups:\n${groups}\ntimeLimit: 1min\n`), '1');

  it('with no source at all, every leecher is held to the payload: the run fails, naming each', () => {
    const { result } = run(swarm('  - { name: L, count: 2 }'));
    expect(result.ok).toBe(false);
    expect(result.failures.map((f) => [f.check, f.peer])).toEqual([
      ['liveness', 'L0'],
      ['liveness', 'L1'],
    ]);
  });

  it('a leecher whose pieces left with their only holder is not held to them', () => {
    // The seed leaves at once, before a whole piece is out: the pieces existed, and were lost.
    const { result } = run(swarm('  - { name: S, role: seed, upload: 64KiB/s, leave: { when: after, time: 1s } }\n  - { name: L, count: 2 }'));
    expect(result.peers.filter((p) => p.role === 'leecher' && p.completedAt !== undefined)).toEqual([]);
    expect(result.failures).toEqual([]);
  });
});
