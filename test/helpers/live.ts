// Helpers for the live interop tests: bounded child processes stopped by PID, free ports,
// payloads, opentracker, Transmission, libtorrent, aria2 and swarmlab itself. 127.0.0.1 only.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { percentEncode } from '../../live/http-tracker.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SWARMLAB = join(ROOT, 'bin', 'swarmlab.mjs');
export const LT_CLIENT = join(ROOT, 'test', 'helpers', 'lt_client.py');
export const PYTHON = '/usr/bin/python3';

// ---- What is installed ----------------------------------------------------------------------------

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let ltChecked: boolean | undefined;
export const have = {
  aria2: () => onPath('aria2c'),
  transmission: () => onPath('transmission-daemon') && onPath('transmission-remote'),
  opentracker: () => onPath('opentracker'),
  libtorrent: () => {
    if (ltChecked === undefined) {
      try {
        execFileSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 20_000 });
        ltChecked = true;
      } catch {
        ltChecked = false;
      }
    }
    return ltChecked;
  },
};

/** The reason to skip, or undefined when every named client is installed. */
export function missing(...names: (keyof typeof have)[]): string | undefined {
  const absent = names.filter((n) => !have[n]());
  if (absent.length === 0) return undefined;
  const pkg = { aria2: 'aria2', transmission: 'transmission-daemon', opentracker: 'opentracker', libtorrent: 'python3-libtorrent' } as const;
  return `not installed: ${absent.map((a) => pkg[a]).join(', ')} (apt-get install -y ${absent.map((a) => pkg[a]).join(' ')})`;
}

// ---- Processes ------------------------------------------------------------------------------------

export class Proc {
  stdout = '';
  stderr = '';
  code: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve((this.code = code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves when stdout or stderr matches, or rejects after `ms` (a bound, not an assertion of speed). */
  async waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const m = this.stdout.match(re) ?? this.stderr.match(re);
      if (m) return m;
      if (this.code !== undefined) break;
      await sleep(50);
    }
    throw new Error(`${this.name}: no ${re} within ${ms} ms (exit ${this.code})\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-3000)}`);
  }

