// How a scenario run is told to people: each failure on a line, and the one command that
// reproduces the run exactly.

import { relative } from 'node:path';
import type { Failure, ScenarioResult } from './types.ts';

/** A word the shell passes through as it is, or the word in single quotes. */
export function shellWord(word: string): string {
  return /^[\w.,/:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * How the user starts swarmlab, for the commands we print: `npx swarmlab` from an installed
 * package (the compiled code in dist/), `node bin/swarmlab.mjs` from a clone (the sources, which
 * only a clone has).
 */
export function swarmlabCommand(): string {
  return import.meta.url.endsWith('.ts') ? 'node bin/swarmlab.mjs' : 'npx swarmlab';
}

/** The exact one-line command that replays `file` under `seed`, from the current folder. */
export function reproduceCommand(file: string, seed: string, plantedBug?: string, transport?: 'memory' | 'tcp'): string {
  const path = relative(process.cwd(), file) || file;
  const parts = [`${swarmlabCommand()} run`, shellWord(path.startsWith('..') ? file : path), '--seed', shellWord(seed)];
  if (plantedBug) parts.push('--planted-bug', shellWord(plantedBug));
  if (transport === 'tcp') parts.push('--transport', 'tcp');
  return parts.join(' ');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** `[request-while-choked] at 12.34 s, L3: sent REQUEST 4:0 to S0, which chokes it` */
export function describeFailure(f: Failure): string {
  const where = [f.t !== undefined ? `at ${seconds(f.t)}` : '', f.peer ?? ''].filter(Boolean).join(', ');
  return `[${f.check}]${where ? ` ${where}` : ''}: ${f.message}`;
}

/** Every failure of a run, indented, then the command that reproduces it. */
export function failureReport(result: ScenarioResult, file: string, plantedBug?: string, indent = '  '): string {
  const lines = result.failures.map((f) => `${indent}${describeFailure(f)}`);
  lines.push(`${indent}reproduce: ${reproduceCommand(file, result.seed, plantedBug)}`);
  return lines.join('\n');
}
