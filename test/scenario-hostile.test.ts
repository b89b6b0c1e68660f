// Scenario files as hostile input (issue 8): every YAML failure is a ScenarioFileError with a
// position, loading is linear, names never lead files out of `out/`, every value has a limit
// named in its error, and a run whose virtual clock stops is stopped with the timer named.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveSettings, SettingsError } from '../engine/settings.ts';
import { loadScenario, parseScenarioText, ScenarioFileError } from '../sim/scenario/load.ts';
import { runResolvedScenario } from '../sim/scenario/run.ts';
import { CLOCK_STOPPED, runCatchingCrash } from '../sim/scenario/suite.ts';
import type { AdversaryStarter } from '../sim/swarm.ts';
import { ClockStoppedError, Scheduler } from '../sim/scheduler.ts';

const BIN = resolve('bin/swarmlab.mjs');

function swarmlab(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

/** The error a text gives (it must be a ScenarioFileError), as its message. */
function errorOf(text: string, file = 'hostile.yaml'): string {
  try {
    parseScenarioText(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioFileError);
    return (e as Error).message;
  }
  throw new Error('expected the text to be refused');
}

const VALID = `name: small
torrent: { size: 256KiB, pieceLength: 32KiB }
groups:
  - { name: S, role: seed }
  - { name: L, count: 2 }
timeLimit: 1min
`;

describe('YAML failures are ScenarioFileErrors with a position', () => {
  it('an unresolved alias', () => {
    expect(errorOf('name: *a\ntorrent: { size: 1MiB }\ngroups: [{ name: S }]\n')).toContain('hostile.yaml:1:7: alias *a has no anchor &a before it');
  });

  it('an alias bomb, stopped by the alias limit', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    expect(errorOf(levels.join('\n') + '\n')).toMatch(/hostile\.yaml:2:\d+: aliases expand too much .*\(limit aliasExpansion: 100\)/);
  });

  it('an alias inside the node it names (a cycle)', () => {
    expect(errorOf('name: x\ntorrent: &t { size: *t }\n')).toContain('hostile.yaml:2:21: alias *t lies inside the node it names');
  });

  it('600 nested explicit keys are refused at once, not stringified for minutes', () => {
    const text = '? '.repeat(600) + 'a: 1\n';
    expect(text.length).toBeLessThan(1300);
    expect(errorOf(text)).toMatch(/hostile\.yaml:1:\d+: nested too deeply: more than 32 levels \(limit nesting: 32\)/);
    // Shallow ones too: a key must be a plain word.
    expect(errorOf(`${VALID}? ? ? [a]\n`)).toContain('hostile.yaml:7:3: expected a plain key such as `name`');
    expect(errorOf('name: a\nname: b\n')).toContain('hostile.yaml:2:1: not valid YAML: Map keys must be unique; "name" is used twice');
  });

  it('nesting deep enough to overflow the YAML composer is refused before it, every time', () => {
    // 100 KB of `- `: the composer would overflow its stack, and a second parse could abort the process.
    for (let i = 0; i < 2; i++) expect(errorOf('- '.repeat(50_000))).toMatch(/nested too deeply/);
    expect(() => parseScenarioText(VALID, 'ok.yaml')).not.toThrow();
  });

  it('nesting past the limit, and a file past the size limit', () => {
    expect(errorOf('- '.repeat(100) + 'a\n')).toMatch(/hostile\.yaml:1:\d+: nested too deeply.*\(limit nesting: 32\)/);
    expect(errorOf(`# ${'x'.repeat(300 * 1024)}\n${VALID}`)).toContain('too large for a scenario file (limit fileBytes: 256KiB)');
  });

  it('hundreds of mistakes are shown as the first 20 and a count', () => {
    const message = errorOf(`${VALID}${Array.from({ length: 500 }, (_, i) => `typo${i}: 1`).join('\n')}\n`);
    expect(message).toContain('… and 480 more problems');
    expect(message.split('\n').length).toBeLessThan(25);
  });

  // The oracle: a 10 KB input, random or built from YAML's own indicators repeated, either loads
  // or is a ScenarioFileError — no other exception, no hang. The time bound is a hang guard (the
  // bug this replaces took minutes), far above the ~100 ms such an input takes.
  it('random and adversarial 10 KB inputs load or fail cleanly', () => {
    const FRAGMENTS = ['? ', '- ', '[', ']', '{', '}', ', ', ': ', 'a: ', '&a ', '*a ', '!t ', '!!map ', '"', "'", '\\', '\n', '\n  ', '#', '|', '>', '---\n', '...\n', '%YAML 1.2\n', '<<: *a\n', 'x', '1e9', '..'];
    const tenKB = (parts: string[]) => {
      const unit = parts.join('') || 'x';
      return unit.repeat(Math.ceil(10_000 / unit.length)).slice(0, 10_000);
    };
    const adversarial = fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 12 }).map(tenKB);
    const random = fc.string({ unit: 'grapheme', minLength: 2000, maxLength: 2500 }).map((s) => tenKB([s]));
    const mutated = fc.tuple(fc.nat(VALID.length), fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 4 })).map(([at, parts]) => tenKB([VALID.slice(0, at), ...parts, VALID.slice(at)]));
    fc.assert(
      // Load time is measured where speed belongs, not here: the `scenario` fuzz target reports
      // every input slower than its bound (npm run fuzz -- --target scenario).
      fc.property(fc.oneof(adversarial, random, mutated), (text) => {
        try {
          parseScenarioText(text, 'fuzz.yaml');
        } catch (e) {
          if (!(e instanceof ScenarioFileError)) throw e;
          expect(e.problems.length).toBeLessThanOrEqual(21);
        }
      }),
      { seed: 8, numRuns: 60 },
    );
  }, 120_000);
});

