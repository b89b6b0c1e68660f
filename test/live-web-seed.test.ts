// Web seeds (BEP 19) in live mode, against a real HTTP server with Range support on 127.0.0.1
// (test/helpers/range-server.ts): a web seed alone (behind a redirect), mixed with a swarmlab seed,
// a multi-file torrent by BEP 19's URL layout, a failing web seed retired; and pausing a live
// download with SIGUSR1.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTorrent, type Torrent } from '../engine/metainfo.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { HttpWebSeeds } from '../live/web-seed-http.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees, copyTree, multiPayload, singlePayload } from './helpers/payloads.ts';
import { type RangeServer, startRangeServer } from './helpers/range-server.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

/** The files under `dir` as createTorrent takes them. */
function torrentOf(path: string, name: string, urlList: string[], multi: string[][] | undefined, pieceLength = 64 * 1024): Torrent {
  const files = multi ? multi.map((p) => ({ path: p, data: new Uint8Array(readFileSync(join(path, ...p))) })) : new Uint8Array(readFileSync(path));
  return createTorrent({ name, pieceLength, files, urlList }).torrent;
}

const sessions: LiveSession[] = [];
const servers: RangeServer[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop('test over', 100)));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function leecher(torrent: Torrent, dir: string, o: { peers?: { host: string; port: number }[]; settings?: LiveSession['o']['settings'] } = {}) {
  const network = await TcpNetwork.create({ host: '127.0.0.1' });
  const events: TraceEvent[] = [];
  let completed: () => void = () => {};
  const complete = new Promise<void>((resolve) => (completed = resolve));
  const session = new LiveSession({ torrent, dir, network, initial: 'empty', peers: o.peers, settings: o.settings, trace: { emit: (e) => events.push(e) }, onComplete: () => completed() });
  sessions.push(session);
  session.start();
  return { session, complete, events };
}

