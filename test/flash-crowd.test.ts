// Issue 11's flash crowd at its size (scenarios/flash-crowd-100.yaml: 1 seed, 100 leechers at
// t = 0, 16 MiB, default settings): every leecher completes within the scenario's bound. Too large
// for the library's CI job (test/scenario-library.test.ts), so run here, once, through the CLI
// (whose runs skip the debug counter checks that would triple its time).

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the flash crowd of 100 (scenarios/flash-crowd-100.yaml)', () => {
  it(
    'every leecher completes within the bound on default settings',
    () => {
      const trace = join(mkdtempSync(join(tmpdir(), 'swarmlab-flash-')), 't.jsonl');
      const out = execFileSync(process.execPath, ['bin/swarmlab.mjs', 'run', 'scenarios/flash-crowd-100.yaml', '--json', '--trace', trace], { encoding: 'utf8', stdio: 'pipe', timeout: 580_000 });
      const result = JSON.parse(out) as { ok: boolean; failures: unknown[]; peers: { label: string; role: string; completedAt?: number }[] };
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(true);
      const leechers = result.peers.filter((p) => p.role === 'leecher');
      expect(leechers).toHaveLength(100);
      expect(leechers.filter((p) => p.completedAt === undefined).map((p) => p.label)).toEqual([]);
    },
    600_000,
  );
});
