// `swarmlab run`'s progress line: on a terminal only (stderr), for a run longer than a second —
// virtual time, leechers complete, events/s — and cleared before the summary. `script` gives the
// run a terminal; a pipe gets no progress line at all.

import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, SWARMLAB } from './helpers/processes.ts';

// 100 leechers: several seconds of wall time, so the line shows whatever the machine's speed.
const ARGS = ['run', 'scenarios/flash-crowd-100.yaml', '--no-trace'];
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

describe('swarmlab run: the progress line', () => {
  it('on a terminal: virtual time, leechers complete and events/s, then the summary', () => {
    const command = [process.execPath, SWARMLAB, ...ARGS].map(quote).join(' ');
    const out = execFileSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    const lines = [...out.matchAll(/virtual (\d+\.\d) s · (\d+)\/100 leechers complete · [\d,]+ events\/s/g)];
    expect(lines.length).toBeGreaterThan(0);
    // Virtual time only moves forward from one line to the next.
    const times = lines.map((m) => Number(m[1]));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(out).toContain('result: OK');
  }, 320_000);

  it('through a pipe: no progress line', () => {
    const r = spawnSync(process.execPath, [SWARMLAB, ...ARGS], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('result: OK');
    expect(r.stderr).not.toContain('leechers complete');
  }, 320_000);
});
