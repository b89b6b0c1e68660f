// `swarmlab experiment` as a user runs it: progress on stderr, the verdict and the report on
// stdout, the files written; a bad file is one error line per problem and exit code 2; `--check`
// turns a claim that does not reproduce into exit code 1.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'swarmlab-experiment-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function swarmlab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/swarmlab.mjs', 'experiment', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const file = (name: string, verdict: string) => {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\nbase:\n  name: tiny\n  torrent: { size: 128KiB, pieceLength: 16KiB }\n  groups:\n    - { name: S, role: seed }\n    - { name: L, count: 2 }\nseeds: [1]\nverdict: ${verdict}\n`,
  );
  return path;
};

describe('swarmlab experiment', () => {
  it('runs, prints progress and the verdict, and writes the report and data', () => {
    const out = join(dir, 'ok');
    const r = swarmlab(file('ok', '{ metric: completed, atLeast: 2 }'), '-o', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\[1\/1\] base seed 1: 2\/2 complete/);
    expect(r.stdout).toBe(`ok: reproduces: completed (mean over seeds) — base: 2.000\nreport: ${join(out, 'report.html')}\n`);
    for (const f of ['report.html', 'results.csv', 'results.json']) expect(existsSync(join(out, f))).toBe(true);
  });

  it('--jobs 2 runs the sweep on worker processes and writes the same results as one job', () => {
    const path = join(dir, 'sweep.yaml');
    writeFileSync(
      path,
      `name: sweep\nbase:\n  name: tiny\n  torrent: { size: 128KiB, pieceLength: 16KiB }\n  groups:\n    - { name: S, role: seed }\n    - { name: L, count: 2 }\nsweep:\n  groups[1].count: [1, 2, 3]\nseeds: [1, 2]\nverdict: { metric: completed, order: increasing }\n`,
    );
    const one = swarmlab(path, '-o', join(dir, 'sweep-1'), '--quiet');
    const two = swarmlab(path, '-o', join(dir, 'sweep-2'), '--jobs', '2');
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(two.stdout.split('\n')[0]).toBe(one.stdout.split('\n')[0]);
    expect(two.stderr.match(/^\[\d\/6\]/gm)).toHaveLength(6);
    expect(readFileSync(join(dir, 'sweep-2', 'results.json'), 'utf8')).toBe(readFileSync(join(dir, 'sweep-1', 'results.json'), 'utf8'));
    expect(swarmlab(path, '--jobs', '0').stderr).toMatch(/expected a whole number of jobs, at least 1, got "0"/);
  });

  it('exits 1 with --check when the claim does not reproduce, 0 without', () => {
    const path = file('no', '{ metric: completed, atLeast: 3 }');
    expect(swarmlab(path, '-o', join(dir, 'no'), '--quiet').code).toBe(0);
    const checked = swarmlab(path, '-o', join(dir, 'no'), '--check', '--quiet');
    expect(checked.code).toBe(1);
    expect(checked.stderr).toBe('');
    expect(checked.stdout).toMatch(/^no: does not reproduce: completed .* not every point is at least 3\n/);
  });

  it('refuses a bad file with one line per problem, exit code 2, no stack', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'name: bad\nbase: missing.yaml\nseeds: []\n');
    const r = swarmlab(path);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${path}: not a valid experiment (1 problem):\n  ${path}:3:8: seeds: expected at least one seed\n`);
  });
});
