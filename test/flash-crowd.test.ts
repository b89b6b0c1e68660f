// Issue 11's flash crowd at its size (scenarios/flash-crowd-100.yaml: 1 seed, 100 leechers at
// t = 0, 16 MiB, default settings): every leecher completes within the scenario's bound. Too large
// for the library's CI job (test/scenario-library.test.ts), so run here, once, through the CLI
// (whose runs skip the debug counter checks that would triple its time).

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryTrace } from '../engine/trace-writer.ts';
import { parseScenarioText, runScenario } from '../sim/scenario/load.ts';

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

describe('connection slots in a crowd that fills them', () => {
  it("a leecher's dial to the seed makes room when empty-handed inbound leechers took its slot meanwhile", () => {
    // 30 leechers with 10 slots each and one fixed latency: every leecher's dial to the seed is in
    // its handshake while the other leechers' dials arrive, so its slots fill before the seed answers.
    const scenario = parseScenarioText(
      [
        'name: slots-fill',
        'torrent: { size: 2MiB, pieceLength: 256KiB }',
        'groups:',
        '  - { name: S, role: seed, upload: 512KiB/s }',
        '  - { name: L, count: 30, upload: 512KiB/s, download: 2MiB/s }',
        'network: { latency: 30ms }',
        'settings: { maxConnections: 10 }',
        'timeLimit: 10min',
        'expect: { allComplete: true }',
      ].join('\n'),
    );
    const trace = memoryTrace();
    const result = runScenario(scenario, 1, { traceOut: trace.out });
    expect(result.failures).toEqual([]);
    const events = trace.lines.slice(1).map((l) => JSON.parse(l) as { t: number; kind: string; peer: string; remote?: string; reason?: string });
    const refusedSeed = events.filter((e) => e.kind === 'disconnect' && e.remote === 'S0' && e.reason === 'too many connections');
    expect(refusedSeed.map((e) => e.peer)).toEqual([]);
    // Without the room made, the first piece arrived only after the 10 s tick's turnover (21 s).
    const firstPiece = events.find((e) => e.kind === 'verified')!;
    expect(firstPiece.t).toBeLessThan(10_000);
  });
});
