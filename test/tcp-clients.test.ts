// Other BitTorrent clients as peers (sim/tcp/clients/), each on its own 127.x address, meeting
// swarmlab's live engine through the loopback tracker (sim/tcp/tracker-server.ts; no relay here:
// the tracker hands out the real listening addresses): aria2, libtorrent and Transmission leechers
// download from a swarmlab seed, a libtorrent and an aria2 seed serve a swarmlab leecher, a
// `command` client runs with its placeholders; a missing program and a client that exits at once
// are a ClientStartError, quickly. The files check (verify-files.ts) against a torrent's pieces.
// Everything is stopped by PID after each test; a test whose client is not installed is skipped.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTorrent, type Torrent } from '../engine/metainfo.ts';
import type { PeerAddress } from '../engine/ports.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { SeedRoot } from '../sim/random.ts';
import { type ClientContext, type ClientSpec, ClientStartError, type RunningClient, startClient, verifyFiles } from '../sim/tcp/clients/index.ts';
import { LoopbackTracker } from '../sim/tcp/tracker-server.ts';
import { missing } from './helpers/installed.ts';
import { tempDir } from './helpers/payloads.ts';
import { ROOT } from './helpers/processes.ts';

/** This process's own block of 127/8 (not the tracker test's). */
const BLOCK = 20 + (process.pid % 100);
const hostIp = (i: number) => `127.${BLOCK}.1.${i + 1}`;
const PORT = 6882;
const NAME = 'payload.bin';
const PAYLOAD = new SeedRoot('tcp-clients').stream('payload').bytes(2 * 1024 * 1024 + 777);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether process `pid` runs (a zombie, dead but not yet reaped by an init that is slow to, does not). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

/** One test's world: a tracker, the hosts it knows, and everything to stop afterwards. */
class World {
  readonly dir = tempDir('tcp-clients');
  readonly addresses = new Map<string, PeerAddress>();
  readonly clients: RunningClient[] = [];
  readonly sessions: LiveSession[] = [];
  tracker!: LoopbackTracker;
  private hosts = 0;

  async start(): Promise<void> {
    this.tracker = await LoopbackTracker.create({
      ip: `127.${BLOCK}.0.1`,
      port: 0,
      random: new SeedRoot('tcp-clients').stream('tracker'),
      announceInterval: 2_000,
      delay: 0,
      addressOf: (label) => this.addresses.get(label),
      labelOfIp: (ip) => [...this.addresses].find(([, a]) => a.host === ip)?.[0],
    });
  }

  /** A host: its IP, its torrent file (announcing to its own tracker URL), folders. */
  host(label: string, role: 'seed' | 'leecher'): ClientContext {
    const ip = hostIp(this.hosts++);
    this.addresses.set(label, { host: ip, port: PORT });
    const trackerUrl = this.tracker.urlFor(label);
    const { bytes, torrent } = createTorrent({ name: NAME, pieceLength: 64 * 1024, files: PAYLOAD, announce: [[trackerUrl]] });
    const torrentFile = join(this.dir, `${label}.torrent`);
    writeFileSync(torrentFile, bytes);
    const dataDir = join(this.dir, label, 'data');
    mkdirSync(dataDir, { recursive: true });
    if (role === 'seed') writeFileSync(join(dataDir, NAME), PAYLOAD);
    return { label, role, ip, port: PORT, torrentFile, trackerUrl, dataDir, workDir: join(this.dir, label, 'work'), torrent, payload: PAYLOAD };
  }

  async client(spec: ClientSpec, ctx: ClientContext): Promise<RunningClient> {
    const c = await startClient(spec, ctx);
    this.clients.push(c);
    return c;
  }

  /** A swarmlab live peer on the host, announcing every 2 s (the tracker's interval). */
  async swarmlab(ctx: ClientContext, onComplete?: () => void): Promise<LiveSession> {
    const network = await TcpNetwork.create({ host: ctx.ip, port: ctx.port });
    const session = new LiveSession({
      torrent: ctx.torrent,
      dir: ctx.dataDir,
      network,
      initial: ctx.role === 'seed' ? 'check' : 'empty',
      label: ctx.label,
      settings: { minAnnounceInterval: 1_000 },
      onComplete,
    });
    this.sessions.push(session);
    session.start();
    return session;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.stop()));
    await Promise.all(this.sessions.map((s) => s.stop()));
    await this.tracker?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});
async function newWorld(): Promise<World> {
  world = new World();
  await world.start();
  return world;
}