/** Resolves when `check` holds, polling; rejects after `ms` (a bound, not a speed assertion). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('web seeds over HTTP on 127.0.0.1', () => {
  const { work, procs } = useLiveWorkspace();

  it('a web seed alone, behind a redirect: every piece over HTTP Range requests, verified', async () => {
    const dir = work('alone');
    const file = singlePayload(join(dir, 'www'), 'payload.bin', 1_000_000 + 123);
    const server = await startRangeServer(join(dir, 'www'));
    servers.push(server);
    const torrent = torrentOf(file, 'payload.bin', [`${server.base}/redirect/`], undefined);
    const { session, complete } = await leecher(torrent, join(dir, 'out'));
    await complete;
    expect(compareTrees(file, join(dir, 'out', 'payload.bin'))).toEqual([]);
    const ranged = server.requests.filter((r) => r.path === '/payload.bin');
    expect(ranged.length).toBe(torrent.pieceCount);
    expect(ranged.every((r) => /^bytes=\d+-\d+$/.test(r.range ?? ''))).toBe(true);
    expect(session.client.webSeeds()[0].downloaded).toBe(torrent.length);
  }, 60_000);

  it('mixed with a swarmlab seed that holds half: the web seed delivers the other half and the download completes', async () => {
    const dir = work('mixed');
    const file = singlePayload(join(dir, 'www'), 'payload.bin', 4 * 1024 * 1024 + 7);
    const server = await startRangeServer(join(dir, 'www'));
    servers.push(server);
    server.delay = 30; // slower than the peer, so that the peer has pieces to give
    const pieceLength = 32 * 1024;
    const torrent = torrentOf(file, 'payload.bin', [`${server.base}/`], undefined, pieceLength);
    copyTree(join(dir, 'www'), join(dir, 'seed'));
    // The swarmlab seed holds the first half only (the rest zeroed): which source gives the first
    // half is a race, but the second half can only come from the web seed.
    const half = Math.floor(torrent.pieceCount / 2) * pieceLength;
    const seedCopy = join(dir, 'seed', 'payload.bin');
    const bytes = readFileSync(seedCopy);
    bytes.fill(0, half);
    writeFileSync(seedCopy, bytes);
    const seedNet = await TcpNetwork.create({ host: '127.0.0.1' });
    const seed = new LiveSession({ torrent: { ...torrent, urlList: [] }, dir: join(dir, 'seed'), network: seedNet, initial: 'check' });
    sessions.push(seed);
    seed.start();
    const { session, complete } = await leecher(torrent, join(dir, 'out'), { peers: [seedNet.localAddress] });
    await complete;
    expect(compareTrees(file, join(dir, 'out', 'payload.bin'))).toEqual([]);
    const fromWebSeed = session.client.webSeeds()[0].downloaded;
    expect(fromWebSeed).toBeGreaterThanOrEqual(torrent.length - half);
    // Every byte came from one of the two (a block fetched twice in endgame counts twice).
    expect(fromWebSeed + seed.client.uploaded).toBeGreaterThanOrEqual(torrent.length);
  }, 60_000);

  it('multi-file: each file fetched at url/name/path, pieces across files assembled and verified', async () => {
    const dir = work('multi');
    const root = multiPayload(join(dir, 'www'), 'my album');
    const server = await startRangeServer(join(dir, 'www'));
    servers.push(server);
    const paths = [['a.bin'], ['sub', 'b.txt'], ['sub', 'deeper', 'c.dat'], ['sub', 'empty']];
    // The URL without its trailing slash: BEP 19 multi-file URLs are folders either way.
    const torrent = torrentOf(root, 'my album', [`${server.base}/`], paths);
    const { complete } = await leecher(torrent, join(dir, 'out'));
    await complete;
    expect(compareTrees(root, join(dir, 'out', 'my album'), { allowMissingEmpty: true })).toEqual([]);
    expect(new Set(server.requests.map((r) => r.path))).toEqual(new Set(['/my%20album/a.bin', '/my%20album/sub/b.txt', '/my%20album/sub/deeper/c.dat']));
  }, 60_000);

  it('a failing web seed (HTTP 503) is backed off, then retired; a corrupt one is charged like a bad peer', async () => {
    const dir = work('failing');
    const file = singlePayload(join(dir, 'www'), 'payload.bin', 300_000);
    const server = await startRangeServer(join(dir, 'www'));
    servers.push(server);
    server.mode = 'error';
    const torrent = torrentOf(file, 'payload.bin', [`${server.base}/`], undefined);
    const { session, events } = await leecher(torrent, join(dir, 'out'), { settings: { webSeedRetryDelay: 100 } });
    await until(() => session.client.webSeeds()[0].status === 'retired', 30_000, 'the web seed retired');
    const states = events.filter((e) => e.kind === 'webseed').map((e) => e.state);
    expect(states).toEqual(['failed', 'failed', 'retired']);
    expect(String(events.find((e) => e.kind === 'webseed')!.error)).toContain('HTTP 503');

    server.mode = 'corrupt';
    const second = await leecher(torrent, join(dir, 'out2'), { settings: { webSeedRetryDelay: 100 } });
    await until(() => second.session.client.webSeeds()[0].status === 'retired', 30_000, 'the corrupt web seed retired');
    expect(second.events.some((e) => e.kind === 'hashfail')).toBe(true);
    expect(second.session.client.pieces.have.count).toBe(0);
  }, 60_000);

  it('the HTTP adapter refuses a body that is not the range, and too many redirects', async () => {
    const dir = work('adapter');
    singlePayload(join(dir, 'www'), 'f.bin', 1000);
    const server = await startRangeServer(join(dir, 'www'));
    servers.push(server);
    const port = new HttpWebSeeds({ timeout: 5_000, maxRedirects: 0 });
    const get = (url: string, a: number, b: number) => new Promise<ReturnType<typeof JSON.parse>>((resolve) => port.get(url, a, b, resolve));
    expect(await get(`${server.base}/f.bin`, 10, 19)).toMatchObject({ ok: true });
    // Past the end of the file the server sends fewer bytes than asked: an error.
    expect(await get(`${server.base}/f.bin`, 990, 1009)).toMatchObject({ ok: false, error: expect.stringContaining('asked for 990-1009') });
    expect(await get(`${server.base}/redirect/f.bin`, 0, 9)).toMatchObject({ ok: false, error: 'more than 0 redirects' });
    expect(await get(`${server.base}/missing`, 0, 9)).toMatchObject({ ok: false, error: expect.stringContaining('HTTP 404') });
    expect(await get(`ftp://127.0.0.1/f.bin`, 0, 9)).toMatchObject({ ok: false, error: expect.stringContaining('unsupported URL scheme') });
    port.close();
  }, 30_000);

  it('swarmlab download: SIGUSR1 pauses (tracker-less: connections and web seed stop) and resumes; the download completes', async () => {
    const dir = work('pause');
    const file = singlePayload(join(dir, 'www'), 'payload.bin', 2 * 1024 * 1024);
    const server = await startRangeServer(join(dir, 'www'));
    servers.push(server);
    server.delay = 100; // the download lasts long enough to be paused midway
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(file, torrentPath, { webSeeds: [`${server.base}/`], pieceLength: 32 * 1024 });
    const p = procs().swarmlab('download', ['download', torrentPath, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--json'], 60);
    await until(() => server.requests.length > 0, 30_000, 'the first web seed request');
    // The test's processes run under timeout(1), which does not pass SIGUSR1 on: signal its child, by PID.
    const pid = Number(execFileSync('pgrep', ['-P', String(p.pid)]).toString().trim().split('\n')[0]);
    const usr1 = () => process.kill(pid, 'SIGUSR1');
    usr1();
    await p.waitFor(/paused \(SIGUSR1 again resumes\)/, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // answers in flight land (and are dropped)
    const asked = server.requests.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(server.requests.length).toBe(asked);
    usr1();
    await p.waitFor(/resumed/, 20_000);
    expect(await p.exit(50_000)).toBe(0);
    expect(summaryOf(p)).toMatchObject({ ok: true, complete: true });
    expect(compareTrees(file, join(dir, 'out', 'payload.bin'))).toEqual([]);
  }, 90_000);
});