describe('scenario names never lead files out of out/', () => {
  const FAILING = VALID.replace('name: small', 'name: ../../x').replace('timeLimit: 1min', 'timeLimit: 1min\nexpect: { completeBy: 1ms }');

  /** A working folder two levels down, so `out/../../x` would land inside the temporary folder. */
  function workspace(): { root: string; cwd: string } {
    const root = mkdtempSync(join(tmpdir(), 'swarmlab-names-'));
    const cwd = join(root, 'a', 'b');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, 'evil.yaml'), FAILING);
    return { root, cwd };
  }

  it('run: the trace goes to out/, named after the sanitised name; a seed with a slash is refused', () => {
    const { root, cwd } = workspace();
    const refused = swarmlab(['run', 'evil.yaml', '--seed', '../1'], cwd);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/expected a seed: a whole number or a word/);
    expect(existsSync(join(cwd, 'out'))).toBe(false);
    const out = swarmlab(['run', 'evil.yaml', '--seed', '1'], cwd);
    expect(out.status).toBe(1);
    expect(readdirSync(join(cwd, 'out'))).toEqual([expect.stringMatching(/^__\.\._x-\d+peers-seed1\.jsonl$/)]);
    expect(readdirSync(join(root, 'a')).sort()).toEqual(['b']);
    expect(readdirSync(root)).toEqual(['a']);
  });

  it('shrink: the shrunk scenario goes to out/', () => {
    const { root, cwd } = workspace();
    const out = swarmlab(['shrink', 'evil.yaml', '--seed', '1', '--max-runs', '3'], cwd);
    expect(out.stderr).toBe('');
    expect(readdirSync(join(cwd, 'out'))).toEqual(['__.._x-seed1.min.yaml']);
    expect(readdirSync(join(root, 'a'))).toEqual(['b']);
    expect(existsSync(join(root, 'x-seed1.min.yaml'))).toBe(false);
  });
});

