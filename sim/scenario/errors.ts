// What is wrong with a scenario file, said so that its author can fix it: the file, the line, the
// path inside it (`groups[2].upload`), what was expected and what was found.

import type { z } from 'zod';
import { KNOWN_KEYS } from './schema.ts';
import { show } from './units.ts';

export type Path = readonly PropertyKey[];

export interface Problem {
  /** Where in the file, as `groups[2].upload` ('' for the whole file). */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ScenarioFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
    /** What the file should have been: 'scenario', or 'experiment' (sim/experiment/). */
    kind = 'scenario',
  ) {
    const where = (p: Problem) => (p.line !== undefined ? `${file}:${p.line}:${p.column}` : file);
    const lines = problems.map((p) => `  ${where(p)}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    super(`${file}: not a valid ${kind} (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${lines.join('\n')}`);
    this.name = 'ScenarioFileError';
  }
}

/** `['groups', 2, 'upload']` → `groups[2].upload`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out;
}

/** The problems in a zod error, each with the path it concerns. Positions are added by the caller. */
export function problemsOf(error: z.ZodError, input: unknown): Located[] {
  return error.issues.flatMap((issue) => describe(issue, input));
}

/** A problem at a path; `atKey` when it is about the key itself (an unknown key), not its value. */
export interface Located {
  path: Path;
  message: string;
  atKey?: boolean;
}

function describe(issue: z.core.$ZodIssue, input: unknown): Located[] {
  const path = issue.path;
  const value = valueAt(input, path);
  const zodDefault = /^Invalid (input|option|discriminator)/.test(issue.message);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = issue.message.startsWith(KNOWN_KEYS) ? issue.message.slice(KNOWN_KEYS.length).split(', ') : [];
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        const hint = guess ? `; did you mean "${guess}"?` : '';
        return { path: [...path, key], message: `unknown key${hint} (the keys here are ${known.join(', ')})`, atKey: true };
      });
    }
    case 'invalid_type':
      if (value === undefined) return [{ path, message: `required: ${zodDefault ? `expected ${article(issue.expected)}` : issue.message}` }];
      return [{ path, message: `${zodDefault ? `expected ${article(issue.expected)}` : issue.message}, got ${show(value)}` }];
    case 'invalid_value': {
      const options = issue.values.map(String);
      const guess = typeof value === 'string' ? closest(value, options) : undefined;
      return [{ path, message: `expected one of ${options.join(', ')}, got ${show(value)}${guess ? `; did you mean "${guess}"?` : ''}` }];
    }
    case 'invalid_union': {
      const options = 'options' in issue && Array.isArray(issue.options) ? issue.options.map(String) : [];
      const guess = typeof value === 'string' ? closest(value, options) : undefined;
      const got = value === undefined ? 'nothing' : show(value);
      return [{ path, message: `${zodDefault ? 'expected something else' : issue.message}, got ${got}${guess ? `; did you mean "${guess}"?` : ''}` }];
    }
    case 'invalid_format':
      return [{ path, message: `${issue.message}, got ${show(value)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function valueAt(input: unknown, path: Path): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping of keys to values', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false' };
  return names[type] ?? type;
}

/** The known word nearest to a typo, if it is near enough to be the one meant. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3))) return best;
  // A word that extends a known one (`seeder` for `seed`) is most likely that one.
  const w = word.toLowerCase();
  return known.find((k) => k.length >= 3 && (w.startsWith(k.toLowerCase()) || k.toLowerCase().startsWith(w)) && w.length >= 3);
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
