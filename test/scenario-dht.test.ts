// The DHT in scenarios (issue 14): `tracker: false`, `dht: { nodes }`, per-group `dht: true` and
// `magnet: true`. Peers find each other through the simulated DHT alone, magnet leechers fetch the
// info dictionary over BEP 9 first, and the swarm's faults reach the peers' KRPC datagrams.

import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../engine/trace.ts';
import { memoryTrace } from '../engine/trace-writer.ts';
import { loadScenario, parseScenarioText } from '../sim/scenario/load.ts';
import { runResolvedScenario } from '../sim/scenario/run.ts';
import { MiB } from '../sim/network.ts';
import { Swarm } from '../sim/swarm.ts';

/** Runs a scenario file (a path) or a scenario's text. */
function run(file: string, seed = '1') {
  const mem = memoryTrace();
  const source = file.endsWith('.yaml') ? file : parseScenarioText(file);
  let swarm: Swarm | undefined;
  const result = runResolvedScenario(loadScenario(source, seed), seed, { traceOut: mem.out, observe: (s) => (swarm = s) });
  const events: TraceEvent[] = mem.lines.slice(1).map((l) => JSON.parse(l));
  return { result, events, swarm: swarm! };
}

const TRACKERLESS = `name: t
torrent: { size: 1MiB, pieceLength: 64KiB }
tracker: false
dht: { nodes: 60 }
groups:
  - { name: S, role: seed, dht: true }
  - { name: L, count: 5, dht: true, magnet: true }
timeLimit: 3min
`;

