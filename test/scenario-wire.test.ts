// The wire checker in scenario runs (sim/wire-checks.ts, sim/scenario/run.ts): every peer's
// connections are checked; the library's adversaries are caught with the right rule, honest
// swarms report nothing, `expect.noViolations` fails a run naming the peer and rule, and the
// violations reach the trace and `run --json` / `test --json`.

import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/trace.ts';
import { loadScenario, loadScenarioFile, parseScenarioText, runResolved, ScenarioFileError } from '../sim/scenario/load.ts';
import type { ScenarioResult } from '../sim/scenario/types.ts';
import { shrinkScenario } from '../sim/scenario/shrink.ts';
import { isHonest } from '../sim/behaviours.ts';

function run(path: string, seed: string, change?: (file: ReturnType<typeof loadScenarioFile>) => void): { result: ScenarioResult; events: TraceEvent[] } {
  const file = loadScenarioFile(path);
  change?.(file);
  let text = '';
  const result = runResolved(loadScenario(file, seed), seed, { traceOut: (t) => (text += t) });
  const events = text
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TraceEvent);
  return { result, events };
}

/** Rules broken, per peer: `X0 bad-data`. */
const broken = (r: ScenarioResult) => [...new Set(r.violations.map((v) => `${v.peer} ${v.rule}`))].sort();

/** Labels of the peers that run the engine. */
const honestLabels = (r: ScenarioResult) => new Set(r.peers.filter((p) => isHonest(p.behaviour)).map((p) => p.label));

describe("the library's adversaries", () => {
  it('hostile-wire: the malformed and huge-length peers break framing and bitfield rules; no honest peer breaks any', () => {
    const { result, events } = run('scenarios/hostile-wire.yaml', '1');
    expect(result.ok).toBe(true);
    const rules = broken(result);
    expect(rules).toEqual(expect.arrayContaining(['H0 malformed', 'M0 malformed', 'M0 late-bitfield', 'M0 malformed-bitfield', 'M0 have-out-of-range', 'M0 unnegotiated-message']));
    const honest = honestLabels(result);
    expect(result.violations.filter((v) => honest.has(v.peer))).toEqual([]);
    const huge = result.violations.find((v) => v.peer === 'H0')!;
    expect(huge.message).toMatch(/^message length 2147483648 exceeds the limit/);
    expect(huge.bytes).toBe('80000000');
    // Each is a trace event.
    const traced = events.filter((e) => e.kind === 'violation' && String(e.check).startsWith('wire:'));
    expect(traced).toHaveLength(result.violations.length);
    expect(traced[0]).toMatchObject({ peer: result.violations[0].peer, remote: result.violations[0].remote, check: `wire:${result.violations[0].rule}`, detail: result.violations[0].message, bytes: result.violations[0].bytes });
  });

  it('request-flood: the flooders request while choked and out of range', () => {
    const { result } = run('scenarios/request-flood.yaml', '3');
    expect(result.ok).toBe(true);
    expect(broken(result)).toEqual(['X0 request-out-of-range', 'X0 request-while-choked', 'X1 request-out-of-range', 'X1 request-while-choked']);
    // Far more than listed: the list is capped, the count is not.
    expect(result.violations).toHaveLength(100);
    expect(result.violationCount).toBeGreaterThan(10_000);
  });

  it('corrupt-peer: the corrupt seed sends bad data', () => {
    const { result } = run('scenarios/corrupt-peer.yaml', '1');
    expect(broken(result)).toEqual(['X0 bad-data']);
  });
});

describe('honest swarms', () => {
  for (const seed of ['1', '2', '3']) {
    it(`the default swarm reports no violation (seed ${seed})`, () => {
      const { result } = run('scenarios/default.yaml', seed);
      expect(result.ok).toBe(true);
      expect(result.violations).toEqual([]);
      expect(result.violationCount).toBe(0);
    });
  }

  it('a partition that holds a CHOKE, an UNCHOKE and requests behind them reports none (blocks asked twice may be served twice)', () => {
    // Seed 2 once looked like an unrequested PIECE: B2 asked again after the held CHOKE reached it.
    const { result } = run('scenarios/partition-heals.yaml', '2');
    expect(result.violations).toEqual([]);
  });

  it('with BEP 6 and BEP 10 on, an honest swarm with a partition reports none', () => {
    const { result } = run('scenarios/partition-heals.yaml', '1', (f) => (f.settings = { fastExtension: true, extensionProtocol: true }));
    expect(result.ok).toBe(true);
    expect(result.violations).toEqual([]);
  });
});