  /** The exit code, or a rejection after `ms`. */
  async exit(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: still running after ${ms} ms\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-3000)}`)), ms);
    });
    try {
      return await Promise.race([this.exited, bound]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts and stops the processes of one test; every one is bounded by `timeout` and killed by PID. */
export class Procs {
  private readonly all: Proc[] = [];
  /** Folders of the processes (tracker chroot, Transmission config), removed after they stop. */
  readonly dirs: string[] = [];

  spawn(name: string, cmd: string, args: string[], o: { seconds: number; cwd?: string; env?: NodeJS.ProcessEnv }): Proc {
    const child = spawn('timeout', ['-k', '3', String(o.seconds), cmd, ...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new Proc(name, child);
    this.all.push(p);
    return p;
  }

  swarmlab(name: string, args: string[], seconds: number): Proc {
    return this.spawn(name, process.execPath, [SWARMLAB, ...args], { seconds, cwd: ROOT });
  }

  /** Sends SIGTERM to each process still running (by PID), then SIGKILL to any that lingers. */
  async stopAll(): Promise<void> {
    const running = this.all.filter((p) => p.code === undefined);
    for (const p of running) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await Promise.race([Promise.all(running.map((p) => p.exited)), sleep(5_000)]);
    for (const p of running) {
      if (p.code !== undefined) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

// ---- Payloads -------------------------------------------------------------------------------------

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `swarmlab-${tag}-`));
}

/** A single file of `size` random bytes at dir/name. */
export function singlePayload(dir: string, name: string, size: number): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, randomBytes(size));
  return path;
}

/** A folder dir/name with files whose sizes do not line up with pieces (pieces span files). */
export function multiPayload(dir: string, name: string, withEmpty = true): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'a.bin'), randomBytes(1_500_001));
  writeFileSync(join(root, 'sub', 'b.txt'), randomBytes(70_000));
  writeFileSync(join(root, 'sub', 'deeper', 'c.dat'), randomBytes(900_123));
  if (withEmpty) writeFileSync(join(root, 'sub', 'empty'), new Uint8Array(0));
  return root;
}

export function copyTree(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

function listTree(root: string): string[] {
  if (statSync(root).isFile()) return [''];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Byte-for-byte comparison of a downloaded file or folder with the original. Returns the
 * differences (empty when equal). Zero-length files may be absent when `allowMissingEmpty`.
 */
export function compareTrees(original: string, copy: string, o: { allowMissingEmpty?: boolean } = {}): string[] {
  if (!existsSync(copy)) return [`${copy} does not exist`];
  const diffs: string[] = [];
  for (const rel of listTree(original)) {
    const a = join(original, rel);
    const b = join(copy, rel);
    const dataA = readFileSync(a);
    if (!existsSync(b)) {
      if (!(o.allowMissingEmpty && dataA.length === 0)) diffs.push(`missing: ${rel || copy}`);
      continue;
    }
    if (Buffer.compare(dataA, readFileSync(b)) !== 0) diffs.push(`differs: ${rel || copy}`);
  }
  return diffs;
}

// ---- Torrents -------------------------------------------------------------------------------------

/** Makes a torrent with `swarmlab create`; returns its info-hash. */
export function createTorrentFile(path: string, out: string, o: { trackers?: string[]; pieceLength?: number } = {}): string {
  const args = [SWARMLAB, 'create', path, '-o', out];
  for (const t of o.trackers ?? []) args.push('--tracker', t);
  if (o.pieceLength) args.push('--piece-length', String(o.pieceLength));
  const text = execFileSync(process.execPath, args, { cwd: ROOT, timeout: 60_000 }).toString();
  return /info-hash: ([0-9a-f]{40})/.exec(text)![1];
}

// ---- opentracker ----------------------------------------------------------------------------------

export interface Tracker {
  port: number;
  http: string;
  udp: string;
  /** Seeders of an info-hash, from a scrape. */
  seeders(infoHashHex: string): Promise<number>;
  waitForSeeders(infoHashHex: string, n: number, ms: number): Promise<void>;
}

export async function startTracker(procs: Procs, hashes: string[], seconds: number, port?: number): Promise<Tracker> {
  const dir = tempDir('tracker');
  procs.dirs.push(dir);
  // Debian's opentracker chroots into -d, drops to user nobody, then reads the whitelist from
  // inside the chroot: the folder and the file must be readable by others.
  writeFileSync(join(dir, 'whitelist'), hashes.join('\n') + '\n', { mode: 0o644 });
  chmodSync(dir, 0o755);
  port ??= await freePort();
  const p = procs.spawn('opentracker', 'opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-w', 'whitelist', '-d', dir], { seconds, cwd: dir });
  const t: Tracker = {
    port,
    http: `http://127.0.0.1:${port}/announce`,
    udp: `udp://127.0.0.1:${port}/announce`,
    seeders: async (hash) => {
      const res = await fetch(`http://127.0.0.1:${port}/scrape?info_hash=${percentEncode(Buffer.from(hash, 'hex'))}`);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      const m = /8:completei(\d+)e/.exec(body);
      return m ? Number(m[1]) : 0;
    },
    waitForSeeders: async (hash, n, ms) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if ((await t.seeders(hash).catch(() => 0)) >= n) return;
        await sleep(200);
      }
      throw new Error(`tracker: fewer than ${n} seeders of ${hash} after ${ms} ms`);
    },
  };
  // Up, and its whitelist loaded (it is read a moment after start): an announce for the first
  // hash is no longer refused. (A refused first announce makes some clients wait minutes.) The
  // probe's peer leaves again at once.
  const probe = `${t.http}?info_hash=${percentEncode(Buffer.from(hashes[0], 'hex'))}&peer_id=-PROBE-0000000000000&port=1&uploaded=0&downloaded=0&left=1&compact=1`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const body = await (await fetch(probe)).text();
      if (!body.includes('failure reason')) {
        await fetch(`${probe}&event=stopped`);
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || p.code !== undefined) throw new Error(`opentracker did not start or refused ${hashes[0]}: ${p.stderr}`);
    await sleep(100);
  }
  return t;
}

// ---- The clients ----------------------------------------------------------------------------------

