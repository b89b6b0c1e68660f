// The shrinker: first against a made-up failure (a pure function of the scenario, so the minimal
// answer is known), then end to end with `swarmlab shrink` on a real run that fails every time.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenarioText } from '../sim/scenario/load.ts';
import { resolveScenario } from '../sim/scenario/resolve.ts';
import { ShrinkError, shrinkScenario, smallerValues } from '../sim/scenario/shrink.ts';
import type { Failure, Scenario, ScenarioResult } from '../sim/scenario/types.ts';
import { KiB } from '../sim/scenario/units.ts';

const big = resolveScenario(
  parseScenarioText(`
name: big
torrent: { size: 4MiB, pieceLength: 256KiB, files: 8 }
groups:
  - { name: S, role: seed }
  - { name: L, count: 30, joinSpread: 10s, settings: { uploadSlots: 2 } }
  - { name: M, count: 10, leave: on-complete }
  - { name: X, count: 2, behaviour: corrupt }
faults:
  - { kind: partition, at: 5s, until: 20s, between: [S, M] }
  - { kind: crash, at: 3s, group: L, count: 5, restartAfter: 2s }
  - { kind: tracker-down, at: 1s, until: 30s }
  - { kind: stall, at: 2s, duration: 1s, group: M }
  - { kind: reset, at: 4s, group: L, count: 3 }
timeLimit: 10min
expect: { banned: [X] }
`),
  '1',
);

/** A made-up run: fails with `check` when `broken` says so, at virtual time `at`. */
function fakeRun(broken: (s: Scenario) => boolean, check = 'verified-bytes', at = 7_000) {
  const calls: Scenario[] = [];
  const run = (s: Scenario, seed: string): ScenarioResult => {
    calls.push(s);
    const failures: Failure[] = broken(s) ? [{ check, message: 'made up', t: at, peer: 'L0' }] : [{ check: 'other', message: 'noise', t: 1 }];
    return { name: s.name, seed, ok: false, failures, traceHash: JSON.stringify(s).length.toString(16), traceEvents: 0, simTime: 0, peers: [], hashFailures: 0, bans: [], violations: [], violationCount: 0, duplicateBytes: 0 };
  };
  return { run, calls };
}

const count = (s: Scenario, group: string) => s.groups.find((g) => g.name === group)?.count ?? 0;
const hasCrash = (s: Scenario) => s.faults.some((f) => f.kind === 'crash');

describe('shrinkScenario', () => {
  it('finds the smallest scenario that fails the same way, when the failure needs 3 L peers, the crash and 3 pieces', () => {
    const { run } = fakeRun((s) => count(s, 'L') >= 3 && hasCrash(s) && s.torrent.size >= 3 * s.torrent.pieceLength);
    const r = shrinkScenario(big, { seed: '1', run });
    expect(r.check).toBe('verified-bytes');
    expect(r.exhausted).toBe(false);
    const s = r.shrunk;
    expect(count(s, 'L')).toBe(3);
    // The failure is a safety check: the seed and X are not needed for it, and go (X from expect.banned too).
    expect(s.groups.map((g) => g.name)).toEqual(['L']);
    expect(s.expect.banned).toBeUndefined();
    expect(s.faults).toEqual([{ kind: 'crash', at: 3_000, group: 'L', count: 1, restartAfter: 2_000 }]);
    expect(s.torrent).toEqual({ size: 3 * 16 * KiB, pieceLength: 16 * KiB, files: 1 });
    // The failure came at 7 s: the time limit comes down to just after it, never before.
    expect(s.timeLimit).toBe(7_001);
    // Simpler settings: L's override and join spread gone.
    expect(s.groups[0].settings).toBeUndefined();
    expect(s.groups[0].joinSpread).toBeUndefined();
    expect(r.steps.length).toBeGreaterThan(5);
    expect(r.steps.map((x) => x.what)).toContain('group S dropped (1 peer, and 1 fault on it)');
    expect(r.steps.map((x) => x.what)).toContain('expectations other than verified-bytes dropped');
    expect(s.expect).toEqual({ allComplete: false });
  });

  it('keeps the last seed for a completion failure, and the peers expect.banned names for a ban failure', () => {
    const liveness = shrinkScenario(big, { seed: '1', run: fakeRun(() => true, 'liveness').run });
    expect(liveness.shrunk.groups.map((g) => [g.name, g.count])).toEqual([['S', 1]]);
    const banned = shrinkScenario(big, { seed: '1', run: fakeRun(() => true, 'banned').run });
    expect(banned.shrunk.groups.map((g) => [g.name, g.count])).toEqual([['X', 1]]);
    expect(banned.shrunk.expect.banned).toEqual(['X']);
  });

  it('never tries a candidate twice, and stops at the run budget', () => {
    const { run, calls } = fakeRun(() => true);
    const r = shrinkScenario(big, { seed: '1', run, maxRuns: 10 });
    expect(r.runs).toBe(10);
    expect(r.exhausted).toBe(true);
    const keys = calls.slice(1).map((s) => JSON.stringify(s));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps a failure of the check asked for, not another one', () => {
    // 'other' fails always; 'verified-bytes' only with the partition.
    const { run } = fakeRun((s) => s.faults.some((f) => f.kind === 'partition'));
    const r = shrinkScenario(big, { seed: '1', run, check: 'verified-bytes' });
    expect(r.shrunk.faults.map((f) => f.kind)).toEqual(['partition']);
    expect(r.shrunk.groups.map((g) => g.name)).toEqual(['S', 'M']);
  });

  it('does not move the time limit when the failure is judged at the limit', () => {
    const { run } = fakeRun(() => true, 'liveness', big.timeLimit);
    expect(shrinkScenario(big, { seed: '1', run }).shrunk.timeLimit).toBe(big.timeLimit);
  });

  it('refuses a run that does not fail, or not with the check asked for', () => {
    const passing = (s: Scenario, seed: string): ScenarioResult => ({ ...fakeRun(() => false).run(s, seed), ok: true, failures: [] });
    expect(() => shrinkScenario(big, { seed: '1', run: passing })).toThrow(ShrinkError);
    expect(() => shrinkScenario(big, { seed: '1', run: fakeRun(() => true).run, check: 'liveness' })).toThrow(/does not fail with check "liveness"/);
  });

  it('tries smaller values smallest first', () => {
    expect(smallerValues(30, 1)).toEqual([1, 16, 23, 27, 29]);
    expect(smallerValues(2, 1)).toEqual([1]);
    expect(smallerValues(1, 1)).toEqual([]);
  });
});

