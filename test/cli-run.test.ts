// `swarmlab run` as a user runs it: JSON out, and the printed command reproduces the run.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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
});
