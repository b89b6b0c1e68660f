// Live trackers behaving as mainstream clients do (issue 11), on 127.0.0.1 with real servers: a
// reply without `interval`, `tracker id` echoed as `trackerid`, `warning message` logged, `stopped`
// only to a tracker that answered, and BEP 15's UDP retransmission schedule (15 · 2^n s, n = 0..8)
// through UdpTracker's injectable timer; and `swarmlab download` printing a torrent's metainfo
// warnings. Every server started here is closed, and the process killed by PID, after its test.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bencode from 'bencode';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type BInput, bdecode, bencodeValue } from '../engine/bdecode.ts';
import { createTorrent } from '../engine/metainfo.ts';
import type { AnnounceResult } from '../engine/ports.ts';
import { HttpTracker } from '../live/http-tracker.ts';
import { Trackers } from '../live/trackers.ts';
import { BEP15_ATTEMPTS, BEP15_FIRST_TIMEOUT, UdpTracker } from '../live/udp-tracker.ts';
import { announceRequest } from './helpers/announce-request.ts';
import { Proc, ROOT, SWARMLAB } from './helpers/processes.ts';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const request = announceRequest;

/** An HTTP tracker on 127.0.0.1: `reply(n)` is the n-th reply's dictionary; every request's query is kept, parsed and raw. */
async function httpTracker(reply: (n: number) => { [key: string]: BInput }): Promise<{ url: string; queries: URLSearchParams[]; raw: string[] }> {
  const queries: URLSearchParams[] = [];
  const raw: string[] = [];
  const server = createHttpServer((req, res: ServerResponse) => {
    raw.push(req.url!);
    queries.push(new URL(req.url!, 'http://x').searchParams);
    res.end(Buffer.from(bencodeValue(reply(queries.length - 1))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  closers.push(() => void server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`, queries, raw };
}

const announceAsync = (t: Trackers, r = request()) => new Promise<AnnounceResult>((resolve) => t.announce(r, resolve));

describe('HTTP tracker replies as mainstream trackers send them', () => {
  it('a reply without interval succeeds, its interval left to the client (libtorrent: 1800 s)', async () => {
    const { url } = await httpTracker(() => ({ peers: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1]) }));
    const r = await new HttpTracker(url, 'k').announce(request());
    expect(r).toEqual({ ok: true, peers: [{ host: '127.0.0.1', port: 6881 }] });
  });

  it('remembers the tracker id and sends it back as trackerid in every later announce, keeping it when a reply has none', async () => {
    const id = new Uint8Array([0x41, 0x20, 0xff, 0x00, 0x7a]); // any bytes: percent-encoded as sent
    const { url, queries, raw } = await httpTracker((n): { [key: string]: BInput } => (n === 0 ? { interval: 60, peers: '', 'tracker id': id } : { interval: 60, peers: '' }));
    const t = new HttpTracker(url, 'k');
    await t.announce(request());
    await t.announce(request({ event: 'periodic' }));
    await t.announce(request({ event: 'stopped' }));
    expect(queries.map((q) => q.has('trackerid'))).toEqual([false, true, true]);
    // The exact bytes, percent-encoded as BEP 3 encodes the info hash.
    expect(raw.slice(1).map((u) => u.match(/[?&]trackerid=([^&]*)/)?.[1])).toEqual(['A%20%FF%00z', 'A%20%FF%00z']);
  });

  it('logs a warning message (the announce still succeeds) and passes it on to the engine', async () => {
    const { url } = await httpTracker(() => ({ interval: 60, peers: '', 'warning message': 'torrent is\nabout to be removed' }));
    const log: string[] = [];
    const t = new Trackers([[url]], { log: (l) => log.push(l) });
    const r = await announceAsync(t);
    expect(r).toMatchObject({ ok: true, interval: 60, warning: 'torrent is about to be removed' });
    expect(log).toContain(`tracker ${url}: warning: torrent is about to be removed`);
  });

  it('sends stopped to the tracker that answered, and to no tracker that never did', async () => {
    const answering = await httpTracker(() => ({ interval: 60, peers: '' }));
    const failing = await httpTracker(() => ({ 'failure reason': 'not registered' }));
    // Failing first in its tier, then the answering one: started goes to both, stopped to one.
    const log: string[] = [];
    const t = new Trackers([[failing.url], [answering.url]], { log: (l) => log.push(l) });
    expect((await announceAsync(t)).ok).toBe(true);
    expect((await announceAsync(t, request({ event: 'stopped' }))).ok).toBe(true);
    expect(failing.queries.map((q) => q.get('event'))).toEqual(['started']);
    expect(answering.queries.map((q) => q.get('event'))).toEqual(['started', 'stopped']);

    const never = await httpTracker(() => ({ 'failure reason': 'down' }));
    const lonely = new Trackers([[never.url]]);
    expect((await announceAsync(lonely)).ok).toBe(false);
    expect(await announceAsync(lonely, request({ event: 'stopped' }))).toEqual({ ok: false, error: 'tracker: no tracker answered us, stopped not sent' });
    expect(never.queries.map((q) => q.get('event'))).toEqual(['started']);
  });
});

describe('UDP tracker retransmission (BEP 15)', () => {
  /** A UDP socket on 127.0.0.1 that counts what it gets and never answers. */
  async function silentUdp(): Promise<{ url: string; received: number[] }> {
    const received: number[] = [];
    const socket = createSocket('udp4');
    socket.on('message', (msg) => received.push(msg.length >= 12 ? msg.readUInt32BE(8) : -1));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => socket.close(() => r())));
    return { url: `udp://127.0.0.1:${socket.address().port}`, received };
  }

  it('a UDP tracker on its long BEP 15 schedule does not hold its tier: after the handover wait the next tracker is asked, and its answer wins', async () => {
    const silent = await silentUdp();
    const answering = await httpTracker(() => ({ interval: 60, peers: '' }));
    const t = new Trackers([[silent.url], [answering.url]], { handoverDelay: 300 });
    const result = await announceAsync(t);
    expect(result.ok).toBe(true);
    // The silent one was asked first (its connect), the answering one after the handover.
    expect(silent.received.length).toBeGreaterThanOrEqual(1);
    expect(answering.queries.map((q) => q.get('event'))).toEqual(['started']);
    t.close();
  });

  it('waits 15 · 2^n s for n = 0..8 by default, one try each, then fails', async () => {
    expect([BEP15_FIRST_TIMEOUT, BEP15_ATTEMPTS]).toEqual([15_000, 9]);
    const { url, received } = await silentUdp();
    const waits: number[] = [];
    // The injected timer records each wait and lets it run out at once (after the datagram is on its way).
    const setTimer = (ms: number, fire: () => void) => {
      waits.push(ms);
      const t = setTimeout(fire, 5);
      return () => clearTimeout(t);
    };
    const r = await new UdpTracker(url, 1, { setTimer }).announce(request());
    expect(r).toEqual({ ok: false, error: `tracker ${url}: no reply after 9 tries` });
    expect(waits).toEqual([15, 30, 60, 120, 240, 480, 960, 1920, 3840].map((s) => s * 1000));
    // Nine connect requests reached the tracker (loopback does not lose them; allow a late one).
    for (let i = 0; i < 100 && received.length < 9; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual(Array(9).fill(0));
  });

  it('the schedule is settable (the first wait and the number of tries), for tests and the fuzz target', async () => {
    const { url } = await silentUdp();
    const waits: number[] = [];
    const setTimer = (ms: number, fire: () => void) => {
      waits.push(ms);
      const t = setTimeout(fire, 5);
      return () => clearTimeout(t);
    };
    const r = await new UdpTracker(url, 1, { timeout: 100, attempts: 3, setTimer }).announce(request());
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/no reply after 3 tries/) });
    expect(waits).toEqual([100, 200, 400]);
  });
});

describe('UDP tracker connection ids during long retransmissions (BEP 15)', () => {
  it('an announce whose connection id (1 min) expires while it waits connects again and goes on with its next try', async () => {
    // Answers every connect, never an announce; records what came in.
    const received: string[] = [];
    const socket = createSocket('udp4');
    let ids = 0;
    socket.on('message', (msg, from) => {
      if (msg.length < 16) return;
      if (msg.readUInt32BE(8) !== 0) {
        received.push(`announce ${msg.readBigUInt64BE(0)}`);
        // This try's wait runs out now that its datagram is here (not sooner: the machine may be slow).
        return void setImmediate(() => pending?.());
      }
      received.push('connect');
      const reply = Buffer.alloc(16);
      msg.copy(reply, 4, 12, 16); // transaction id; action 0
      reply.writeBigUInt64BE(BigInt(++ids), 8);
      socket.send(reply, from.port, from.address);
    });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => socket.close(() => r())));
    // A fake clock that the injected timer moves on by each wait that runs out; the tracker ends
    // each announce's wait when the announce arrives, and a connect's wait ends with its reply.
    let now = 0;
    let pending: (() => void) | undefined;
    const waits: number[] = [];
    const setTimer = (ms: number, fire: () => void) => {
      waits.push(ms);
      const run = () => {
        pending = undefined;
        now += ms;
        fire();
      };
      pending = run;
      return () => {
        if (pending === run) pending = undefined;
      };
    };
    const r = await new UdpTracker(`udp://127.0.0.1:${socket.address().port}`, 1, { setTimer, now: () => now }).announce(request());
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/no reply after 9 tries$/) });
    // Tries 1–3 with the first id (sent at 0, 15, 45 s); at 105 s it is 105 s old: a new connect,
    // then try 4; from then on each try's wait outlasts its id, so each follows a connect.
    expect(received).toEqual(['connect', 'announce 1', 'announce 1', 'announce 1', 'connect', 'announce 2', 'connect', 'announce 3', 'connect', 'announce 4',
      'connect', 'announce 5', 'connect', 'announce 6', 'connect', 'announce 7']);
    // Each connect's first wait (15 s, ended by the reply) before the announce tries' 15 · 2^n s.
    const C = 15;
    expect(waits.map((ms) => ms / 1000)).toEqual([C, 15, 30, 60, C, 120, C, 240, C, 480, C, 960, C, 1920, C, 3840]);
    expect(now).toBe((15 + 30 + 60 + 120 + 240 + 480 + 960 + 1920 + 3840) * 1000);
  });
});