describe('swarmlab shrink', () => {
  it('brings a real failing run down to a smaller scenario that fails the same way, and writes it as a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-shrink-'));
    const original = join(dir, 'impossible.yaml');
    // No swarm moves 1 MiB in 1 ms: this fails under every seed, with check "liveness".
    writeFileSync(
      original,
      `name: impossible
torrent: { size: 512KiB..1MiB, pieceLength: 64KiB }
groups:
  - { name: S, role: seed }
  - { name: L, count: 6..8 }
  - { name: M, count: 3 }
faults:
  - { kind: partition, at: 2s, until: 4s, between: [S, M] }
  - { kind: tracker-slow, at: 0s, until: 10s, delay: 500ms }
timeLimit: 2min
expect: { completeBy: 1ms }
`,
    );
    const out = join(dir, 'small.yaml');
    const text = execFileSync(process.execPath, ['bin/swarmlab.mjs', 'shrink', original, '--seed', '5', '-o', out], { encoding: 'utf8', timeout: 120_000 });
    expect(text).toMatch(/fixed 2 ranges to the values drawn under seed 5/);
    expect(text).toMatch(/still fails: \[liveness\]/);
    expect(text).toContain(`reproduce: node bin/swarmlab.mjs run ${out} --seed 5`);

    const before = loadScenario(original, '5');
    const after = loadScenario(out, '5');
    const peers = (s: Scenario) => s.groups.reduce((n, g) => n + g.count, 0);
    expect(peers(after)).toBeLessThan(peers(before));
    expect(after.faults.length).toBeLessThan(before.faults.length);
    expect(after.torrent.size).toBeLessThan(before.torrent.size);
    expect(after.timeLimit).toBeLessThan(before.timeLimit);
    expect(after.seeds).toEqual(['5']);
    expect(readFileSync(out, 'utf8')).toMatch(/^# Shrunk by swarmlab shrink from .*impossible\.yaml under seed 5/);

    // The written file fails the same way when run as the printed command says.
    let json = '';
    try {
      execFileSync(process.execPath, ['bin/swarmlab.mjs', 'run', out, '--seed', '5', '--json', '--trace', join(dir, 't.jsonl')], { encoding: 'utf8', timeout: 60_000 });
    } catch (e) {
      expect((e as { status: number }).status).toBe(1);
      json = (e as { stdout: string }).stdout;
    }
    const result = JSON.parse(json);
    expect(result.ok).toBe(false);
    expect(result.failures.map((f: Failure) => f.check)).toContain('liveness');
  });

  it('says so, and exits 1, when the run does not fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-shrink-'));
    const path = join(dir, 'fine.yaml');
    writeFileSync(path, 'name: fine\ntorrent: { size: 256KiB, pieceLength: 64KiB }\ngroups: [{ name: S, role: seed }, { name: L, count: 2 }]\n');
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, ['bin/swarmlab.mjs', 'shrink', path, '--seed', '1'], { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = (e as { stderr: string }).stderr;
    }
    expect(status).toBe(1);
    expect(stderr).toMatch(/fine does not fail under seed 1: nothing to shrink/);
  });
});