export function aria2Args(o: { port: number; dir: string; torrent: string; seed?: boolean }): string[] {
  return [
    `--listen-port=${o.port}`,
    '--interface=127.0.0.1',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--seed-ratio=0.0',
    '--bt-seed-unverified=true',
    '--file-allocation=none',
    '--no-conf=true',
    '--check-integrity=true',
    '--bt-tracker-interval=2',
    '--summary-interval=1',
    '--console-log-level=notice',
    ...(o.seed ? [] : ['--seed-time=0']),
    `--dir=${o.dir}`,
    o.torrent,
  ];
}

export function libtorrent(procs: Procs, name: string, mode: 'seed' | 'leech', source: string, save: string, port: number, peers: string[], seconds: number): Proc {
  return procs.spawn(name, PYTHON, [LT_CLIENT, mode, source, save, String(port), ...peers], { seconds });
}

export interface Transmission {
  peerPort: number;
  rpcPort: number;
  remote(...args: string[]): string;
  /** Percent done of torrent `id` (1, 2, … in the order added), from `transmission-remote -t ID -i`. */
  percent(id?: number): number;
  waitForPercent(n: number, ms: number, id?: number): Promise<void>;
}

export async function startTransmission(procs: Procs, name: string, downloadDir: string, seconds: number): Promise<Transmission> {
  const conf = tempDir('transmission');
  procs.dirs.push(conf);
  const peerPort = await freePort();
  const rpcPort = await freePort();
  mkdirSync(downloadDir, { recursive: true });
  writeFileSync(
    join(conf, 'settings.json'),
    JSON.stringify({
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      'dht-enabled': false,
      'lpd-enabled': false,
      'utp-enabled': false,
      'pex-enabled': false,
      'port-forwarding-enabled': false,
      'peer-port': peerPort,
      'peer-port-random-on-start': false,
      'rpc-port': rpcPort,
      'rpc-bind-address': '127.0.0.1',
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': false,
      'rpc-host-whitelist-enabled': false,
      'download-dir': downloadDir,
      'incomplete-dir-enabled': false,
      'start-added-torrents': true,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      encryption: 0,
      'message-level': 2,
    }),
  );
  const p = procs.spawn(name, 'transmission-daemon', ['-f', '-g', conf], { seconds });
  const remote = (...args: string[]) => execFileSync('transmission-remote', [`127.0.0.1:${rpcPort}`, ...args], { timeout: 10_000 }).toString();
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      remote('-l');
      break;
    } catch {
      if (Date.now() > deadline || p.code !== undefined) throw new Error(`transmission-daemon did not start: ${p.stderr}`);
      await sleep(200);
    }
  }
  const percent = (id = 1) => {
    const m = /Percent Done:\s*([\d.]+)%/.exec(remote('-t', String(id), '-i'));
    return m ? Number(m[1]) : 0;
  };
  return {
    peerPort,
    rpcPort,
    remote,
    percent,
    waitForPercent: async (n, ms, id = 1) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (percent(id) >= n) return;
        await sleep(500);
      }
      throw new Error(`${name}: torrent ${id} not at ${n}% after ${ms} ms:\n${remote('-t', String(id), '-i')}\n${p.stderr.slice(-2000)}`);
    },
  };
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

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// ---- One test's processes and folders ---------------------------------------------------------------

export interface LiveWorkspace {
  /** The processes of the running test. */
  procs(): Procs;
  /** A fresh temporary folder, removed after the test. */
  work(tag: string): string;
  /** Runs `fn` after the test, once its processes have stopped and before its folders go. */
  addCleanup(fn: () => Promise<void> | void): void;
}

/** Registers an afterEach that stops the test's processes, runs its cleanups and removes its folders. */
export function useLiveWorkspace(): LiveWorkspace {
  let procs = new Procs();
  const dirs: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    await procs.stopAll();
    procs = new Procs();
    for (const fn of cleanups.splice(0)) await fn();
    for (const d of dirs.splice(0)) removeDir(d);
  });
  return {
    procs: () => procs,
    work: (tag) => {
      const d = tempDir(tag);
      dirs.push(d);
      return d;
    },
    addCleanup: (fn) => void cleanups.push(fn),
  };
}