/** Polls complete() until true; false after `ms` (a bound, not a speed assertion). */
async function completes(c: RunningClient, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await c.complete()) return true;
    await sleep(500);
  }
  return false;
}

function expectPayloadIn(ctx: ClientContext): void {
  expect(Buffer.compare(readFileSync(join(ctx.dataDir, NAME)), PAYLOAD)).toBe(0);
}

describe('built-in adapters: leechers download from a swarmlab seed found through the loopback tracker', () => {
  for (const [name, bound] of [
    ['aria2', 60_000],
    ['libtorrent', 60_000],
    // Transmission dials no 127.x peer: the seed dials it once the tracker has named it.
    ['transmission', 90_000],
  ] as const) {
    const skip = missing(name);
    it.skipIf(!!skip)(`${name}${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      const w = await newWorld();
      const seed = w.host('S0', 'seed');
      await w.swarmlab(seed);
      const leecher = w.host('L0', 'leecher');
      const c = await w.client(name, leecher);
      expect(c.pid).toBeGreaterThan(0);
      expect(await completes(c, bound), c.stderrTail(20)).toBe(true);
      expectPayloadIn(leecher);
      expect(readFileSync(join(leecher.workDir, 'stderr.log'), 'utf8').length + readFileSync(join(leecher.workDir, 'stdout.log'), 'utf8').length).toBeGreaterThan(0);
      await c.stop();
      const status = await c.exited;
      expect(status.code !== null || status.signal !== null).toBe(true);
      expect(running(c.pid)).toBe(false);
    }, 120_000);
  }
});

describe('built-in adapters: a seed serves a swarmlab leecher', () => {
  for (const [name, bound] of [
    ['libtorrent', 60_000],
    ['aria2', 60_000],
    // Transmission unchokes at its 10 s rechoke, and is dialled (it dials no 127.x peer).
    ['transmission', 90_000],
  ] as const) {
    const skip = missing(name);
    it.skipIf(!!skip)(`${name}${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      const w = await newWorld();
      const seedCtx = w.host('S0', 'seed');
      const seed = await w.client(name, seedCtx);
      expect(await seed.complete()).toBe(true);
      const leecher = w.host('L0', 'leecher');
      let done!: () => void;
      const completed = new Promise<void>((r) => (done = r));
      await w.swarmlab(leecher, () => done());
      const finished = await Promise.race([completed.then(() => true), sleep(bound).then(() => false)]);
      expect(finished, seed.stderrTail(20)).toBe(true);
      expectPayloadIn(leecher);
    }, 120_000);
  }
});

