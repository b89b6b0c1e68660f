// `swarmlab test --jobs N` gives `--jobs 1`'s results; `--shard I/N` deals a sweep's seeds out
// to N machines and `swarmlab merge` puts their results back together as one machine's.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../cli/test-pool.ts';
import { FAILING, PASSING, swarmlab } from './helpers/swarmlab-cli.ts';
import { loadScenarioFile } from '../sim/scenario/load.ts';
import { inShard, parseShard } from '../sim/scenario/shard.ts';
import { type PlannedRun, runSuite, type SuiteRun } from '../sim/scenario/suite.ts';

const CHURN = PASSING.replace('name: small', 'name: churny').replace('count: 2..3', 'count: 4..6').replace('seeds: [1, 2]', 'seeds: [7]');

const dir = mkdtempSync(join(tmpdir(), 'swarmlab-sweep-'));
const files = Object.entries({ 'a-small.yaml': PASSING, 'b-too-fast.yaml': FAILING, 'c-churny.yaml': CHURN }).map(([name, text]) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
});
const SWEEP = [...files, '--seeds', '3', '--no-reports'];

interface Results {
  runs: { scenario: string; seed: string; determinism: boolean; ok: boolean; traceHash: string | null; sweepIndex: number; reproduce: string; wallMs?: number }[];
  passed: number;
  failed: number;
  wallMs?: number;
  sweep: { id: string; runs: number; shard: string | null };
}

/** The results without what differs between two runs of the same sweep: wall times. */
function timeless(results: Results): Results {
  const { wallMs: _, ...rest } = results;
  return { ...rest, runs: results.runs.map(({ wallMs: _w, ...run }) => run) };
}
const junitTimeless = (xml: string) => xml.replace(/ time="[\d.]+"/g, '');

function runJson(args: string[]): Results {
  const out = swarmlab(['test', ...SWEEP, ...args, '--json']);
  expect(out.status, out.stderr).toBe(1); // too-fast fails
  return JSON.parse(out.stdout) as Results;
}

describe('swarmlab test --jobs N', () => {
  it('gives --jobs 1 results, JUnit and trace hashes exactly, with failures in the same order', { timeout: 120_000 }, () => {
    const one = runJson(['--jobs', '1', '--junit', join(dir, 'one.xml')]);
    const two = runJson(['--jobs', '2', '--junit', join(dir, 'two.xml')]);
    expect(one.runs).toHaveLength(2 * (2 + 3 + 1) + (1 + 3 + 1)); // the listed seeds, 3 more, one rerun per file
    expect(one.failed).toBe(5); // too-fast's seeds; its rerun gives the same hash, so it passes
    expect(new Set(one.runs.map((r) => r.traceHash)).size).toBeGreaterThan(10);
    expect(timeless(two)).toEqual(timeless(one));
    expect(junitTimeless(readFileSync(join(dir, 'two.xml'), 'utf8'))).toBe(junitTimeless(readFileSync(join(dir, 'one.xml'), 'utf8')));
  });

  it('reports runs and judges the determinism rerun in the sweep order, whatever order they finish in', async () => {
    const entries = files.slice(0, 2).map((path) => ({ path, file: loadScenarioFile(path) }));
    const pending: { run: PlannedRun; finish: (r: SuiteRun) => void }[] = [];
    const started: number[] = [];
    const reported: number[] = [];
    const result = runSuite(entries, {
      jobs: 100,
      onStart: (run) => started.push(run.index),
      onDone: (run) => reported.push(run.index),
      // Each run's trace hash is its seed's, but the second scenario's rerun gets another: not deterministic.
      execute: (run) => new Promise((finish) => pending.push({ run, finish })),
    });
    await Promise.resolve();
    expect(pending).toHaveLength(6);
    for (const { run, finish } of [...pending].reverse()) {
      const hash = run.rerun && run.name === 'too-fast' ? 'other' : `${run.name}/${run.seed}`;
      finish({ ...run, ok: true, failures: [], traceHash: hash, wallMs: 1, violations: [], violationCount: 0 });
      await Promise.resolve();
    }
    const suite = await result;
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reported).toEqual([1, 2, 3, 4, 5, 6]);
    expect(suite.runs.map((r) => [r.name, r.seed, r.rerun, r.ok])).toEqual([
      ['small', '1', false, true],
      ['small', '2', false, true],
      ['small', '1', true, true],
      ['too-fast', '1', false, true],
      ['too-fast', '2', false, true],
      ['too-fast', '1', true, false],
    ]);
    expect(suite.runs[5].failures[0].check).toBe('determinism');
  });

  it('runs under node options a worker thread refuses in an explicit execArgv (V8 flags)', { timeout: 120_000 }, () => {
    const flags = ['--single-threaded-gc', '--max-old-space-size=2048'];
    const fromSources = spawnSync(process.execPath, [...flags, 'bin/swarmlab.mjs', 'test', files[0], '--jobs', '2', '--no-reports'], { encoding: 'utf8', timeout: 60_000 });
    expect(fromSources.stderr).not.toMatch(/ERR_WORKER_INVALID_EXEC_ARGV|unexpected error/);
    expect(fromSources.status, fromSources.stderr).toBe(0);
    expect(workerExecArgv(['--single-threaded-gc', '--import', 'x.mjs', '--stack-size=900', '--conditions=dev', '-r', 'y.cjs', '--no-warnings'])).toEqual(['--import', 'x.mjs', '--conditions=dev', '-r', 'y.cjs', '--no-warnings']);
  });

  it('Ctrl-C in a terminal (SIGINT to the whole process group, workers too): the summary of the runs done, exit 130, no worker left', { timeout: 120_000 }, async () => {
    // Its own process group, as a shell gives a command: the signal goes to every process in it.
    const child = spawn(process.execPath, ['bin/swarmlab.mjs', 'test', files[0], '--seeds', '300', '--jobs', '2', '--no-reports'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d) => {
          stdout += d;
          if (/\[\s*4\/\d+\] ok/.test(stdout)) resolve();
        }),
      );
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited, stderr).toBe(130);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is gone: nothing was left running.
      }
    }
    const done = /(\d+) of (\d+) planned runs done/.exec(stdout);
    expect(Number(done?.[1])).toBeLessThan(Number(done?.[2]));
    expect(done, stdout + stderr).not.toBeNull();
    expect(stdout).toContain(`\n${done![1]} passed, 0 failed\n`);
    expect(stderr).not.toMatch(/crash|exited unexpectedly/i);
    // Every process of the group has exited: signal 0 to the group finds none.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(() => process.kill(-child.pid!, 0)).toThrow();
  });

  it('prints the progress lines in the sweep order', { timeout: 60_000 }, () => {
    const out = swarmlab(['test', files[0], '--seeds', '3', '--jobs', '2']);
    expect(out.status).toBe(0);
    const counters = out.stdout.split('\n').filter((l) => /^\[/.test(l)).map((l) => l.slice(0, l.indexOf(']') + 1));
    expect(counters).toEqual(['[1/6]', '[2/6]', '[3/6]', '[4/6]', '[5/6]', '[6/6]']);
  });

  it('refuses 0 jobs and a shard that is not I/N with 1 ≤ I ≤ N, in one line', () => {
    for (const [args, message] of [
      [['--jobs', '0'], /--jobs.*at least 1, got "0"/],
      [['--shard', '4/3'], /--shard.*must be 1\.\.3, got '4\/3'/],
      [['--shard', 'two'], /--shard.*expected I\/N/],
    ] as const) {
      const out = swarmlab(['test', files[0], ...args]);
      expect(out.status).not.toBe(0);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(out.stderr).toMatch(message);
    }
  });
});