describe("the engine keeps to the remote's reqq", () => {
  it('a pipeline deeper than the reqq a peer allows stays within it (BEP 10)', () => {
    // swarmlab's engine allows 250 (its BEP 10 handshake's reqq); these leechers would ask for 400.
    const deep = { fastExtension: true, extensionProtocol: true, hiWatermark: 400, loWatermark: 300 };
    const { result } = run('scenarios/default.yaml', '1', (f) => (f.settings = deep));
    expect(result.ok).toBe(true);
    expect(broken(result)).toEqual([]);
  });
});

describe('expect.noViolations', () => {
  it('fails the run naming the peer, the rule and the first message when a named group broke a rule', () => {
    const { result } = run('scenarios/corrupt-peer.yaml', '1', (f) => (f.expect.noViolations = ['X']));
    expect(result.ok).toBe(false);
    const failure = result.failures.find((f) => f.check === 'no-violations')!;
    expect(failure.peer).toBe('X0');
    expect(failure.message).toMatch(/^X0 broke the wire protocol \d+ times \(bad-data ×\d+\); first, to L\d+: \[bad-data\] PIECE \d+:\d+\+16384: the block differs from the payload/);
  });

  it('passes when the named groups and peers are honest', () => {
    const { result } = run('scenarios/corrupt-peer.yaml', '1', (f) => (f.expect.noViolations = ['S', 'L', 'L3']));
    expect(result.failures.filter((f) => f.check === 'no-violations')).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('shrinks to a scenario that still has the peer it names, and only that expectation', () => {
    const file = loadScenarioFile('scenarios/corrupt-peer.yaml');
    file.expect.noViolations = ['X'];
    const r = shrinkScenario(loadScenario(file, '1'), { seed: '1', check: 'no-violations', run: (s, seed) => runResolved(s, seed), maxRuns: 40 });
    expect(r.failure).toMatchObject({ check: 'no-violations', peer: 'X0' });
    expect(r.shrunk.groups.map((g) => g.name)).toContain('X');
    expect(r.shrunk.expect).toEqual({ allComplete: false, noViolations: ['X'] });
  });

  it('refuses a name that is no group, as expect.banned does', () => {
    const text = 'name: x\ntorrent: { size: 64KiB }\ngroups: [{ name: S, role: seed }, { name: L }]\nexpect: { noViolations: [Z] }\n';
    expect(() => parseScenarioText(text, 'x.yaml')).toThrow(ScenarioFileError);
    expect(() => parseScenarioText(text, 'x.yaml')).toThrow(/expect\.noViolations\[0\]: expected a group or a peer of a group \(S, L or e\.g\. S0\), got "Z"/);
  });
});

describe('the commands', () => {
  const BIN = resolve('bin/swarmlab.mjs');
  const swarmlab = (args: string[]) => {
    try {
      return execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    } catch (e) {
      return (e as { stdout: string }).stdout;
    }
  };

  it('run --json and test --json print the violations', () => {
    const one = JSON.parse(swarmlab(['run', 'scenarios/corrupt-peer.yaml', '--seed', '1', '--json', '--trace', 'out/test-wire-run.jsonl']));
    expect(one.violationCount).toBeGreaterThan(0);
    expect(one.violations[0]).toMatchObject({ peer: 'X0', rule: 'bad-data' });
    const suite = JSON.parse(swarmlab(['test', 'scenarios/corrupt-peer.yaml', '--json']));
    expect(suite.runs.length).toBe(4); // three seeds and the determinism rerun
    expect(suite.failed).toBe(0);
    expect(suite.runs[0]).toMatchObject({ scenario: 'corrupt-peer', seed: '1', ok: true });
    expect(suite.runs[0].violations[0]).toMatchObject({ peer: 'X0', rule: 'bad-data' });
  }, 120_000);
});
