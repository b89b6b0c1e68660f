// The scenario file format: units, defaults, and errors that name the file, the line, the path
// inside the file and what was expected.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenarioText, ScenarioFileError } from '../sim/scenario/load.ts';
import { GiB, KiB, MiB, parseQuantity, parseVarying, Range, UnitError } from '../sim/scenario/units.ts';

/** The error a text gets, as its lines. */
function problems(text: string, file = 'scenarios/bad.yaml'): string[] {
  try {
    parseScenarioText(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioFileError);
    return (e as ScenarioFileError).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected the text to be rejected');
}

const minimal = `name: m
torrent: { size: 1MiB }
groups:
  - { name: S, role: seed }
  - { name: L, count: 3 }
`;

describe('units', () => {
  it('parses sizes, rates, durations, counts, fractions and frequencies', () => {
    expect(parseQuantity('size', '16MiB')).toBe(16 * MiB);
    expect(parseQuantity('size', '1.5GiB')).toBe(1.5 * GiB);
    expect(parseQuantity('size', '512KiB')).toBe(512 * KiB);
    expect(parseQuantity('size', '4096B')).toBe(4096);
    expect(parseQuantity('size', 1000)).toBe(1000);
    expect(parseQuantity('rate', '2MiB/s')).toBe(2 * MiB);
    expect(parseQuantity('rate', '256KiB/s')).toBe(256 * KiB);
    expect(parseQuantity('rate', 'unlimited')).toBe(Infinity);
    expect(parseQuantity('rate', 65536)).toBe(65536);
    expect(parseQuantity('duration', '200ms')).toBe(200);
    expect(parseQuantity('duration', '30s')).toBe(30_000);
    expect(parseQuantity('duration', '1.5s')).toBe(1500);
    expect(parseQuantity('duration', '2min')).toBe(120_000);
    expect(parseQuantity('duration', '1h')).toBe(3_600_000);
    expect(parseQuantity('duration', 250)).toBe(250);
    expect(parseQuantity('count', '20')).toBe(20);
    expect(parseQuantity('fraction', 0.25)).toBe(0.25);
    expect(parseQuantity('frequency', '3/min')).toBe(3);
    expect(parseQuantity('frequency', '0.5/s')).toBe(30);
    expect(parseQuantity('frequency', '6/h')).toBe(0.1);
    expect(parseQuantity('pieceLength', '16KiB')).toBe(16 * KiB);
  });

  it('parses ranges, and a range whose ends are equal is a plain value', () => {
    expect(parseVarying('count', '20..200')).toEqual(new Range(20, 200, 'int'));
    expect(parseVarying('duration', '10ms..2s')).toEqual(new Range(10, 2000, 'int'));
    expect(parseVarying('rate', '256KiB/s..2MiB/s')).toEqual(new Range(256 * KiB, 2 * MiB, 'int'));
    expect(parseVarying('pieceLength', '16KiB..1MiB')).toEqual(new Range(16 * KiB, MiB, 'pow2'));
    expect(parseVarying('fraction', '0.1..0.2')).toEqual(new Range(0.1, 0.2, 'real'));
    expect(parseVarying('size', '1MiB..1024KiB')).toBe(MiB);
  });

  it('rejects what is not a quantity of the kind asked, saying what was expected', () => {
    const bad: [Parameters<typeof parseQuantity>[0], unknown][] = [
      ['size', '4MB'],
      ['size', '1.5B'],
      ['size', 'big'],
      ['size', -1],
      ['rate', '2MiB'],
      ['rate', '0B/s'],
      ['duration', '30 sec'],
      ['duration', 'unlimited'],
      ['count', 2.5],
      ['fraction', 1.5],
      ['pieceLength', '100KiB'],
      ['pieceLength', '8KiB'],
      ['frequency', '3 per min'],
      ['count', true],
    ];
    for (const [kind, value] of bad) expect(() => parseQuantity(kind, value), `${kind} ${String(value)}`).toThrow(UnitError);
    expect(() => parseQuantity('size', '4MB')).toThrow('expected a size such as 4MiB, 512KiB or 1048576 (bytes), or a range such as 1MiB..4MiB, got "4MB"');
    expect(() => parseVarying('count', '200..20')).toThrow('a range goes from low to high, got "200..20"');
    expect(() => parseVarying('count', '1..2..3')).toThrow(UnitError);
  });
});

describe('scenario files', () => {
  it('fills in every default of a minimal file', () => {
    const f = parseScenarioText(minimal);
    expect(f.torrent).toEqual({ size: MiB, pieceLength: 256 * KiB, files: 1 });
    expect(f.groups[0]).toMatchObject({ name: 'S', count: 1, role: 'seed', upload: 2 * MiB, download: 2 * MiB, joinAt: 0, leave: { when: 'never' }, behaviour: 'honest' });
    expect(f.groups[1]).toMatchObject({ name: 'L', count: 3, role: 'leecher', upload: 512 * KiB, download: 2 * MiB });
    expect(f.network).toEqual({ latency: [10, 60] });
    expect(f.faults).toEqual([]);
    expect(f.timeLimit).toBe(600_000);
    expect(f.expect).toEqual({ allComplete: true });
    expect(f.seeds).toEqual(['1']);
  });

  it('reads JSON as well as YAML, and the leave shorthands', () => {
    const f = parseScenarioText(
      JSON.stringify({ name: 'j', torrent: { size: '2MiB' }, groups: [{ name: 'S', role: 'seed', leave: 'on-complete' }, { name: 'L', leave: { when: 'after', time: '30s' } }], seeds: [1, 'x'] }),
      'x.json',
    );
    expect(f.groups[0].leave).toEqual({ when: 'on-complete' });
    expect(f.groups[1].leave).toEqual({ when: 'after', time: 30_000 });
    expect(f.seeds).toEqual(['1', 'x']);
  });

  it('names the file, the line, the path and what was expected, for every mistake at once', () => {
    const lines = problems(`name: bad
torrent: { size: 4MB }
groups:
  - { name: S, role: seed }
  - { name: L, count: many, role: peer, upload: fast }
`);
    expect(lines).toEqual([
      'scenarios/bad.yaml:2:18: torrent.size: expected a size such as 4MiB, 512KiB or 1048576 (bytes), or a range such as 1MiB..4MiB, got "4MB"',
      'scenarios/bad.yaml:5:23: groups[1].count: expected a whole number such as 20, or a range such as 20..200, got "many"',
      'scenarios/bad.yaml:5:35: groups[1].role: expected one of seed, leecher, got "peer"',
      expect.stringMatching(/^scenarios\/bad\.yaml:5:49: groups\[1\]\.upload: expected a rate such as 2MiB\/s.*, got "fast"$/),
    ]);
  });

  it('rejects unknown keys, suggesting the key meant', () => {
    const lines = problems(`${minimal}    uplaod: 1MiB/s\n`.replace('  - { name: L, count: 3 }\n', '  - name: L\n'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^scenarios\/bad\.yaml:6:5: groups\[1\]\.uplaod: unknown key; did you mean "upload"\? \(the keys here are name, count, role, upload,/);
    expect(problems(`${minimal}timelimit: 5min\n`)[0]).toMatch(/^scenarios\/bad\.yaml:6:1: timelimit: unknown key; did you mean "timeLimit"\?/);
    expect(problems(`${minimal}settings: { uploadSlot: 3 }\n`)[0]).toMatch(/settings\.uploadSlot: unknown key; did you mean "uploadSlots"\?/);
  });

  it('says what is missing', () => {
    expect(problems('name: x\ngroups: []\n')).toEqual([
      'scenarios/bad.yaml:1:1: torrent: required: expected a mapping of keys to values',
      'scenarios/bad.yaml:2:9: groups: expected at least one peer group',
    ]);
    expect(problems('torrent: { size: 1MiB }\ngroups: [{ name: S }]\n')[0]).toBe('scenarios/bad.yaml:1:1: name: required: expected the scenario name');
    expect(problems(`${minimal}faults:\n  - { kind: crash, group: L }\n`)[0]).toMatch(/faults\[0\]\.at: required: a duration such as 200ms/);
  });

  it('checks fault kinds and their fields', () => {
    expect(problems(`${minimal}faults:\n  - { kind: partiton, at: 1s, between: [S, L] }\n`)[0]).toMatch(
      /faults\[0\]\.kind: expected a fault of kind latency, bandwidth, .*, got "partiton"; did you mean "partition"\?$/,
    );
    expect(problems(`${minimal}faults:\n  - { kind: corrupt-read, at: 1s, group: L, probability: 2 }\n`)[0]).toMatch(
      /faults\[0\]\.probability: expected a number from 0 to 1/,
    );
    expect(problems(`${minimal}faults:\n  - { kind: random, rate: 2/min, until: 1min, fault: { kind: explode, group: L } }\n`)[0]).toMatch(
      /faults\[0\]\.fault\.kind: expected a fault of kind reset, crash, stall, churn or dht-churn, got "explode"/,
    );
  });

  it('checks references between fields: groups named, times in order, names unique', () => {
    const lines = problems(`name: x
torrent: { size: 1MiB }
groups:
  - { name: S, role: seed }
  - { name: L }
  - { name: L }
faults:
  - { kind: crash, at: 1s, group: X }
  - { kind: partition, at: 10s, until: 5s..20s, between: [S, Q] }
expect: { banned: [Z3], completeBy: 1h }
`);
    expect(lines).toEqual([
      'scenarios/bad.yaml:6:13: groups[2].name: group name "L" is used twice',
      'scenarios/bad.yaml:8:35: faults[0].group: no group is called "X"; the groups are S, L',
      // In the order of the file: `until` comes before `between` on line 9.
      'scenarios/bad.yaml:9:40: faults[1].until: expected a time after `at` (10s) for every draw, got 5s..20s',
      'scenarios/bad.yaml:9:62: faults[1].between[1]: no group is called "Q"; the groups are S, L',
      'scenarios/bad.yaml:10:20: expect.banned[0]: expected a group or a peer of a group (S, L or e.g. S0), got "Z3"',
      'scenarios/bad.yaml:10:37: expect.completeBy: expected a time within the time limit (10min) for every draw, got 1h',
    ]);
  });

  it('rejects group names that would make peer labels ambiguous', () => {
    expect(problems(`name: x\ntorrent: { size: 1MiB }\ngroups: [{ name: L1 }]\n`)[0]).toMatch(/groups\[0\]\.name: expected a group name .* not end in a digit .*, got "L1"$/);
  });

  it('reports YAML that does not parse, with its position', () => {
    expect(problems('name: [x\n')[0]).toMatch(/^scenarios\/bad\.yaml:\d+:\d+: not valid YAML: /);
    expect(problems('name: a\nname: b\n')[0]).toMatch(/not valid YAML: Map keys must be unique/);
  });

  it('names the file when it cannot be read, and loads one that can', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-schema-'));
    expect(() => loadScenarioFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: not a valid scenario \(1 problem\):\n.*cannot be read/);
    const path = join(dir, 'ok.yaml');
    writeFileSync(path, minimal);
    expect(loadScenarioFile(path).name).toBe('m');
    writeFileSync(path, minimal.replace('1MiB', '1 megabyte'));
    expect(() => loadScenarioFile(path)).toThrow(`${path}:2:18: torrent.size: expected a size`);
  });
});

describe('one pass over a file', () => {
  it('reports its references to unknown groups with its other problems, in the order of the file', () => {
    const text = [
      'name: m',
      'torrent: { size: 1MiB, pieceLength: 3KiB }',
      'groups:',
      '  - { name: S, role: seeder }',
      '  - { name: L, count: 3 }',
      'faults:',
      '  - { kind: crash, at: 5s, group: Q }',
      '  - { kind: partition, at: 1s, between: [S, X] }',
      'expect: { banned: [Z], faster: [{ group: L, than: W, by: 20% }] }',
    ].join('\n');
    const lines = problems(text);
    expect(lines.map((l) => l.replace(/^scenarios\/bad\.yaml:(\d+):\d+: ([^:]+):.*$/, '$1 $2'))).toEqual([
      '2 torrent.pieceLength',
      '4 groups[0].role',
      '7 faults[0].group',
      '8 faults[1].between[1]',
      '9 expect.banned[0]',
      '9 expect.faster[0].than',
    ]);
    expect(lines[2]).toContain('no group is called "Q"; the groups are S, L');
  });

  it('says a reference once when the file is otherwise well formed', () => {
    const lines = problems(minimal + 'faults:\n  - { kind: crash, at: 5s, group: Q }\n');
    expect(lines).toEqual(['scenarios/bad.yaml:7:35: faults[0].group: no group is called "Q"; the groups are S, L']);
  });
});
