// One definition per fact (issue 9, items 7 and 8b): string settings and behaviour names come from
// one table each, which the scenario schema uses too; byte helpers, piece and block sizes, peer ids and the
// trace's format constants are defined once, and no source file declares its own copy; every
// duration inside the simulator is in milliseconds.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePeerId } from '../engine/peer-id.ts';
import { SETTING_LIMITS } from '../engine/settings.ts';
import { TRACE_FORMAT, TRACE_KINDS, TRACE_VERSION } from '../engine/trace.ts';
import { ADVERSARY_BEHAVIOURS, isAdversaryBehaviour } from '../sim/adversary.ts';
import { BEHAVIOUR_NAMES, BEHAVIOURS, isHonest } from '../sim/behaviours.ts';
import { loadScenario, parseScenarioText, ScenarioFileError } from '../sim/scenario/load.ts';
import { swarmOptionsOf } from '../sim/scenario/run.ts';
import { runSwarm } from '../sim/swarm.ts';
import { SeedRoot } from '../sim/random.ts';
import { EVENT_KINDS, KNOWN_VERSIONS, parseTrace } from '../viz/trace-table.ts';

/** A file whose seed group carries `settings` and whose leecher group has `behaviour`. */
function file(settings: string, behaviour = 'honest'): string {
  return `name: m\ntorrent: { size: 1MiB }\ngroups:\n  - { name: S, role: seed, settings: ${settings} }\n  - { name: L, behaviour: ${behaviour} }\nsettings: ${settings}\n`;
}

/** The problems a text gets, one a line; [] when it loads. */
function problems(text: string): string[] {
  try {
    parseScenarioText(text, 'one.yaml');
    return [];
  } catch (e) {
    if (!(e instanceof ScenarioFileError)) throw e;
    return e.message.split('\n').slice(1).map((l) => l.trim());
  }
}

const STRING_SETTINGS = Object.entries(SETTING_LIMITS).flatMap(([key, limit]) => ('oneOf' in limit ? [[key, limit.oneOf as readonly string[]] as const] : []));

describe('string settings: one table each, used by the engine and the scenario schema', () => {
  it('has the string settings', () => {
    expect(STRING_SETTINGS.map(([key]) => key).sort()).toEqual(['chokeAlgorithm', 'lateBitfield', 'offChartSteps', 'piecePicker']);
  });

  it.each(STRING_SETTINGS)('%s: a value outside its table is refused, at the top and in a group, listing the table', (key, values) => {
    const got = problems(file(`{ ${key}: bogus }`));
    const listed = `expected one of ${values.join(', ')}, got "bogus"`;
    expect(got).toEqual([`one.yaml:4:${file(`{ ${key}: bogus }`).split('\n')[3].indexOf('bogus') + 1}: groups[0].settings.${key}: ${listed}`, expect.stringContaining(`settings.${key}: ${listed}`)]);
  });

  it.each(STRING_SETTINGS)('%s: every value of its table loads', (key, values) => {
    for (const value of values) expect(problems(file(`{ ${key}: ${value} }`))).toEqual([]);
  });

  it('the test-only planted bug is no setting at all: a file cannot set it', () => {
    expect(Object.keys(SETTING_LIMITS)).not.toContain('plantedBug');
    expect(problems(file('{ plantedBug: trust-single-source }'))[0]).toMatch(/groups\[0\]\.settings: unknown key "plantedBug"|plantedBug/);
  });
});

describe('behaviours: one table', () => {
  it('the schema takes exactly the table, in its order, and lists it when given another name', () => {
    for (const b of BEHAVIOUR_NAMES) expect(problems(file('{}', b))).toEqual([]);
    expect(problems(file('{}', 'sneaky'))).toEqual([expect.stringContaining(`groups[1].behaviour: expected one of ${Object.keys(BEHAVIOURS).join(', ')}, got "sneaky"`)]);
  });

  it('a behaviour has an adversary script exactly when it does not run the engine', () => {
    expect([...ADVERSARY_BEHAVIOURS].sort()).toEqual(BEHAVIOUR_NAMES.filter((b) => !BEHAVIOURS[b].engine).sort());
    for (const b of BEHAVIOUR_NAMES) expect(isAdversaryBehaviour(b)).toBe(!isHonest(b));
    expect(BEHAVIOUR_NAMES.filter(isHonest)).toEqual(['honest', 'free-rider', 'tyrant']);
  });
});

describe('shared facts', () => {
  it('peer ids: `-SL0100-` (adversaries `-XX0100-`) and 12 printable characters from the given stream, the same for the same seed', () => {
    const text = (id: Uint8Array) => new TextDecoder().decode(id);
    const ours = makePeerId(new SeedRoot('1').stream('peer-id/L0'));
    expect(ours.length).toBe(20);
    expect(text(ours)).toMatch(/^-SL0100-[0-9A-Za-z]{12}$/);
    expect(text(makePeerId(new SeedRoot('1').stream('peer-id/L0')))).toBe(text(ours));
    expect(text(makePeerId(new SeedRoot('1').stream('peer-id/L0'), 'XX'))).toMatch(/^-XX0100-[0-9A-Za-z]{12}$/);
  });

  it("the visualizer reads the engine's format name, version and event kinds", () => {
    expect(KNOWN_VERSIONS).toEqual([TRACE_VERSION]);
    expect(EVENT_KINDS).toEqual([...Object.keys(TRACE_KINDS), 'other']);
    const header = (format: string, version: number) => new TextEncoder().encode(`${JSON.stringify({ format, version })}\n`);
    expect(parseTrace(header(TRACE_FORMAT, TRACE_VERSION)).count).toBe(0);
    expect(() => parseTrace(header(TRACE_FORMAT, TRACE_VERSION + 1))).toThrow(/not known to this reader/);
  });
});

