// `swarmlab run` as a user runs it: JSON out, and the printed command reproduces the run.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const BIN = resolve('bin/swarmlab.mjs');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const run = (args: string[]) => execFileSync(process.execPath, ['bin/swarmlab.mjs', 'run', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('swarmlab run', () => {
  it('prints one JSON object whose reproduce command gives the same trace hash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-'));
    const trace = join(dir, 't.jsonl');
    const out = JSON.parse(run(['--seed', '11', '--peers', '4', '--trace', trace, '--json']));
    expect(out).toMatchObject({ seed: '11', complete: true, trace });
    expect(out.traceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(out.peers.filter((p: { role: string }) => p.role === 'leecher')).toHaveLength(4);
    expect(out.peers.every((p: { completedAt: number | null; role: string }) => p.role === 'seed' || p.completedAt! > 0)).toBe(true);
    expect(out.reproduce).toBe('node bin/swarmlab.mjs run --seed 11 --peers 4');
    // The trace file is the one hashed.
    expect(createHash('sha256').update(readFileSync(trace)).digest('hex')).toBe(out.traceHash);
    const again = JSON.parse(run([...out.reproduce.split(' ').slice(3), '--trace', join(dir, 'u.jsonl'), '--json']));
    expect(again.traceHash).toBe(out.traceHash);
  });

  it('prints a readable summary with the trace hash and the command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-'));
    const text = run(['--seed', '3', '--peers', '2', '--trace', join(dir, 't.jsonl')]);
    expect(text).toMatch(/2\/2 leechers complete/);
    expect(text).toMatch(/trace sha256: [0-9a-f]{64}/);
    expect(text).toMatch(/reproduce: node bin\/swarmlab\.mjs run --seed 3 --peers 2/);
  });

  it('rejects a bad argument with a clear message', () => {
    expect(() => execFileSync(process.execPath, ['bin/swarmlab.mjs', 'run', '--peers', 'many'], { encoding: 'utf8', stdio: 'pipe' })).toThrow(
      /expected a non-negative integer, got "many"/,
    );
  });

  it('--no-trace writes no file and prints the same hash; a .gz name writes gzip that viz reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-'));
    const plain = JSON.parse(run(['--seed', '5', '--peers', '2', '--trace', join(dir, 't.jsonl'), '--json']));
    const none = JSON.parse(execFileSync(process.execPath, [BIN, 'run', '--seed', '5', '--peers', '2', '--no-trace', '--json'], { cwd: dir, encoding: 'utf8' }));
    expect(none).toMatchObject({ trace: null, traceHash: plain.traceHash });
    expect(readdirSync(dir)).toEqual(['t.jsonl']);
    const gz = join(dir, 't.jsonl.gz');
    const zipped = JSON.parse(run(['--seed', '5', '--peers', '2', '--trace', gz, '--json']));
    const bytes = readFileSync(gz);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(bytes.length).toBeLessThan(statSync(join(dir, 't.jsonl')).size / 4);
    // The hash is the trace's text, whichever the file: gunzipped, the same bytes.
    expect(zipped.traceHash).toBe(plain.traceHash);
    expect(sha256(gunzipSync(bytes))).toBe(plain.traceHash);
    const viz = spawnSync(process.execPath, [BIN, 'viz', gz, '-o', join(dir, 'r.html')], { encoding: 'utf8' });
    expect(viz.status).toBe(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('data-name="t.jsonl.gz"');
  });

  it('default trace names carry the swarm: runs of two sizes do not overwrite each other', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-'));
    for (const peers of ['2', '3']) execFileSync(process.execPath, [BIN, 'run', '--seed', '4', '--peers', peers], { cwd: dir });
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['swarm-1seeders-2peers-seed4.jsonl', 'swarm-1seeders-3peers-seed4.jsonl']);
  });

  it('--seeders is the seeding peers; --seeds (test\'s random seeds) and a bad --seed are usage errors, exit 2', () => {
    const out = JSON.parse(run(['--seed', '2', '--seeders', '2', '--peers', '2', '--no-trace', '--json']));
    expect(out.peers.filter((p: { role: string }) => p.role === 'seed')).toHaveLength(2);
    expect(out.reproduce).toBe('node bin/swarmlab.mjs run --seed 2 --seeders 2 --peers 2');
    const seeds = spawnSync(process.execPath, [BIN, 'run', '--seeds', '2'], { encoding: 'utf8' });
    expect(seeds.status).toBe(2);
    expect(seeds.stderr).toMatch(/run has no --seeds: the number of seeding peers is --seeders/);
    const badSeed = spawnSync(process.execPath, [BIN, 'run', '--seed', 'a b'], { encoding: 'utf8' });
    expect(badSeed.status).toBe(2);
    expect(badSeed.stderr).toMatch(/expected a seed: a whole number or a word/);
    const badCount = spawnSync(process.execPath, [BIN, 'test', '--seeds', '-1'], { encoding: 'utf8' });
    expect(badCount.status).toBe(2);
    expect(badCount.stderr).toMatch(/expected a non-negative integer, got "-1"/);
  });

  it('Ctrl-C ends the run with its summary, a trace marked partial, and exit 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-'));
    const trace = join(dir, 't.jsonl');
    // 300 leechers take far longer than it takes to see the trace's first chunk on disk.
    const child = spawn(process.execPath, [BIN, 'run', '--peers', '300', '--trace', trace], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      while (!(existsSync(trace) && statSync(trace).size > 0)) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stdout).toMatch(/\/300 leechers complete/);
    expect(stdout).toMatch(/trace: .*t\.jsonl \(partial: it ends with a failure event, check interrupted\)/);
    expect(stdout).toMatch(/result: INTERRUPTED\n$/);
    const last = JSON.parse(readFileSync(trace, 'utf8').trimEnd().split('\n').at(-1)!);
    expect(last).toMatchObject({ kind: 'failure', check: 'interrupted', peer: 'sim' });
    // The hash printed is the partial file's.
    expect(stdout).toContain(`trace sha256: ${sha256(readFileSync(trace))}`);
  }, 120_000);
});
