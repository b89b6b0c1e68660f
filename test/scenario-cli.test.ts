// `swarmlab run <scenario>` and `swarmlab test` as a user runs them, and the vitest helper.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAILING, PASSING, swarmlab } from './helpers/swarmlab-cli.ts';
import { CRASH, runCatchingCrash } from '../sim/scenario/suite.ts';
import { ScenarioFailedError, expectScenario } from '../sim/scenario/vitest.ts';
import { junitXml, MAX_FAILURE_TEXT } from '../cli/junit.ts';
import type { SuiteRun } from '../sim/scenario/suite.ts';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlab-cli-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('swarmlab run <scenario>', () => {
  it('prints one JSON object with the seed, trace hash, verdict and failures; exit 0 when all holds', () => {
    const dir = folder({ 'small.yaml': PASSING });
    const trace = join(dir, 't.jsonl');
    const out = swarmlab(['run', join(dir, 'small.yaml'), '--json', '--trace', trace]);
    expect(out.status).toBe(0);
    const r = JSON.parse(out.stdout);
    expect(r).toMatchObject({ scenario: 'small', seed: '1', ok: true, failures: [], trace }); // the first listed seed
    expect(createHash('sha256').update(readFileSync(trace)).digest('hex')).toBe(r.traceHash);
    expect(r.reproduce).toBe(`node bin/swarmlab.mjs run ${join(dir, 'small.yaml')} --seed 1`);
    const again = JSON.parse(swarmlab(['run', join(dir, 'small.yaml'), '--seed', '1', '--json', '--trace', join(dir, 'u.jsonl')]).stdout);
    expect(again.traceHash).toBe(r.traceHash);
  });

  it('exits 1 when a check fails, and says which', () => {
    const dir = folder({ 'fail.yaml': FAILING });
    const out = swarmlab(['run', join(dir, 'fail.yaml'), '--seed', '9', '--trace', join(dir, 't.jsonl')]);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/\[liveness\] at 0\.00 s, L0: L0 completed at .* after the bound/);
    expect(out.stdout).toContain(`reproduce: node bin/swarmlab.mjs run ${join(dir, 'fail.yaml')} --seed 9`);
    expect(out.stdout).toMatch(/result: FAILED/);
  });

  it('warns, and still runs, when nothing can be the source of the payload (no seed, no web seed)', () => {
    const dir = folder({ 'nosource.yaml': PASSING.replace('  - { name: S, role: seed }\n', '').replace('timeLimit: 1min', 'timeLimit: 2s'), 'small.yaml': PASSING });
    const run = (args: string[]) => spawnSync(process.execPath, ['bin/swarmlab.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });
    const out = run(['run', join(dir, 'nosource.yaml'), '--no-trace', '--json']);
    expect(out.stderr).toBe(`${join(dir, 'nosource.yaml')}:3:1: warning: groups: no group seeds the payload and there are no web seeds: no leecher can complete (add a group with role: seed, or webSeeds: [{ upload: 1MiB/s }])\n`);
    expect(JSON.parse(out.stdout)).toMatchObject({ scenario: 'small', trace: null });
    // A seed group whose count may be 0 still may seed; a file with a seed gets no warning.
    const maybe = folder({ 'maybe.yaml': PASSING.replace('role: seed }', 'role: seed, count: 0..1 }') });
    expect(run(['run', join(maybe, 'maybe.yaml'), '--no-trace', '--json']).stderr).toBe('');
  });

  it('exits 2 on a bad file, naming the file and the path, and runs nothing', () => {
    const dir = folder({ 'bad.yaml': PASSING.replace('count: 2..3', 'count: 2..3, uplaod: 1MiB/s') });
    const out = swarmlab(['run', join(dir, 'bad.yaml')]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain(`${join(dir, 'bad.yaml')}:5:29: groups[1].uplaod: unknown key; did you mean "upload"?`);
    expect(out.stdout).toBe('');
  });
});

describe('swarmlab test', () => {
  it('runs each scenario on its seeds and K more, checks determinism, and exits 0 when all pass', () => {
    const dir = folder({ 'a/small.yaml': PASSING, 'b.json': JSON.stringify({ name: 'json', torrent: { size: '128KiB', pieceLength: '32KiB' }, groups: [{ name: 'S', role: 'seed' }, { name: 'L' }] }) });
    const junit = join(dir, 'report', 'junit.xml');
    const out = swarmlab(['test', dir, '--seeds', '2', '--junit', junit]);
    expect(out.status).toBe(0);
    // small: listed 1, 2 and extra 3, 4, then seed 1 again; json: listed 1, extra 2, 3, then 1 again.
    const lines = out.stdout.split('\n').filter((l) => /^\[\s*\d+\/9\] ok/.test(l));
    expect(lines.map((l) => l.replace(/\s+\d+\.\d s$/, '').replace(/\s+/g, ' '))).toEqual([
      '[1/9] ok small seed 1',
      '[2/9] ok small seed 2',
      '[3/9] ok small seed 3',
      '[4/9] ok small seed 4',
      '[5/9] ok small determinism (seed 1 twice)',
      '[6/9] ok json seed 1',
      '[7/9] ok json seed 2',
      '[8/9] ok json seed 3',
      '[9/9] ok json determinism (seed 1 twice)',
    ]);
    expect(out.stdout).toMatch(/\n9 passed, 0 failed\n/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="swarmlab" tests="9" failures="0"/);
    expect(xml.match(/<testcase /g)).toHaveLength(9);
    expect(xml).toContain('name="determinism (seed 1 twice)"');
  });

  it('reports each failure with its seed, what failed and the exact command; exit 1; JUnit has the failures', () => {
    const dir = folder({ 'fail.yaml': FAILING, 'small.yaml': PASSING });
    const junit = join(dir, 'junit.xml');
    const out = swarmlab(['test', join(dir, 'fail.yaml'), join(dir, 'small.yaml'), '--junit', junit]);
    expect(out.status).toBe(1);
    const command = `node bin/swarmlab.mjs run ${join(dir, 'fail.yaml')} --seed 2`;
    expect(out.stdout).toMatch(/\[2\/6\] FAIL\s+too-fast\s+seed 2 .*\[liveness\] at 0\.00 s, L0: /);
    expect(out.stdout).toContain(`reproduce: ${command}`);
    expect(out.stdout).toMatch(/\n4 passed, 2 failed\n/);
    // The determinism rerun of a failing seed still passes: same trace both times.
    expect(out.stdout).toMatch(/\[3\/6\] ok\s+too-fast\s+determinism/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="too-fast" [^>]*tests="3" failures="2"/);
    expect(xml).toMatch(/<testsuite name="small" [^>]*tests="3" failures="0"/);
    expect(xml).toMatch(/<failure message="\[liveness\] at 0\.00 s, L0: [^"]*" type="liveness">/);
    expect(xml).toContain(`reproduce: ${command}</failure>`);

    // The printed command replays the failure.
    const replay = swarmlab([...command.split(' ').slice(2), '--json', '--trace', join(dir, 't.jsonl')]);
    expect(replay.status).toBe(1);
    expect(JSON.parse(replay.stdout).failures[0]).toMatchObject({ check: 'liveness', peer: 'L0' });
  });

  it('exits 2 and runs nothing when any file is bad, listing every problem', () => {
    const dir = folder({ 'good.yaml': PASSING, 'bad.yaml': PASSING.replace('role: seed', 'role: seeder').replace('256KiB', '256kb') });
    const out = swarmlab(['test', dir]);
    expect(out.status).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(`${join(dir, 'bad.yaml')}:2:18: torrent.size: expected a size`);
    expect(out.stderr).toContain(`${join(dir, 'bad.yaml')}:4:22: groups[0].role: expected one of seed, leecher, got "seeder"; did you mean "seed"?`);
    expect(swarmlab(['test', join(dir, 'nowhere')]).status).toBe(2);
  });
});

describe('swarmlab test for CI', () => {
  it("JUnit names each failing run's replay page in <system-out>", () => {
    const dir = folder({ 'fail.yaml': FAILING });
    const junit = join(dir, 'junit.xml');
    const out = swarmlab(['test', join(dir, 'fail.yaml'), '--junit', junit, '--reports', join(dir, 'reports')]);
    expect(out.status).toBe(1);
    const xml = readFileSync(junit, 'utf8');
    const page = join(dir, 'reports', 'too-fast-seed1.html');
    expect(xml).toContain(`</failure>\n      <system-out>replay: ${page}</system-out>`);
    expect(readFileSync(page, 'utf8')).toMatch(/<script>/);
  });

  it('caps a failure body at 64 KiB, says it was cut, and keeps the reproduce line', () => {
    const failures = Array.from({ length: 5000 }, (_, i) => ({ check: 'safety', message: `violation ${i}: ${'x'.repeat(100)}` }));
    const run: SuiteRun = { path: 'a.yaml', name: 'a', seed: '3', rerun: false, index: 1, total: 1, sweepIndex: 1, ok: false, failures, wallMs: 1, violations: [], violationCount: 0 };
    const xml = junitXml({ runs: [run], interrupted: false, planned: 1, passed: 0, failed: 1, wallMs: 1, sweepRuns: 1 });
    const body = /<failure [^>]*>([^<]*)<\/failure>/.exec(xml)![1];
    expect(body.length).toBeLessThan(MAX_FAILURE_TEXT + 500);
    expect(body).toMatch(/\n… cut at 64 KiB: \d+ more failures \(the reproduce command shows them all\)\nreproduce: node bin\/swarmlab\.mjs run a\.yaml --seed 3$/);
    expect(body).toContain('violation 0: ');
    expect(body).not.toContain('violation 4999: ');
  });

  it('Ctrl-C: the summary of the runs done, their JUnit report, exit 130', async () => {
    const dir = folder({ 'small.yaml': PASSING });
    const junit = join(dir, 'junit.xml');
    const child = spawn(process.execPath, ['bin/swarmlab.mjs', 'test', join(dir, 'small.yaml'), '--seeds', '500', '--junit', junit], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Interrupted once the third run has reported: 503 planned runs are far from done.
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d) => {
          stdout += d;
          if (/\[\s*3\/503\] ok/.test(stdout)) resolve();
        }),
      );
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    const done = /(\d+) of 503 planned runs done/.exec(stdout);
    expect(done, stdout).not.toBeNull();
    const n = Number(done![1]);
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThan(503);
    expect(stdout).toContain(`\n${n} passed, 0 failed\n`);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(new RegExp(`<testsuites name="swarmlab" tests="${n}" failures="0"`));
  }, 120_000);
});