describe('--shard I/N and swarmlab merge', () => {
  it('deals every seed group to exactly one shard', () => {
    for (let count = 1; count <= 5; count++) {
      for (let group = 0; group < 40; group++) {
        const owners = Array.from({ length: count }, (_, i) => i + 1).filter((index) => inShard(group, { index, count }));
        expect(owners).toEqual([(group % count) + 1]);
      }
    }
    expect(parseShard(' 2/3 ')).toEqual({ index: 2, count: 3 });
    expect(parseShard('0/3')).toMatch(/1\.\.3/);
    expect(parseShard('1/0')).toMatch(/at least one shard/);
  });

  it('three shards are disjoint, cover the sweep, and merge back to the one-machine results and JUnit', { timeout: 180_000 }, () => {
    const whole = runJson(['--junit', join(dir, 'whole.xml')]);
    const shards = [1, 2, 3].map((i) => {
      const results = join(dir, `shard-${i}.json`);
      const out = swarmlab(['test', ...SWEEP, '--shard', `${i}/3`, '--results', results, '--jobs', i === 2 ? '2' : '1']);
      expect(out.status, out.stderr).not.toBe(2);
      return { results, json: JSON.parse(readFileSync(results, 'utf8')) as Results };
    });
    const indices = shards.map((s) => s.json.runs.map((r) => r.sweepIndex));
    for (const share of indices) expect(share.length).toBeGreaterThan(whole.runs.length / 3 - 3);
    expect(indices.flat().sort((a, b) => a - b)).toEqual(whole.runs.map((r) => r.sweepIndex));
    // A determinism rerun runs on the shard that ran its seed first, or it could not compare hashes.
    for (const { json } of shards) {
      for (const rerun of json.runs.filter((r) => r.determinism)) expect(json.runs.some((r) => !r.determinism && r.scenario === rerun.scenario && r.seed === rerun.seed)).toBe(true);
    }

    const merged = swarmlab(['merge', ...shards.map((s) => s.results).reverse(), '--json', '--junit', join(dir, 'merged.xml')]);
    expect(merged.status, merged.stderr).toBe(1);
    expect(timeless(JSON.parse(merged.stdout))).toEqual(timeless(whole));
    expect(junitTimeless(readFileSync(join(dir, 'merged.xml'), 'utf8'))).toBe(junitTimeless(readFileSync(join(dir, 'whole.xml'), 'utf8')));

    const summary = swarmlab(['merge', ...shards.map((s) => s.results)]);
    expect(summary.status).toBe(1);
    for (const failure of whole.runs.filter((r) => !r.ok)) expect(summary.stdout).toContain(`reproduce: ${failure.reproduce}`);
    expect(summary.stdout).toMatch(new RegExp(`\\n${whole.passed} passed, ${whole.failed} failed\\n`));
    expect(readFileSync(join(dir, 'merged.xml'), 'utf8')).toContain('reproduce: node bin/swarmlab.mjs run');

    // What is not the shards of one sweep is one line naming the problem, exit 2.
    const other = join(dir, 'other.json');
    expect(swarmlab(['test', files[0], '--shard', '3/3', '--results', other]).status).toBe(0);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"runs": [');
    for (const [args, message] of [
      [[shards[0].results, shards[1].results], /missing shard 3\/3/],
      [[shards[0].results, shards[1].results, shards[1].results], /shard 2\/3 is given twice/],
      [[shards[0].results, shards[1].results, other], /another sweep/],
      [[notJson], /not\.json: not valid JSON/],
      [[join(dir, 'a-small.yaml')], /not valid JSON/],
    ] as const) {
      const out = swarmlab(['merge', ...args]);
      expect(out.status, out.stdout).toBe(2);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(out.stderr).toMatch(message);
    }
  });
});
