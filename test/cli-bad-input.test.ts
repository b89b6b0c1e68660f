// The live commands turn bad input into one clear line and exit code 2, never a stack trace.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('bad input on the command line', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['bin/swarmlab.mjs', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('a broken .torrent, missing files and a bad magnet link each get one clear line and exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badinput-'));
    const broken = join(dir, 'broken.torrent');
    writeFileSync(broken, 'd4:infod4:name3:abce');
    const cases: [string[], RegExp][] = [
      [['download', broken, '-o', dir], /broken\.torrent: not a valid torrent: not valid bencoding at byte 20/],
      [['seed', join(dir, 'missing.torrent'), dir], /missing\.torrent: cannot read it \(ENOENT\)/],
      [['download', 'magnet:?xt=urn:btih:zz'], /magnet: no xt=urn:btih/],
      [['viz', join(dir, 'missing.jsonl'), '-o', join(dir, 'r.html')], /missing\.jsonl: no such file or folder/],
      [['create', join(dir, 'nothing-here'), '-o', join(dir, 'x.torrent')], /nothing-here: no such file or folder/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});