describe('the command adapter', () => {
  it('fills the placeholders in the command and its environment, keeps its output, and completes on its stdout line and the files', async () => {
    const w = await newWorld();
    const source = join(w.dir, 'source.bin');
    writeFileSync(source, PAYLOAD);
    const ctx = w.host('C0', 'leecher');
    const pidFile = join(w.dir, 'background.pid');
    const script = `echo "who=$WHO role={role} torrent={torrent} tracker={tracker}"; sleep 0.3; cp ${source} {data}/${NAME}; sleep 300 & echo $! > ${pidFile}; echo fetched-{label}; wait`;
    const c = await w.client({ command: ['sh', '-c', script], env: { WHO: '{label}@{ip}:{port}' }, done: { stdout: '^fetched-C0$' } }, ctx);
    expect(await completes(c, 20_000)).toBe(true);
    expectPayloadIn(ctx);
    const stdout = readFileSync(join(ctx.workDir, 'stdout.log'), 'utf8');
    expect(stdout).toContain(`who=C0@${ctx.ip}:${PORT} role=leecher torrent=${ctx.torrentFile} tracker=${ctx.trackerUrl}`);
    const started = Date.now();
    await c.stop();
    expect((await c.exited).signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeLessThan(10_000);
    // Stopped by its process group: the shell's background `sleep` is gone too.
    const background = Number(readFileSync(pidFile, 'utf8'));
    expect(background).toBeGreaterThan(0);
    expect(running(background)).toBe(false);
  });

  it('is not complete while its files are wrong, whatever its stdout says', async () => {
    const w = await newWorld();
    const ctx = w.host('C1', 'leecher');
    const c = await w.client({ command: ['sh', '-c', `head -c ${PAYLOAD.length} /dev/zero > {data}/${NAME}; echo done; exec sleep 30`], done: { stdout: 'done' } }, ctx);
    await sleep(500);
    expect(await c.complete()).toBe(false);
  });

  it('a client is killed, its process group with it, when swarmlab gets a SIGINT it does not handle', async () => {
    const dir = tempDir('client-signal');
    try {
      const child = spawnSync(process.execPath, ['--import', 'tsx', join('test', 'fixtures', 'client-on-signal.ts'), dir], { cwd: ROOT, timeout: 30_000, encoding: 'utf8' });
      expect(child.stdout, child.stderr).toMatch(/^started \d+\n$/);
      expect(child.signal).toBe('SIGINT');
      expect(running(Number(readFileSync(join(dir, 'bg.pid'), 'utf8')))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing program is a ClientStartError at once', async () => {
    const w = await newWorld();
    const started = Date.now();
    const err = await startClient({ command: ['/nonexistent/x'] }, w.host('X0', 'leecher')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientStartError);
    expect((err as Error).message).toBe('command for X0: /nonexistent/x is not installed or not executable');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a client that exits during start-up is a ClientStartError with its exit code and its stderr, quickly', async () => {
    const w = await newWorld();
    const started = Date.now();
    const err = await startClient({ command: ['sh', '-c', 'echo starting >&2; echo boom >&2; exit 3'] }, w.host('X1', 'leecher')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientStartError);
    expect((err as ClientStartError).line).toBe('command for X1: exited with code 3 during start-up: boom');
    expect((err as Error).message).toContain('starting');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a built-in client that is not installed is a one-line ClientStartError naming the package', async () => {
    const w = await newWorld();
    const path = process.env.PATH;
    process.env.PATH = join(w.dir, 'empty-path');
    try {
      await expect(startClient('aria2', w.host('A0', 'leecher'))).rejects.toThrow(/^aria2 for A0: aria2c is not installed \(apt-get install aria2\)$/);
      await expect(startClient('transmission', w.host('T0', 'leecher'))).rejects.toThrow('transmission for T0: transmission-daemon and transmission-remote are not installed (apt-get install transmission-daemon transmission-cli)');
    } finally {
      process.env.PATH = path;
    }
    await expect(startClient('rtorrent' as ClientSpec, w.host('R0', 'leecher'))).rejects.toThrow('R0: unknown client "rtorrent"');
  });
});

describe('verifyFiles', () => {
  const dir = tempDir('verify-files');
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function multi(): Torrent {
    const files = [
      { path: ['a.bin'], data: PAYLOAD.subarray(0, 100_000) },
      { path: ['.pad', '12345'], data: new Uint8Array(12_345) },
      { path: ['sub', 'b.bin'], data: PAYLOAD.subarray(100_000, 300_000) },
      { path: ['empty'], data: new Uint8Array(0) },
    ];
    const { torrent } = createTorrent({ name: 'album', pieceLength: 32 * 1024, files });
    mkdirSync(join(dir, 'album', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'album', 'a.bin'), files[0].data);
    writeFileSync(join(dir, 'album', 'sub', 'b.bin'), files[2].data);
    return torrent;
  }

  it('a multi-file folder hashes right; a BEP 47 pad file or an empty file not written is no fault; an unlisted file is ignored', async () => {
    const t = multi();
    mkdirSync(join(dir, 'album', '.pad-extra'), { recursive: true });
    expect(await verifyFiles(dir, t)).toEqual({ complete: true, goodPieces: t.pieceCount, pieceCount: t.pieceCount });
  });

  it('a changed byte names its piece; a short or missing file is found before hashing', async () => {
    const t = multi();
    const b = readFileSync(join(dir, 'album', 'sub', 'b.bin'));
    b[150_000] ^= 1;
    writeFileSync(join(dir, 'album', 'sub', 'b.bin'), b);
    const bad = Math.floor((100_000 + 12_345 + 150_000) / (32 * 1024));
    expect(await verifyFiles(dir, t)).toEqual({ complete: false, goodPieces: t.pieceCount - 1, pieceCount: t.pieceCount, problem: `piece ${bad} does not match the torrent's hash` });
    writeFileSync(join(dir, 'album', 'sub', 'b.bin'), b.subarray(0, 10));
    expect((await verifyFiles(dir, t)).problem).toBe(`${join(dir, 'album', 'sub', 'b.bin')} has 10 of 200000 bytes`);
    rmSync(join(dir, 'album', 'a.bin'));
    expect((await verifyFiles(dir, t)).problem).toBe(`${join(dir, 'album', 'a.bin')} is missing`);
  });
});
