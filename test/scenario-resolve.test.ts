// Drawing a file's ranges from the seed, and writing a resolved scenario back as a file.

import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../sim/scenario/load.ts';
import { countRanges, resolveScenario } from '../sim/scenario/resolve.ts';
import { seedList } from '../sim/scenario/seeds.ts';
import { KiB, MiB } from '../sim/scenario/units.ts';
import { scenarioToYaml } from '../sim/scenario/write.ts';

const FAMILY = `
name: family
torrent: { size: 1MiB..4MiB, pieceLength: 16KiB..1MiB, files: 1..5 }
groups:
  - { name: S, role: seed, upload: 1MiB/s..2MiB/s, latency: [5ms..10ms, 50ms..80ms] }
  - { name: L, count: 20..200, upload: 256KiB/s..2MiB/s, joinAt: 30s..60s, leave: { when: after, time: 2min..3min }, settings: { uploadSlots: 2..8, piecePicker: sequential } }
network: { latency: 10ms..200ms }
faults:
  - { kind: partition, at: 10s..20s, until: 30s..40s, between: [S, L] }
  - { kind: random, rate: 1/min..10/min, from: 0s, until: 1min, fault: { kind: stall, group: L, duration: 1s..5s } }
  - { kind: corrupt-read, at: 1s, group: L, probability: 0.01..0.2 }
timeLimit: 5min..10min
trackerInterval: 1min
expect: { completeBy: 4min, banned: [L3] }
seeds: [7, abc]
`;
const family = parseScenarioText(FAMILY);

const SEEDS = Array.from({ length: 40 }, (_, i) => String(i + 1));

describe('resolving a scenario file', () => {
  it('draws the same values under the same seed', () => {
    expect(resolveScenario(family, '42')).toEqual(resolveScenario(family, '42'));
  });

  it('draws every range within its bounds, whole numbers where whole, powers of two for piece lengths', () => {
    for (const seed of SEEDS) {
      const s = resolveScenario(family, seed);
      const [, L] = s.groups;
      expect(s.torrent.size).toBeGreaterThanOrEqual(MiB);
      expect(s.torrent.size).toBeLessThanOrEqual(4 * MiB);
      expect(Number.isInteger(s.torrent.size)).toBe(true);
      expect([16, 32, 64, 128, 256, 512, 1024].map((k) => k * KiB)).toContain(s.torrent.pieceLength);
      expect(L.count).toBeGreaterThanOrEqual(20);
      expect(L.count).toBeLessThanOrEqual(200);
      expect(Number.isInteger(L.count)).toBe(true);
      expect(L.upload).toBeGreaterThanOrEqual(256 * KiB);
      expect(L.upload).toBeLessThanOrEqual(2 * MiB);
      expect(L.joinAt).toBeGreaterThanOrEqual(30_000);
      expect(L.joinAt).toBeLessThanOrEqual(60_000);
      expect(L.settings!.uploadSlots).toBeGreaterThanOrEqual(2);
      expect(L.settings!.uploadSlots).toBeLessThanOrEqual(8);
      const [lo, hi] = s.groups[0].latency!;
      expect(lo).toBeGreaterThanOrEqual(5);
      expect(hi).toBeLessThanOrEqual(80);
      expect(lo).toBeLessThanOrEqual(hi);
      const [partition, random, corrupt] = s.faults;
      expect(partition.kind === 'partition' && partition.at <= partition.until!).toBe(true);
      expect(random.kind === 'random' && random.rate >= 1 && random.rate <= 10).toBe(true);
      expect(corrupt.kind === 'corrupt-read' && corrupt.probability >= 0.01 && corrupt.probability <= 0.2).toBe(true);
      expect(s.timeLimit).toBeGreaterThanOrEqual(300_000);
      expect(s.timeLimit).toBeLessThanOrEqual(600_000);
    }
  });

  it('draws different values under different seeds, over the whole range', () => {
    const counts = SEEDS.map((seed) => resolveScenario(family, seed).groups[1].count);
    expect(new Set(counts).size).toBeGreaterThan(25);
    expect(Math.min(...counts)).toBeLessThan(65);
    expect(Math.max(...counts)).toBeGreaterThan(155);
    const pieceLengths = new Set(SEEDS.map((seed) => resolveScenario(family, seed).torrent.pieceLength));
    expect(pieceLengths.size).toBeGreaterThanOrEqual(5);
  });

  it('keeps what is fixed as written, and the network latency as a per-host spread', () => {
    const s = resolveScenario(family, '1');
    expect(s.network.latency).toEqual([10, 200]);
    expect(s.trackerInterval).toBe(60_000); // every time in ms, the announce interval too
    expect(s.expect).toEqual({ allComplete: true, completeBy: 240_000, banned: ['L3'] });
    expect(s.seeds).toEqual(['7', 'abc']);
    expect(s.groups[1].settings!.piecePicker).toBe('sequential');
  });

  it('draws each field from its own stream: changing one range does not move another', () => {
    const other = parseScenarioText(
      FAMILY.replace('count: 20..200', 'count: 5..6').replace('size: 1MiB..4MiB', 'size: 2MiB'),
    );
    for (const seed of SEEDS.slice(0, 10)) {
      const a = resolveScenario(family, seed);
      const b = resolveScenario(other, seed);
      expect(b.groups[1].upload).toBe(a.groups[1].upload);
      expect(b.faults).toEqual(a.faults);
      expect(b.timeLimit).toBe(a.timeLimit);
    }
  });

  it('counts the ranges a file holds', () => {
    expect(countRanges(family)).toBe(17); // the network latency is a spread, not a range
  });
});

describe('writing a resolved scenario back as a file', () => {
  it('gives a file that loads back to the same scenario under any seed', () => {
    for (const seed of SEEDS.slice(0, 10)) {
      const s = resolveScenario(family, seed);
      const text = scenarioToYaml(s, { comment: 'a comment\nover two lines' });
      expect(text.startsWith('# a comment\n# over two lines\n')).toBe(true);
      expect(resolveScenario(parseScenarioText(text), 'another seed')).toEqual(s);
    }
  });

  it('writes units a person reads and leaves defaults out', () => {
    const text = scenarioToYaml(resolveScenario(parseScenarioText('name: m\ntorrent: { size: 4MiB }\ngroups: [{ name: S, role: seed }, { name: L, count: 3, upload: 1.5MiB/s }]\n'), '1'));
    expect(text).toBe(
      ['name: m', 'torrent: { size: 4MiB }', 'groups:', '  - { name: S, count: 1, role: seed }', '  - { name: L, count: 3, role: leecher, upload: 1.5MiB/s }', 'seeds: [ 1 ]', ''].join('\n'),
    );
  });
});

describe('seed lists', () => {
  it('runs the listed seeds, then K more counting up, skipping those listed', () => {
    expect(seedList(['1', '2'], 0)).toEqual(['1', '2']);
    expect(seedList(['1', '3'], 3)).toEqual(['1', '3', '2', '4', '5']);
    expect(seedList(['x'], 2, 100)).toEqual(['x', '100', '101']);
  });
});
