// The scenario library (scenarios/*.yaml, in memory) as CI runs it: `swarmlab test` with each
// file's listed seeds, every scenario's first seed run twice for determinism. All must pass (the
// `LARGE` ones have tests of their own). The
// examples with other clients (scenarios/clients/, TCP) are run by test/tcp-clients-scenarios.test.ts.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../sim/scenario/load.ts';
import { bounds } from '../sim/scenario/units.ts';

/**
 * Scenarios at a real swarm's size, too slow for this CI job's budget: each has a test of its own
 * (flash-crowd-100.yaml: test/flash-crowd.test.ts).
 */
const LARGE = new Set(['flash-crowd-100.yaml']);

const files = readdirSync('scenarios')
  .filter((f) => f.endsWith('.yaml') && !LARGE.has(f))
  .sort();

describe('the scenario library', () => {
  it('has at least 15 scenarios besides the default, each with an expectation that can fail', () => {
    expect(files).toContain('default.yaml');
    expect(files.length).toBeGreaterThanOrEqual(16);
    for (const f of files) {
      const s = loadScenarioFile(join('scenarios', f));
      expect(s.name, f).toBe(f.replace(/\.yaml$/, ''));
      // A bound tighter than the time limit, a ban, hash-failure or completion count to meet, or a
      // group compared (expect.faster) or measured (expect.firstCopy).
      const e = s.expect;
      const bounded = (e.completeBy !== undefined && e.completeBy < bounds(s.timeLimit)[0]) || e.settleWithin !== undefined;
      const measured = e.faster !== undefined || e.firstCopy !== undefined;
      expect(bounded || measured || e.banned !== undefined || e.maxHashFailures !== undefined || e.minComplete !== undefined, f).toBe(true);
      // Cheap enough for CI: small torrents, small swarms. free-rider.yaml needs a contended swarm
      // over many rechoke rounds for tit-for-tat to tell (expect.faster): 16 MiB, ~6 s a seed.
      expect(bounds(s.torrent.size)[1], f).toBeLessThanOrEqual((f === 'free-rider.yaml' ? 16 : 4) * 1024 * 1024);
      expect(s.groups.reduce((n, g) => n + bounds(g.count)[1], 0), f).toBeLessThanOrEqual(40);
    }
  });

  it(
    'passes on every listed seed, and every scenario replays with the same trace hash',
    () => {
      const junit = join(mkdtempSync(join(tmpdir(), 'swarmlab-library-')), 'junit.xml');
      let output: string;
      try {
        output = execFileSync(process.execPath, ['bin/swarmlab.mjs', 'test', ...files.map((f) => join('scenarios', f)), '--junit', junit], { encoding: 'utf8', stdio: 'pipe', timeout: 290_000 });
      } catch (e) {
        const err = e as { status: number; stdout: string; stderr: string };
        throw new Error(`swarmlab test scenarios/ exited ${err.status}:\n${err.stdout}\n${err.stderr}`);
      }
      expect(output).toMatch(/\n\d+ passed, 0 failed\n/);
      const xml = readFileSync(junit, 'utf8');
      expect(xml).toMatch(/<testsuites name="swarmlab" tests="\d+" failures="0"/);
      expect(xml.match(/<testsuite /g)).toHaveLength(files.length);
      expect(xml.match(/name="determinism \(seed [^)]* twice\)"/g)).toHaveLength(files.length);
    },
    300_000,
  );
});