describe('the DHT in scenarios', () => {
  it('trackerless-magnet: every leecher, given only a magnet link, finds peers through the DHT, fetches the metadata and completes', () => {
    const { result, events } = run('scenarios/trackerless-magnet.yaml');
    expect(result.failures).toEqual([]);
    const leechers = [...new Set(events.filter((e) => e.kind === 'join' && e.role === 'leecher').map((e) => e.peer))];
    expect(leechers).toHaveLength(12);
    for (const l of leechers) {
      // Its own get_peers went out, it checked metadata from a peer before it had any piece, and it completed.
      expect(events.some((e) => e.kind === 'krpc' && e.peer === l && e.dir === 'out' && e.method === 'get_peers')).toBe(true);
      const metadata = events.findIndex((e) => e.peer === l && e.node === 'metadataCheck');
      const firstPiece = events.findIndex((e) => e.peer === l && e.kind === 'verified');
      expect(metadata).toBeGreaterThanOrEqual(0);
      expect(firstPiece).toBeGreaterThan(metadata);
      expect(events.some((e) => e.kind === 'complete' && e.peer === l)).toBe(true);
    }
    // No tracker told anyone of anybody.
    expect(events.filter((e) => e.kind === 'announce').every((e) => (e.peers ?? 0) === 0)).toBe(true);
  });

  it('dht-adversaries: bogus peers, Sybils, floods and churn in the DHT; every magnet leecher still completes in bounded time', () => {
    const { result, events, swarm } = run('scenarios/dht-adversaries.yaml');
    expect(result.failures).toEqual([]);
    const lies = (kind: string) => swarm.dht!.liars.filter((l) => l.kind === kind).reduce((n, l) => n + l.liar.lies, 0);
    // Each kind did its part: made-up peers handed out, announces swallowed.
    expect(lies('bogus')).toBeGreaterThan(0);
    expect(lies('sybil')).toBeGreaterThan(0);
    // The floods reached the peers' nodes: far more queries came in than the peers' own lookups explain.
    const floodIn = events.filter((e) => e.kind === 'krpc' && e.dir === 'in' && e.y === 'q' && swarm.dht!.liars.some((l) => l.kind === 'flood' && `${l.liar.localAddress.host}:${l.liar.localAddress.port}` === e.remote));
    expect(floodIn.length).toBeGreaterThan(1_000);
    expect(events.filter((e) => e.kind === 'fault' && e.fault === 'dht-churn').length).toBeGreaterThan(20);
    // The made-up peers reached the clients, which dialled them and moved on.
    const bogusKnown = swarm.peers.flatMap((p) => p.client?.knownPeers() ?? []).filter((a) => a.host.startsWith('192.0.2.'));
    expect(bogusKnown.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'complete').length).toBe(12);
  });

  it('is deterministic: the same seed gives the same trace', () => {
    expect(run(TRACKERLESS, '4').result.traceHash).toBe(run(TRACKERLESS, '4').result.traceHash);
  });

  it('without the DHT nobody finds anybody: tracker: false alone is refused, naming what to add', () => {
    expect(() => parseScenarioText(TRACKERLESS.replace(/, dht: true/g, '').replace('dht: { nodes: 60 }\n', ''))).toThrow(/tracker: false nobody can find anybody: give some groups dht: true/);
    expect(() => parseScenarioText(TRACKERLESS.replace('{ name: S, role: seed, dht: true }', '{ name: S, role: seed, dht: true, magnet: true }'))).toThrow(/magnet: true is for leechers/);
    expect(() => parseScenarioText(TRACKERLESS.replace('dht: { nodes: 60 }', 'dht: { nodes: 1000000 }'))).toThrow(/at most 100000 DHT nodes/);
  });

  it("a partition cuts the peers' KRPC datagrams too: leechers cut off from the seed never find it, and complete once it heals", () => {
    const cut = TRACKERLESS.replace('timeLimit: 3min', 'faults:\n  - { kind: partition, at: 0s, until: 40s, between: [L, S] }\ntimeLimit: 3min');
    const { result, events, swarm } = run(cut);
    expect(result.failures).toEqual([]);
    expect(swarm.dht!.dht.net.stats.cut).toBeGreaterThan(0);
    // Nothing from the seed before the heal: no metadata, no piece.
    expect(events.filter((e) => e.kind === 'verified' && e.t < 40_000)).toEqual([]);
    expect(events.some((e) => e.node === 'metadataCheck' && e.t < 40_000)).toBe(false);
    expect(events.filter((e) => e.kind === 'complete').length).toBe(5);
  });

  it('a paused torrent looks nothing up on the DHT, and looks up at once when it resumes', () => {
    // The seed joins late, so the leechers find nobody and look up again every few seconds; one of
    // them is paused from 1 s to 31 s.
    const text = `name: p
torrent: { size: 1MiB, pieceLength: 64KiB }
tracker: false
dht: { nodes: 60 }
groups:
  - { name: S, role: seed, dht: true, joinAt: 20s }
  - { name: L, count: 2, dht: true }
faults:
  - { kind: pause-torrent, at: 1s, duration: 30s, group: L, count: 1 }
timeLimit: 3min
`;
    const { result, events } = run(text);
    expect(result.failures).toEqual([]);
    const lookups = (peer: string, from: number, to: number) => events.filter((e) => e.kind === 'krpc' && e.peer === peer && e.dir === 'out' && e.method === 'get_peers' && e.t >= from && e.t < to).length;
    // The paused one told its tracker `stopped` at 1 s.
    const paused = ['L0', 'L1'].find((l) => events.some((e) => e.peer === l && e.kind === 'announce' && e.event === 'stopped' && e.t < 2_000))!;
    const other = paused === 'L0' ? 'L1' : 'L0';
    expect(paused).toBeDefined();
    // A lookup in flight at the pause may still ask a few nodes; none starts after.
    expect(lookups(paused, 3_000, 31_000)).toBe(0);
    expect(lookups(other, 3_000, 31_000)).toBeGreaterThan(0);
    expect(lookups(paused, 31_000, 32_000)).toBeGreaterThan(0);
  });

  it('a loss fault on a group drops its KRPC datagrams', () => {
    const base = {
      seed: '1', size: 1 * MiB, pieceLength: 64 * 1024, latency: [10, 40] as [number, number], timeLimit: 60_000, trackerInterval: 60_000, tracker: false, dht: { nodes: 30 }, traceLevel: 'peers' as const,
      groups: [
        { prefix: 'S', count: 1, role: 'seed' as const, upload: MiB, download: MiB, dht: true },
        { prefix: 'L', count: 3, role: 'leecher' as const, upload: MiB, download: MiB, dht: true },
      ],
    };
    const lossy = new Swarm(base);
    lossy.network.setLoss(['L0', 'L1', 'L2'], 0.5);
    lossy.run();
    const clean = new Swarm(base);
    clean.run();
    expect(clean.dht!.dht.net.stats.lost).toBe(0);
    expect(lossy.dht!.dht.net.stats.lost).toBeGreaterThan(0);
  });
});