describe('units: every duration in the simulator is milliseconds', () => {
  it("a file's `30s` announce interval is 30,000 ms in the Scenario and the swarm options; the tracker still says 30 s, and the trace header keeps version 1's seconds", () => {
    const scenario = loadScenario(parseScenarioText(`name: u\ntorrent: { size: 64KiB }\ngroups:\n  - { name: S, role: seed }\n  - { name: L }\ntrackerInterval: 30s\ntimeLimit: 2min\n`), '1');
    expect([scenario.trackerInterval, scenario.timeLimit]).toEqual([30_000, 120_000]);
    const { options } = swarmOptionsOf(scenario, '1');
    expect([options.trackerInterval, options.timeLimit]).toEqual([30_000, 120_000]);
    const lines: string[] = [];
    const announces: unknown[] = [];
    runSwarm({ ...options, traceOut: (text) => lines.push(text) });
    const trace = lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(trace[0].settings.trackerInterval).toBe(30);
    for (const e of trace) if (e.kind === 'announce' && e.interval !== undefined) announces.push(e.interval);
    expect(announces.length).toBeGreaterThan(0);
    expect(new Set(announces)).toEqual(new Set([30_000])); // the engine's interval, back in ms
  });
});

// ---- no copies: each fact is declared in one file --------------------------------------------

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? (d.name === 'node_modules' || d.name === 'corpus' ? [] : sources(join(dir, d.name))) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Source without comments, so prose that names a fact does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Each fact: what declaring it looks like, and the one file allowed to. */
const DECLARATIONS: [string, RegExp, string][] = [
  ['byte equality', /function\s+(equal|sameBytes|equalBytes|bytesEqual)\s*\(\s*a\s*:\s*Uint8Array/, 'engine/bytes.ts'],
  ['hex', /function\s+(hex|toHex)\s*\(/, 'engine/bytes.ts'],
  ['concatenation', /function\s+(concat|concatBytes)\s*\(\s*parts/, 'engine/bytes.ts'],
  ['the last piece is shorter', /===\s*\w*\.?pieceCount\s*-\s*1\s*\?/, 'engine/piece-shape.ts'],
  ['blocks in a piece', /Math\.(ceil|min)\(\s*(BLOCK_SIZE,\s*)?(this\.)?pieceSize\(/, 'engine/piece-shape.ts'],
  ['the peer-id prefix', /['"`]-(SL|XX)\d{4}-['"`]/, 'engine/peer-id.ts'],
  ["the trace's format name", /(TRACE_FORMAT\s*=|format:\s*)['"]swarmlab-trace['"]/, 'engine/trace.ts'],
  ['the trace version', /(TRACE_VERSION|KNOWN_VERSIONS)\s*(:\s*[^=]+)?=\s*\[?\s*\d/, 'engine/trace.ts'],
  ['behaviour names', /['"]request-flood['"]\s*[,|\]]/, 'sim/behaviours.ts'],
  ['piece pickers', /['"]rarest-first['"]\s*\|/, 'engine/settings.ts'],
];

describe('no copies', () => {
  const files = ['engine', 'sim', 'live', 'viz', 'cli', 'fuzz', 'bench'].flatMap(sources);

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it.each(DECLARATIONS)('%s is declared in one place only', (_fact, declaration, home) => {
    const declaring = files.filter((f) => declaration.test(code(readFileSync(f, 'utf8'))));
    expect(declaring.filter((f) => f !== home)).toEqual([]);
  });
});

describe("no copies: the other clients' definitions are the adapters' (sim/tcp/clients/), which the interop tests use", () => {
  // This file names the facts in its patterns: not a declaration.
  const files = ['engine', 'sim', 'live', 'viz', 'cli', 'fuzz', 'bench', 'test'].flatMap(sources).filter((f) => f !== join('test', 'one-definition.test.ts'));
  const CLIENT_FACTS: [string, RegExp, string][] = [
    ["aria2's switches", /['"`]--enable-peer-exchange=false['"`]/, 'sim/tcp/clients/aria2.ts'],
    ["a Transmission daemon's settings", /['"]bind-address-ipv4['"]\s*:/, 'sim/tcp/clients/transmission.ts'],
    ['the libtorrent script', /['"]lt_client\.py['"]/, 'sim/tcp/clients/libtorrent.ts'],
    ['the python that sees libtorrent', /=\s*['"]\/usr\/bin\/python3['"]/, 'sim/tcp/clients/installed.ts'],
  ];

  it.each(CLIENT_FACTS)('%s are declared in one place only', (_fact, declaration, home) => {
    const declaring = files.filter((f) => declaration.test(code(readFileSync(f, 'utf8'))));
    expect(declaring).toEqual([home]);
  });

  it('there is one lt_client.py', () => {
    const all = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? (d.name === 'node_modules' || d.name.startsWith('.') ? [] : all(join(dir, d.name))) : d.name === 'lt_client.py' ? [join(dir, d.name)] : []));
    expect(['sim', 'test', 'bench', 'live'].flatMap(all)).toEqual([join('sim', 'tcp', 'clients', 'lt_client.py')]);
  });
});
