// The loop that makes swarmlab a testing tool, shown on a real bug planted behind a test-only
// switch ('trust-single-source': a piece that came from one peer is marked verified unchecked).
// `swarmlab test` finds it only with enough seeds, the command it prints reproduces the failure
// with the same trace hash, and `swarmlab shrink` cuts the scenario down.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../sim/scenario/load.ts';
import { resolveScenario } from '../sim/scenario/resolve.ts';

const SCENARIO = 'test/fixtures/scenarios/flaky-disk.yaml';
const BUG = ['--planted-bug', 'trust-single-source'];
const swarmlab = (args: string[]) => spawnSync(process.execPath, ['bin/swarmlab.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('a planted bug, found, reproduced and shrunk', { timeout: 120_000 }, () => {
  it('the scenario holds on many seeds without the bug', () => {
    const r = swarmlab(['test', SCENARIO, '--seeds', '12']);
    expect(r.stdout).toMatch(/\b1[34] passed, 0 failed/); // 13 seeds, and the determinism rerun
    expect(r.status).toBe(0);
  });

  it('the listed seed alone does not show it; enough seeds do, and the printed command replays it exactly', () => {
    const listedOnly = swarmlab(['test', SCENARIO, ...BUG]);
    expect(listedOnly.status).toBe(0);

    const reports = mkdtempSync(join(tmpdir(), 'reports-'));
    const sweep = swarmlab(['test', SCENARIO, '--seeds', '12', '--reports', reports, ...BUG]);
    expect(sweep.status).toBe(1);
    // Each failing run comes with a replay page to open.
    const page = /replay: (.+\.html)/.exec(sweep.stdout)?.[1];
    expect(page && existsSync(page) && readFileSync(page, 'utf8').startsWith('<!doctype html>')).toBe(true);
    const failure = /\[verified-bytes\] at [\d.]+ s, L\d+: piece \d+ was marked verified but its bytes differ from the payload[\s\S]*?trace sha256: ([0-9a-f]{64})\n\s+reproduce: (.+)\n/.exec(sweep.stdout);
    expect(failure, sweep.stdout).not.toBeNull();
    const [, hash, command] = failure!;
    expect(command).toMatch(new RegExp(`^node bin/swarmlab\\.mjs run ${SCENARIO} --seed \\d+ --planted-bug trust-single-source$`));

    const run = swarmlab([...command.split(' ').slice(2), '--json']);
    expect(run.status).toBe(1);
    const replay = JSON.parse(run.stdout);
    expect(replay.ok).toBe(false);
    expect(replay.traceHash).toBe(hash);
    expect(replay.failures.some((f: { check: string }) => f.check === 'verified-bytes')).toBe(true);
  });

  it('shrink brings the failing run down to a smaller scenario that fails the same way', () => {
    const sweep = swarmlab(['test', SCENARIO, '--seeds', '12', '--no-reports', ...BUG]);
    const seed = /--seed (\d+) --planted-bug/.exec(sweep.stdout)![1];
    const out = join(mkdtempSync(join(tmpdir(), 'shrink-')), 'min.yaml');
    const shrink = swarmlab(['shrink', SCENARIO, '--seed', seed, '-o', out, ...BUG]);
    expect(shrink.status, shrink.stdout + shrink.stderr).toBe(0);

    const peers = (file: string) => resolveScenario(loadScenarioFile(file), seed).groups.reduce((n, g) => n + g.count, 0);
    expect(peers(out)).toBeLessThan(peers(SCENARIO));

    const again = swarmlab(['run', out, '--seed', seed, '--json', ...BUG]);
    const result = JSON.parse(again.stdout);
    expect(result.ok).toBe(false);
    expect(result.failures.map((f: { check: string }) => f.check)).toContain('verified-bytes');
  });
});
