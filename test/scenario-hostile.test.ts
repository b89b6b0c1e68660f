// Scenario files as hostile input (issue 8): every YAML failure is a ScenarioFileError with a
// position, loading is linear, names never lead files out of `out/`, every value has a limit
// named in its error, and a run whose virtual clock stops is stopped with the timer named.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenarioText, ScenarioFileError } from '../sim/scenario/load.ts';

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
    expect(errorOf(text)).toContain('hostile.yaml:1:3: expected a plain key');
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
      fc.property(fc.oneof(adversarial, random, mutated), (text) => {
        const started = performance.now();
        try {
          parseScenarioText(text, 'fuzz.yaml');
        } catch (e) {
          if (!(e instanceof ScenarioFileError)) throw e;
          expect(e.problems.length).toBeLessThanOrEqual(21);
        }
        expect(performance.now() - started).toBeLessThan(2_000);
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

  it('run: the trace goes to out/, named after the sanitised name', () => {
    const { root, cwd } = workspace();
    const out = swarmlab(['run', 'evil.yaml', '--seed', '../1'], cwd);
    expect(out.status).toBe(1);
    expect(readdirSync(join(cwd, 'out'))).toEqual(['__.._x-seed.._1.jsonl']);
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
