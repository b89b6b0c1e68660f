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