describe('expectScenario (vitest helper)', () => {
  it('returns the results when every seed passes', () => {
    const dir = folder({ 'small.yaml': PASSING });
    const results = expectScenario(join(dir, 'small.yaml'), { seeds: 1, determinism: true });
    expect(results.map((r) => [r.seed, r.ok])).toEqual([
      ['1', true],
      ['2', true],
      ['3', true],
    ]);
  });

  it('throws with every failure and the command that reproduces it', () => {
    const dir = folder({ 'fail.yaml': FAILING });
    let error: unknown;
    try {
      expectScenario(join(dir, 'fail.yaml'), { seeds: ['4'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioFailedError);
    const message = (error as Error).message;
    expect(message).toMatch(/^scenario too-fast failed on 1 of 1 seed:\n {2}seed 4:\n {4}\[liveness\] at 0\.00 s, L0: /);
    expect(message).toContain(`    reproduce: node bin/swarmlab.mjs run ${join(dir, 'fail.yaml')} --seed 4`);
  });
});

describe('a run that throws', () => {
  it('is a failure with check "crash", not the end of the suite', () => {
    const r = runCatchingCrash(() => {
      throw new Error('boom');
    }, '1');
    expect(r.ok).toBe(false);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0].check).toBe(CRASH);
    expect(r.failures[0].message).toMatch(/^boom \(at /);
  });
});