// ---- The two torrents every interop test moves ------------------------------------------------------

export interface Case {
  kind: 'single' | 'multi';
  /** The payload: a file (single) or a folder (multi), inside `payloadDir`. */
  source: string;
  payloadDir: string;
  /** The torrent's name: the file or folder name inside a download folder. */
  name: string;
  torrent: string;
  hash: string;
}

/**
 * A single-file torrent (3 MiB and a bit, 128 KiB pieces) and a multi-file one (four files, one
 * empty, 64 KiB pieces spanning files), each with its payload in its own folder.
 */
export function makeCases(dir: string, trackers: string[] = []): Case[] {
  const single = singlePayload(join(dir, 'payload-single'), 'payload.bin', 3 * 1024 * 1024 + 12_345);
  const multi = multiPayload(join(dir, 'payload-multi'), 'album');
  return [
    { kind: 'single', source: single, payloadDir: join(dir, 'payload-single'), name: 'payload.bin', torrent: join(dir, 'single.torrent'), hash: '' },
    { kind: 'multi', source: multi, payloadDir: join(dir, 'payload-multi'), name: 'album', torrent: join(dir, 'multi.torrent'), hash: '' },
  ].map((c) => ({ ...c, kind: c.kind as Case['kind'], hash: createTorrentFile(c.source, c.torrent, { trackers, pieceLength: c.kind === 'single' ? 128 * 1024 : 64 * 1024 }) }));
}

/** Where downloadAll puts a case: dir/out-KIND. */
export function downloadDir(dir: string, c: Case): string {
  return join(dir, `out-${c.kind}`);
}

/** Runs `swarmlab download` for every case at once into dir/out-KIND; resolves with each process once all exited. */
export async function downloadAll(procs: Procs, cases: Case[], dir: string, extra: (c: Case) => string[] = () => [], seconds = 90): Promise<Proc[]> {
  const ps = cases.map((c) => procs.swarmlab(`swarmlab-${c.kind}`, ['download', c.torrent, '-o', downloadDir(dir, c), '--bind', '127.0.0.1', '--json', ...extra(c)], seconds));
  await Promise.all(ps.map((p) => p.exit(seconds * 1000 + 5_000)));
  return ps;
}

/** Each download of downloadAll exited 0 with the exact bytes; with `summary`, its summary says complete. */
export function expectDownloaded(dls: Proc[], cases: Case[], dir: string, o: { summary?: boolean } = {}): void {
  for (const [i, c] of cases.entries()) {
    expect(dls[i].code, dls[i].stderr).toBe(0);
    if (o.summary) expect(summaryOf(dls[i])).toMatchObject({ ok: true, complete: true, infoHash: c.hash });
    expect(compareTrees(c.source, join(downloadDir(dir, c), c.name)), c.kind).toEqual([]);
  }
}

/** Starts one seed per case, each on a free port, in turn; returns each case's port. */
export async function seedEach(cases: Case[], start: (c: Case, port: number) => Promise<unknown>): Promise<Map<Case, number>> {
  const ports = new Map<Case, number>();
  for (const c of cases) {
    const port = await freePort();
    ports.set(c, port);
    await start(c, port);
  }
  return ports;
}

/**
 * Both cases announced to a fresh opentracker (`scheme` URLs) and seeded by `seed`; swarmlab, which
 * finds the seeds only through the tracker, downloads each; then expectDownloaded with the summary.
 */
export async function expectDownloadsThroughTracker(
  procs: Procs,
  dir: string,
  o: { scheme: 'http' | 'udp'; trackerSeconds: number; downloadSeconds?: number; seed: (cases: Case[]) => Promise<unknown> },
): Promise<void> {
  const trackerPort = await freePort();
  const cases = makeCases(dir, [`${o.scheme}://127.0.0.1:${trackerPort}/announce`]);
  const tracker = await startTracker(procs, cases.map((c) => c.hash), o.trackerSeconds, trackerPort);
  await o.seed(cases);
  for (const c of cases) await tracker.waitForSeeders(c.hash, 1, 30_000);
  const dls = await downloadAll(procs, cases, dir, () => [], o.downloadSeconds);
  expectDownloaded(dls, cases, dir, { summary: true });
}
