// The live commands turn bad input into one clear line and exit code 2, never a stack trace.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/processes.ts';

/**
 * Starts `swarmlab ARGS`, sends Ctrl-C once stderr matches `ready`, and expects exit 130 (killed by
 * PID whatever happens); returns its stderr.
 */
async function interruptWhenReady(args: string[], ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['bin/swarmlab.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (ready.test(stderr)) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
  } finally {
    child.kill('SIGKILL');
  }
  return stderr;
}

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

  it("commander's own errors are usage errors, exit 2; help and --version exit 0", () => {
    const cases: [string[], RegExp][] = [
      [['run', '--bogus'], /unknown option '--bogus'/],
      [['viz'], /missing required argument 'trace'/],
      [['run', '--peers', 'many'], /expected a non-negative integer, got "many"/],
      [['no-such-command'], /unknown command 'no-such-command'/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(run(['--help']).status).toBe(0);
    expect(run(['run', '--help']).status).toBe(0);
    expect(run(['--version']).status).toBe(0);
  });

  it('an empty folder to create, a file that is not a trace, an unwritable JUnit path: one line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badinput-'));
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'notes.jsonl'), 'hello\n');
    writeFileSync(join(dir, 'a-file'), '');
    const cases: [string[], RegExp][] = [
      [['create', join(dir, 'empty'), '-o', join(dir, 'x.torrent')], /empty: the folder has no files/],
      [['viz', join(dir, 'notes.jsonl'), '-o', join(dir, 'r.html')], /notes\.jsonl: not a swarmlab trace: the first line is not JSON/],
      // Checked before the runs: the scenario (which would take a while) never starts.
      [['test', 'scenarios/default.yaml', '--junit', join(dir, 'a-file', 'junit.xml')], /--junit .*a-file\/junit\.xml: cannot write it/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });

  it('a port in use and an address not this machine\'s are one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badinput-'));
    writeFileSync(join(dir, 'payload.bin'), 'some bytes');
    expect(run(['create', join(dir, 'payload.bin'), '-o', join(dir, 'p.torrent')]).status).toBe(0);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const inUse = run(['seed', join(dir, 'p.torrent'), dir, '--bind', '127.0.0.1', '--port', String(port)]);
      expect(inUse.status).toBe(2);
      expect(inUse.stderr).toBe(`swarmlab: cannot listen on 127.0.0.1:${port}: the port is in use (EADDRINUSE)\n`);
      // 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
      const notOurs = run(['download', join(dir, 'p.torrent'), '-o', join(dir, 'out'), '--bind', '192.0.2.1']);
      expect(notOurs.status).toBe(2);
      expect(notOurs.stderr).toMatch(/^swarmlab: cannot listen on 192\.0\.2\.1:0: the address is not one of this machine's \(EADDRNOTAVAIL\)\n$/);
    } finally {
      server.close();
    }
  });

  it('a magnet link with no tracker and no peer says at once that it waits for a peer to dial in; Ctrl-C is exit 130', async () => {
    // Not refused: BEP 9 works both ways, and a seed that dials us can still deliver the metadata
    // (test/live-libtorrent-fast.test.ts does so with libtorrent).
    const out = mkdtempSync(join(tmpdir(), 'badinput-magnet-'));
    const stderr = await interruptWhenReady(['download', 'magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567', '-o', out, '--bind', '127.0.0.1'], /fetching metadata/);
    const lines = stderr.split('\n');
    const waiting = lines.findIndex((l) => /^the magnet link has no trackers \(tr=\) and no peers \(x\.pe=\), and there is no --peer or --dht: waiting for a peer to connect to us on port \d+ \(add --dht, or --peer HOST:PORT\)$/.test(l));
    expect(waiting, stderr).toBeGreaterThanOrEqual(0);
    expect(waiting).toBeLessThan(lines.findIndex((l) => l.startsWith('fetching metadata')));
  }, 60_000);

  it('seed on a folder without the payload says it will fetch it; Ctrl-C is exit 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badinput-'));
    writeFileSync(join(dir, 'payload.bin'), Buffer.alloc(40_000, 7));
    expect(run(['create', join(dir, 'payload.bin'), '-o', join(dir, 'p.torrent'), '--piece-length', '16384']).status).toBe(0);
    mkdirSync(join(dir, 'empty'));
    const stderr = await interruptWhenReady(['seed', join(dir, 'p.torrent'), join(dir, 'empty'), '--bind', '127.0.0.1'], /on port \d+/);
    expect(stderr).toMatch(/empty lacks 3 of 3 pieces: fetching them from peers \(none known yet: no tracker, web seed or --peer; peers that connect to us count\), and seeding what is good meanwhile, on port \d+/);
  }, 60_000);

  it('download says when no peer is reachable: which were tried, and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badinput-'));
    writeFileSync(join(dir, 'payload.bin'), 'some bytes');
    expect(run(['create', join(dir, 'payload.bin'), '-o', join(dir, 'p.torrent')]).status).toBe(0);
    const closed = await freePort(); // nothing listens there
    const child = spawn(process.execPath, ['bin/swarmlab.mjs', 'download', join(dir, 'p.torrent'), '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--peer', `127.0.0.1:${closed}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve) =>
        child.stderr.on('data', (d) => {
          stderr += d;
          if (/no peer reachable/.test(stderr)) resolve();
        }),
      );
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toContain(`no peer reachable: tried 127.0.0.1:${closed} (ECONNREFUSED`);
  }, 60_000);
});
