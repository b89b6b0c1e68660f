// Web seeds and pause-torrent in the scenario format, run in memory: the `webSeeds` key and the
// simulator's web-seed host (sim/web-seed-host.ts), its `web-seed-down`/`web-seed-corrupt` faults,
// the `pause-torrent` fault (the engine's pause, not the frozen process of `pause`), and the
// checks that refuse them where they cannot work.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/trace.ts';
import { loadScenario, parseScenarioText, runScenario } from '../sim/scenario/load.ts';
import { scenarioToYaml } from '../sim/scenario/write.ts';
import { tcpProblems } from '../sim/tcp/run.ts';

function traced(text: string, seed = 1): { ok: boolean; failures: unknown[]; events: TraceEvent[] } {
  let lines = '';
  const result = runScenario(parseScenarioText(text), seed, { traceOut: (t) => (lines += t) });
  const events = lines.split('\n').filter(Boolean).slice(1).map((l) => JSON.parse(l) as TraceEvent);
  return { ok: result.ok, failures: result.failures, events };
}

const ONLY_WEB_SEED = `
name: only-web-seed
torrent: { size: 1MiB, pieceLength: 64KiB, files: 2 }
webSeeds: [{ upload: 512KiB/s }]
groups:
  - { name: L, count: 3 }
timeLimit: 2min
`;

describe('web seeds in scenarios', () => {
  it('the library scenario passes: the web seed is the only source, and survives its outage', () => {
    const { ok, failures, events } = traced(readFileSync('scenarios/web-seed.yaml', 'utf8'));
    expect(failures).toEqual([]);
    expect(ok).toBe(true);
    expect(events.filter((e) => e.kind === 'complete')).toHaveLength(8);
    // The outage was felt (HTTP 503) and healed; no web seed was retired for it.
    const webSeedEvents = events.filter((e) => e.kind === 'webseed');
    expect(webSeedEvents.length).toBeGreaterThan(0);
    expect(webSeedEvents.every((e) => e.state === 'failed' && String(e.error).includes('503'))).toBe(true);
  });

  it('a web seed alone serves a multi-file torrent to every leecher', () => {
    const { ok, events } = traced(ONLY_WEB_SEED);
    expect(ok).toBe(true);
    expect(events.filter((e) => e.kind === 'complete').map((e) => e.peer).sort()).toEqual(['L0', 'L1', 'L2']);
    expect(events.filter((e) => e.kind === 'hashfail')).toEqual([]);
  });

  it('a corrupt web seed: pieces fail their check and every leecher retires it', () => {
    const { ok, events } = traced(`${ONLY_WEB_SEED}faults:\n  - { kind: web-seed-corrupt, at: 0s }\nexpect: { allComplete: false }\n`);
    expect(ok).toBe(true);
    expect(events.filter((e) => e.kind === 'hashfail').length).toBeGreaterThan(0);
    const retired = events.filter((e) => e.kind === 'webseed' && e.state === 'retired').map((e) => e.peer);
    expect(retired.sort()).toEqual(['L0', 'L1', 'L2']);
    expect(events.filter((e) => e.kind === 'complete')).toEqual([]);
  });

  it('the same scenario and seed give the same trace (the web seed host runs on virtual time)', () => {
    const a = runScenario(parseScenarioText(ONLY_WEB_SEED), 7);
    const b = runScenario(parseScenarioText(ONLY_WEB_SEED), 7);
    expect(a.traceHash).toBe(b.traceHash);
  });

  it('webSeeds writes back and loads to the same scenario', () => {
    const s = loadScenario(parseScenarioText(ONLY_WEB_SEED), 1);
    expect(s.webSeeds).toEqual([{ upload: 512 * 1024, latency: 25 }]);
    expect(loadScenario(parseScenarioText(scenarioToYaml(s)), 1)).toEqual(s);
  });

  it('refuses web seed faults without web seeds, a web seed that does not exist, and TCP', () => {
    const base = `name: x\ntorrent: { size: 1MiB }\ngroups: [{ name: L }]\n`;
    expect(() => parseScenarioText(`${base}faults: [{ kind: web-seed-down, at: 1s }]\n`)).toThrow(/fault web-seed-down needs web seeds/);
    expect(() => parseScenarioText(`${base}webSeeds: [{}]\nfaults: [{ kind: web-seed-corrupt, at: 1s, seed: 1 }]\n`)).toThrow(/no web seed 1: there is 1/);
    expect(tcpProblems(loadScenario(parseScenarioText(`${base}webSeeds: [{}]\n`), 1))).toEqual([expect.stringContaining('memory transport only')]);
  });
});

describe('pause-torrent in scenarios', () => {
  it('the library scenario: paused peers announce stopped, keep their pieces, resume without a re-check and complete', () => {
    const { ok, failures, events } = traced(readFileSync('scenarios/pause-torrent.yaml', 'utf8'));
    expect(failures).toEqual([]);
    expect(ok).toBe(true);
    for (const peer of ['P0', 'P1']) {
      const mine = events.filter((e) => e.peer === peer);
      const pause = mine.find((e) => e.kind === 'pause')!;
      const resume = mine.find((e) => e.kind === 'resume')!;
      expect(pause.t).toBe(4_000);
      expect(resume.t).toBe(24_000);
      expect(resume.pieces).toBe(pause.pieces);
      expect(pause.pieces).toBeGreaterThan(0);
      // Traced when the tracker answers (its delay is 50 ms); `stopped` is not waited for.
      const announces = mine.filter((e) => e.kind === 'announce');
      expect(announces.some((e) => e.event === 'stopped' && e.t === 4_000)).toBe(true);
      expect(announces.some((e) => e.event === 'started' && e.t >= 24_000 && e.t <= 24_100)).toBe(true);
      // Nothing verified while paused.
      expect(mine.filter((e) => e.kind === 'verified' && e.t > pause.t && e.t < resume.t)).toEqual([]);
      expect(mine.some((e) => e.kind === 'complete')).toBe(true);
    }
  });

  it('refuses pause-torrent for another client (its engine is not ours)', () => {
    const text = `name: x\ntransport: tcp\ntorrent: { size: 1MiB }\ngroups: [{ name: S, role: seed }, { name: A, client: aria2 }]\nfaults: [{ kind: pause-torrent, group: A, at: 1s, duration: 5s }]\n`;
    expect(() => parseScenarioText(text)).toThrow(/fault pause-torrent pauses a swarmlab peer's torrent/);
  });
});
