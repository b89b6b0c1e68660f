// `swarmlab experiment` as a user runs it: progress on stderr, the verdict and the report on
// stdout, the files written; a bad file is one error line per problem and exit code 2; `--check`
// turns a claim that does not reproduce into exit code 1.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('--shard I/3 runs disjoint shares; --merge of the three folders writes exactly the one-machine results', () => {
    const path = join(dir, 'sweep.yaml'); // written by the --jobs test above; sweep-1 is its one-job run
    const shards = [1, 2, 3].map((i) => {
      const out = join(dir, `shard-${i}`);
      const r = swarmlab(path, '-o', out, '--shard', `${i}/3`);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^sweep: shard ${i}/3: 2 runs in `));
      expect(existsSync(join(out, 'report.html'))).toBe(false);
      return { out, runs: readdirSync(join(out, 'runs')) };
    });
    const all = shards.flatMap((s) => s.runs);
    expect(new Set(all).size).toBe(6); // disjoint, and together the whole sweep
    expect(all.sort()).toEqual(readdirSync(join(dir, 'sweep-1', 'runs')).sort());
    const merged = join(dir, 'merged');
    const m = swarmlab(path, '-o', merged, '--merge', ...shards.map((s) => s.out));
    expect(m.code).toBe(0);
    expect(m.stderr.match(/already done/g)).toHaveLength(6); // nothing run again
    for (const f of ['results.json', 'results.csv']) expect(readFileSync(join(merged, f), 'utf8')).toBe(readFileSync(join(dir, 'sweep-1', f), 'utf8'));
    // A shard missing: the merge names what is not there and writes no report.
    const partial = swarmlab(path, '-o', join(dir, 'partial'), '--merge', shards[0].out, shards[2].out);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(/^experiment --merge: 2 runs of the sweep are in none of the folders merged: groups\[1\]\.count=\d seed \d; /m);
    expect(existsSync(join(dir, 'partial', 'report.html'))).toBe(false);
    expect(swarmlab(path, '--shard', '4/3').stderr).toMatch(/the shard index must be 1\.\.3, got '4\/3'/);
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