describe('every value has a limit, named in its error with file:line:col', () => {
  const file = (groups: string, extra = '', torrent = '{ size: 1MiB }') => `name: x\ntorrent: ${torrent}\ngroups:\n  - { name: S, role: seed }\n  - ${groups}\n${extra}`;
  const L = '{ name: L, count: 2 }';
  const CASES: [string, string, RegExp][] = [
    ['tickInterval 0', file(L, 'settings: { tickInterval: 0 }\n'), /hostile\.yaml:6:27: settings\.tickInterval: must be at least 100 ms, got 0 ms \(limit tickInterval ≥ 100 ms/],
    ['loWatermark 0', file(L, 'settings: { loWatermark: 0 }\n'), /hostile\.yaml:6:26: settings\.loWatermark: must be at least 1, got 0 \(limit loWatermark ≥ 1/],
    [
      'loWatermark above the hiWatermark it inherits, for some draw',
      file('{ name: L, settings: { loWatermark: 5..12 } }', 'settings: { hiWatermark: 10 }\n'),
      /hostile\.yaml:5:41: groups\[1\]\.settings\.loWatermark: must be at most hiWatermark \(10\), got 12 \(limit loWatermark ≤ hiWatermark/,
    ],
    ['size 1e15', file(L, '', '{ size: 1e15 }'), /hostile\.yaml:2:18: torrent\.size: expected at most 1GiB, .*\(limit torrentBytes: 1GiB\)/],
    ['count 1e9', file('{ name: L, count: 1e9 }'), /hostile\.yaml:5:23: groups\[1\]\.count: expected at most 10000 peers, got 1000000000 \(limit peers: 10000\)/],
    ['10,001 peers over two groups', file('{ name: L, count: 5000..10000 }'), /hostile\.yaml:4:3: groups: expected at most 10000 peers in all groups together, got up to 10001/],
    [
      'a fault rate of 1,000,000/s',
      file(L, 'faults:\n  - { kind: random, rate: 1000000/s, until: 1min, fault: { kind: reset } }\n'),
      /hostile\.yaml:7:27: faults\[0\]\.rate: expected a frequency of at most 600\/min .*\(limit faultRatePerMinute: 600\/min\)/,
    ],
    [
      'a random fault with too many events',
      file(L, 'faults:\n  - { kind: random, rate: 10/s, until: 24h, fault: { kind: reset } }\n'),
      /faults\[0\]\.rate: expected at most 100000 faults from one random fault .*\(limit faultsPerRandom: 100000\)/,
    ],
    ['a piece length of 1 GiB', file(L, '', '{ size: 1GiB, pieceLength: 1GiB }'), /torrent\.pieceLength: expected at most 256MiB, got 1GiB \(limit pieceLength: 256MiB\)/],
    ['too many files', file(L, '', '{ size: 1MiB, files: 20000 }'), /torrent\.files: expected at most 10000 files, got 20000 \(limit files: 10000\)/],
    ['a time limit of 1e12 ms', file(L, 'timeLimit: 1e12\n'), /hostile\.yaml:6:12: timeLimit: expected a duration of at most 24h, .*\(limit duration: 24h\)/],
    ['a time limit of 0', file(L, 'timeLimit: 0\n'), /hostile\.yaml:6:12: timeLimit: expected a time limit above 0 for every draw, got 0/],
    ['an announce interval of 0', file(L, 'trackerInterval: 0\n'), /hostile\.yaml:6:18: trackerInterval: expected an announce interval of at least 1s \(limit trackerIntervalMin: 1s\)/],
    ['a 300-character name', file(L).replace('name: x', `name: ${'n'.repeat(300)}`), /hostile\.yaml:1:7: name: expected a name of at most 200 characters \(limit nameLength: 200\)/],
  ];
  for (const [what, text, expected] of CASES) it(what, () => expect(errorOf(text)).toMatch(expected));

  it('the engine refuses the same values, naming the setting and its limit', () => {
    expect(() => resolveSettings({ tickInterval: 0 })).toThrow(/settings: tickInterval: must be at least 100 ms, got 0 ms/);
    expect(() => resolveSettings({ loWatermark: 0 })).toThrow(SettingsError);
    expect(() => resolveSettings({ loWatermark: 30 })).toThrow(/loWatermark: must be at most hiWatermark \(25\), got 30/);
    expect(() => resolveSettings({ maxConnections: 2.5 })).toThrow(/maxConnections: expected a whole number/);
    expect(resolveSettings({ loWatermark: 25 }).loWatermark).toBe(25);
  });

  it('swarmlab run --peers past the limit is refused with exit 2', () => {
    const out = swarmlab(['run', '--peers', '1000000000'], mkdtempSync(join(tmpdir(), 'swarmlab-peers-')));
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('1000000001 peers; at most 10000 (limit peers: 10000)');
  });
});

describe('a run whose virtual clock stops is stopped, and the timer that spins is named', () => {
  it('a timer rescheduling itself at delay 0, among timers that move on', () => {
    const scheduler = new Scheduler(10_000);
    const peer = scheduler.clockFor('L3');
    let ticks = 0;
    // A well-behaved timer of another owner, and the one that spins.
    const heartbeat = () => void scheduler.setTimer(1_000, heartbeat, 'S0');
    scheduler.setTimer(0, heartbeat, 'S0');
    const tick = () => {
      ticks++;
      peer.setTimer(0, tick);
    };
    scheduler.at(5_000, tick);
    let error: unknown;
    try {
      scheduler.run(60_000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClockStoppedError);
    const stopped = error as ClockStoppedError;
    expect(stopped.time).toBe(5_000);
    expect(stopped.spinning).toMatch(/^L3: tick \(1000 of the last 1000 events\)$/);
    expect(stopped.message).toContain('the virtual clock stopped at t = 5000 ms: more than 10000 events at one instant (limit MAX_EVENTS_AT_ONE_INSTANT)');
    expect(ticks).toBeLessThan(12_000);
  });

  it('an unnamed closure is named by its source; many events at distinct instants never trip it', () => {
    const scheduler = new Scheduler(100);
    let n = 0;
    const step = () => n++ < 10_000 && scheduler.setTimer(1, step);
    scheduler.setTimer(0, step);
    expect(scheduler.run()).toBe(10_000);
    scheduler.setTimer(0, function spin() {
      scheduler.setTimer(0, () => spin());
    });
    expect(() => scheduler.run()).toThrow(/the timer that spins: sim: (spin|\(\) => spin\(\))/);
  });

  it('in a whole scenario run: the peer that spins is named, and the suite reports clock-stopped', () => {
    const scenario = loadScenario(parseScenarioText(VALID.replace('timeLimit', '  - { name: X, behaviour: silent }\ntimeLimit')), '1');
    // A peer whose timer reschedules itself at delay 0, from 100 ms on (before the leechers finish).
    const spinning: AdversaryStarter = (_behaviour, peer, swarm) => {
      const clock = swarm.scheduler.clockFor(peer.label);
      const handle = clock.setTimer(100, function spin() {
        clock.setTimer(0, spin);
      });
      return { stop: () => handle.cancel() };
    };
    let error: unknown;
    try {
      runResolvedScenario(scenario, '1', { adversaries: spinning });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClockStoppedError);
    expect((error as ClockStoppedError).spinning).toMatch(/^X0: spin /);
    expect((error as ClockStoppedError).time).toBeGreaterThanOrEqual(100);
    const reported = runCatchingCrash(() => {
      throw error;
    }, '1');
    expect(reported.failures[0]).toMatchObject({ check: CLOCK_STOPPED, t: (error as ClockStoppedError).time });
  }, 60_000);
});
