// swarmlab's own commands as the live tests use them: `create` a torrent, read `download --json`'s
// summary.

import { execFileSync } from 'node:child_process';
import { type Proc, ROOT, SWARMLAB } from './processes.ts';

/** Makes a torrent with `swarmlab create`; returns its info-hash. */
export function createTorrentFile(path: string, out: string, o: { trackers?: string[]; pieceLength?: number; webSeeds?: string[] } = {}): string {
  const args = [SWARMLAB, 'create', path, '-o', out];
  for (const t of o.trackers ?? []) args.push('--tracker', t);
  for (const w of o.webSeeds ?? []) args.push('--web-seed', w);
  if (o.pieceLength) args.push('--piece-length', String(o.pieceLength));
  const text = execFileSync(process.execPath, args, { cwd: ROOT, timeout: 60_000 }).toString();
  return /info-hash: ([0-9a-f]{40})/.exec(text)![1];
}

/** The final summary line of `swarmlab download --json`. */
export function summaryOf(p: Proc): Record<string, unknown> | undefined {
  const lines = p.stdout.trim().split('\n').filter(Boolean);
  for (const l of lines.reverse()) {
    try {
      const j = JSON.parse(l);
      if (j.type === 'summary') return j;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** What a `swarmlab` command printed, and its exit code. */
export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `swarmlab ARGS` from the repository (bounded at 2 min); a non-zero exit is an outcome, not a throw. */
export function swarmlab(args: string[]): Outcome {
  try {
    const stdout = execFileSync(process.execPath, [SWARMLAB, ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A small scenario that passes under every seed. */
export const PASSING = `name: small
torrent: { size: 256KiB, pieceLength: 32KiB }
groups:
  - { name: S, role: seed }
  - { name: L, count: 2..3 }
timeLimit: 1min
seeds: [1, 2]
`;

/** No swarm moves 256 KiB in 1 ms: fails under every seed. */
export const FAILING = PASSING.replace('name: small', 'name: too-fast').replace('timeLimit: 1min', 'timeLimit: 1min\nexpect: { completeBy: 1ms }');
