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
import { MiB } from '../sim/network.ts';
import { Swarm, swarmOf } from '../sim/swarm.ts';

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

// A crowd of 300 on default settings, every host 30 ms away: the handshakes of a whole crowd land at
// once. Before our own dials held their connection slots, inbound handshakes from other leechers
// took them and every leecher's dial to the seed was refused as it completed ('too many
// connections'): no leecher had a piece for 140 s (the first redial). 2 MiB keeps it short; the
// connection slots fill the same way (`npm run bench -- flash300 flash1000` for 16 MiB).
describe('a flash crowd of 300, all at the same latency', () => {
  it('every leecher gets its first piece within 20 s and completes', { timeout: 300_000 }, () => {
    const firstPiece = new Map<string, number>();
    const swarm = new Swarm(
      swarmOf('1', 1, 300, {
        size: 2 * MiB,
        latency: [30, 30],
        timeLimit: 600_000,
        traceLevel: 'peers',
        checkCounters: false,
        traceOut: (text) => {
          for (const line of text.split('\n')) {
            if (!line.includes('"verified"')) continue;
            const e = JSON.parse(line) as { t: number; peer: string };
            if (!firstPiece.has(e.peer)) firstPiece.set(e.peer, e.t);
          }
        },
      }),
    );
    const result = swarm.run();
    const leechers = result.peers.filter((p) => p.role === 'leecher');
    expect(leechers).toHaveLength(300);
    expect(leechers.filter((p) => p.completedAt === undefined).map((p) => p.label)).toEqual([]);
    const late = leechers.filter((p) => !((firstPiece.get(p.label) ?? Infinity) <= 20_000)).map((p) => p.label);
    expect(late).toEqual([]);
  });
});