describe('swarmlab download and metainfo warnings', () => {
  it('prints one line per warning (a wrong-typed announce-list and url-list) and still runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-warnings-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const made = createTorrent({ name: 'x.bin', pieceLength: 16_384, files: new Uint8Array(20_000), announce: [['http://127.0.0.1:1/announce']] });
    const top = bdecode(made.bytes) as Record<string, unknown>;
    const path = join(dir, 'x.torrent');
    writeFileSync(path, bencode.encode({ ...top, 'announce-list': 'http://127.0.0.1:2/announce', 'url-list': 5 }));
    const dl = new Proc('download', spawn(process.execPath, [SWARMLAB, 'download', path, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    closers.push(async () => {
      if (dl.code !== undefined) return;
      process.kill(dl.pid, 'SIGKILL');
      await dl.exited;
    });
    // Running: it reports progress (and by then handles Ctrl-C).
    await dl.waitFor(/"type":"progress"/, 30_000);
    const logged = dl.stdout.split('\n').flatMap((l) => (l.startsWith('{"type":"log"') ? [JSON.parse(l).message as string] : []));
    expect(logged.filter((m) => m.includes('warning'))).toEqual([
      `${path}: warning: announce-list: expected a list, got string; ignored, announce is used`,
      `${path}: warning: url-list: expected a string or a list of strings, got integer; no web seeds are used`,
    ]);
    process.kill(dl.pid, 'SIGINT');
    expect(await dl.exit(20_000)).toBe(130);
  }, 60_000);
});
