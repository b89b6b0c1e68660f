// `swarmlab experiment` as a user runs it: progress on stderr, the verdict and the report on
// stdout, the files written; a bad file is one error line per problem and exit code 2; `--check`
// turns a claim that does not reproduce into exit code 1.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
