// A reader that goes away before swarmlab has printed (`swarmlab run … | head`, here `| true`,
// which reads nothing and is gone before the run ends) is a quiet end, not a crash with EPIPE.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SWARMLAB } from './helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmlab-pipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a closed stdout', () => {
  it('ends swarmlab quietly: exit 0, no EPIPE and no stack on stderr', () => {
    const stderrFile = join(dir, 'stderr.txt');
    const script = `"$NODE" "$CLI" run scenarios/default.yaml 2>"$ERR" | true; echo "\${PIPESTATUS[0]}"`;
    const status = execFileSync('bash', ['-c', script], { cwd: ROOT, env: { ...process.env, NODE: process.execPath, CLI: SWARMLAB, ERR: stderrFile }, timeout: 60_000 }).toString().trim();
    expect(readFileSync(stderrFile, 'utf8')).not.toMatch(/EPIPE|unexpected error|at .*\.ts:\d+/);
    expect(status).toBe('0');
  });
});
