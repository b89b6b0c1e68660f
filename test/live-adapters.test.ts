// Live mode's IO adapters and its defences, on 127.0.0.1 with fake servers: file storage, HTTP
// and UDP trackers (good replies, garbage, failures, time-outs), BEP 12 tiers, the TCP network,
// magnet links, and hostile peers against a live client.

import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import { createTorrent } from '../engine/metainfo.ts';
import { reservedBytes } from '../engine/reserved-bits.ts';
import type { AnnounceRequest, AnnounceResult, Connection } from '../engine/ports.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { encodeHandshake, encodeMessageBytes } from '../engine/wire.ts';
import { FileStorage, safeComponent } from '../live/file-storage.ts';
import { HttpTracker, percentEncode } from '../live/http-tracker.ts';
import { parseMagnet } from '../live/magnet.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { parseAnnounceReply } from '../live/tracker-reply.ts';
import { Trackers } from '../live/trackers.ts';
import { UdpTracker } from '../live/udp-tracker.ts';
import { removeDir, tempDir } from './helpers/payloads.ts';
import { sleep } from './helpers/processes.ts';

const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
const work = (tag: string) => {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) removeDir(d);
});

const request = (o: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: new Uint8Array(20).fill(0xab),
  peerId: new TextEncoder().encode('-SL0100-abcdefghijkl'),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  event: 'started',
  numWant: 50,
  ...o,
});

async function httpServer(handler: (url: URL, res: import('node:http').ServerResponse) => void): Promise<{ url: string; server: HttpServer }> {
  const server = createHttpServer((req, res) => handler(new URL(req.url!, 'http://x'), res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  closers.push(() => void server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`, server };
}

const announceAsync = (t: Trackers, r = request()) => new Promise<AnnounceResult>((resolve) => t.announce(r, resolve));

describe('file storage', () => {
  const layout = {
    name: 'album',
    multiFile: true,
    length: 10 + 0 + 7 + 13,
    files: [
      { path: ['a.bin'], length: 10, offset: 0 },
      { path: ['sub', 'empty'], length: 0, offset: 10 },
      { path: ['sub', 'deeper', 'b.bin'], length: 7, offset: 10 },
      { path: ['c.bin'], length: 13, offset: 17 },
    ],
  };

  it('splits reads and writes over files, creates files and folders as needed, reads zeros where nothing was written', () => {
    const dir = work('fs');
    const s = new FileStorage(dir, layout);
    expect(s.anyOnDisk()).toBe(false);
    expect(Array.from(s.read(0, 30))).toEqual(new Array(30).fill(0));
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    s.write(8, bytes); // spans a.bin, the empty file, b.bin and c.bin
    s.flush();
    expect(Array.from(s.read(8, 12))).toEqual(Array.from(bytes));
    expect(readFileSync(join(dir, 'album', 'a.bin')).length).toBe(10);
    expect(Array.from(readFileSync(join(dir, 'album', 'sub', 'deeper', 'b.bin')))).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(readFileSync(join(dir, 'album', 'c.bin')))).toEqual([10, 11, 12]);
    expect(existsSync(join(dir, 'album', 'sub', 'empty'))).toBe(false);
    s.finish(); // creates what is missing, 0-byte files included
    expect(statSync(join(dir, 'album', 'sub', 'empty')).size).toBe(0);
    expect(statSync(join(dir, 'album', 'c.bin')).size).toBe(3); // never grown past what was written
    expect(() => s.read(25, 10)).toThrow(/outside/);
    s.close();
  });

  it('keeps every path inside its folder whatever the torrent says', () => {
    const dir = work('fs-escape');
    const hostile = {
      name: '..',
      multiFile: true,
      length: 4,
      files: [
        { path: ['..', '..', 'etc', 'passwd'], length: 2, offset: 0 },
        { path: ['/abs', 'a\\b', 'x\u0000y'], length: 2, offset: 2 },
      ],
    };
    const s = new FileStorage(join(dir, 'inner'), hostile);
    s.write(0, new Uint8Array([1, 2, 3, 4]));
    s.close();
    for (const f of s.files()) expect(f.path.startsWith(join(dir, 'inner') + '/')).toBe(true);
    expect(readdirSync(dir)).toEqual(['inner']);
    expect(safeComponent('..')).toBe('__');
    expect(safeComponent('a/b')).toBe('a_b');
    expect(safeComponent('')).toBe('_');
  });

  it('a single-file torrent is DIR/name', () => {
    const dir = work('fs-single');
    const s = new FileStorage(dir, { name: 'one.bin', multiFile: false, length: 3, files: [{ path: ['one.bin'], length: 3, offset: 0 }] });
    s.write(0, new Uint8Array([7, 8, 9]));
    s.close();
    expect(Array.from(readFileSync(join(dir, 'one.bin')))).toEqual([7, 8, 9]);
  });
});

describe('tracker replies (BEP 3, BEP 23)', () => {
  it('reads compact and dictionary peer lists, complete/incomplete and the interval', () => {
    const compact = parseAnnounceReply(bencodeValue({ interval: 900, complete: 2, incomplete: 1, peers: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80]) }));
    expect(compact).toEqual({ ok: true, interval: 900, complete: 2, incomplete: 1, peers: [{ host: '127.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 80 }] });
    const dict = parseAnnounceReply(bencodeValue({ interval: 60, peers: [{ ip: '127.0.0.1', port: 7000, 'peer id': new Uint8Array(20).fill(65) }, { ip: 'x', port: 0 }] }));
    expect(dict.ok && dict.peers).toEqual([{ host: '127.0.0.1', port: 7000, peerId: new Uint8Array(20).fill(65) }]);
  });

  it('turns a failure reason and garbage into errors, never a throw', () => {
    expect(parseAnnounceReply(bencodeValue({ 'failure reason': 'not registered' }))).toEqual({ ok: false, error: 'tracker failure: not registered' });
    for (const body of ['<html>502</html>', 'd8:intervali', 'i5e', 'd8:intervali60e5:peers5:abcdee', '', 'd5:peersi1e8:intervali1ee']) {
      const r = parseAnnounceReply(new TextEncoder().encode(body));
      expect(r.ok, body).toBe(false);
    }
  });
});

describe('HTTP tracker', () => {
  it('announces with the BEP 3 query and reads the reply', async () => {
    let seen: URL | undefined;
    const { url } = await httpServer((u, res) => {
      seen = u;
      res.end(Buffer.from(bencodeValue({ interval: 120, peers: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1]) })));
    });
    const r = await new HttpTracker(url, 'k1').announce(request());
    expect(r).toEqual({ ok: true, interval: 120, peers: [{ host: '127.0.0.1', port: 6881 }] });
    expect(seen!.searchParams.get('event')).toBe('started');
    expect(seen!.searchParams.get('compact')).toBe('1');
    expect(seen!.searchParams.get('left')).toBe('3');
    expect(seen!.search).toContain(`info_hash=${percentEncode(new Uint8Array(20).fill(0xab))}`);
  });

  it('garbage, HTTP errors, oversized replies and silence are errors, and the client lives on', async () => {
    const { url } = await httpServer((u, res) => {
      const mode = u.searchParams.get('key');
      if (mode === 'garbage') res.end('this is not bencoding');
      else if (mode === 'status') {
        res.statusCode = 500;
        res.end('oops');
      } else if (mode === 'big') res.end(Buffer.alloc(3 << 20, 0x61));
      // 'silent': never answers
    });
    expect(await new HttpTracker(url, 'garbage').announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/not bencoded/) });
    expect(await new HttpTracker(url, 'status').announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/HTTP 500/) });
    expect(await new HttpTracker(url, 'big').announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/larger than/) });
    expect(await new HttpTracker(url, 'silent', { timeout: 300 }).announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/no reply within 300 ms/) });
    expect(await new HttpTracker('http://127.0.0.1:1/announce', 'down').announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});

/** A fake BEP 15 tracker: `behave` decides per packet what to send back (or nothing). */
async function udpServer(behave: (msg: Buffer, n: number) => Buffer | Buffer[] | undefined): Promise<string> {
  const sock = createSocket('udp4');
  let n = 0;
  sock.on('message', (msg, rinfo) => {
    const reply = behave(msg, n++);
    for (const r of reply === undefined ? [] : Array.isArray(reply) ? reply : [reply]) sock.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => sock.close(() => r())));
  return `udp://127.0.0.1:${sock.address().port}/announce`;
}

function connectReply(msg: Buffer): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0, 0);
  b.writeUInt32BE(msg.readUInt32BE(12), 4);
  b.write('CONNID00', 8);
  return b;
}

function announceReply(msg: Buffer): Buffer {
  const b = Buffer.alloc(26);
  b.writeUInt32BE(1, 0);
  b.writeUInt32BE(msg.readUInt32BE(12), 4);
  b.writeUInt32BE(300, 8);
  b.writeUInt32BE(4, 12);
  b.writeUInt32BE(5, 16);
  Buffer.from([127, 0, 0, 1, 0x1b, 0x58]).copy(b, 20);
  return b;
}

describe('UDP tracker (BEP 15)', () => {
  it('connects, announces, and ignores garbage and replies to other transactions', async () => {
    const events: number[] = [];
    const url = await udpServer((msg) => {
      const action = msg.readUInt32BE(8);
      if (action === 0) {
        expect(msg.readBigUInt64BE(0)).toBe(0x41727101980n);
        const wrongTid = connectReply(msg);
        wrongTid.writeUInt32BE((msg.readUInt32BE(12) ^ 1) >>> 0, 4); // `^` gives a signed int
        return [Buffer.from([1, 2, 3]), wrongTid, connectReply(msg)];
      }
      expect(msg.subarray(0, 8).toString()).toBe('CONNID00');
      events.push(msg.readUInt32BE(80));
      return announceReply(msg);
    });
    const r = await new UdpTracker(url, 7, { timeout: 500 }).announce(request());
    expect(r).toEqual({ ok: true, interval: 300, complete: 5, incomplete: 4, peers: [{ host: '127.0.0.1', port: 7000 }] });
    expect(events).toEqual([2]); // started
  });

  it('retries a lost packet, reports a tracker error, gives up on silence', async () => {
    const lossy = await udpServer((msg, n) => (n === 0 ? undefined : msg.readUInt32BE(8) === 0 ? connectReply(msg) : announceReply(msg)));
    expect(await new UdpTracker(lossy, 1, { timeout: 200 }).announce(request())).toMatchObject({ ok: true, interval: 300 });

    const refusing = await udpServer((msg) => {
      if (msg.readUInt32BE(8) === 0) return connectReply(msg);
      const b = Buffer.alloc(8 + 14);
      b.writeUInt32BE(3, 0);
      b.writeUInt32BE(msg.readUInt32BE(12), 4);
      b.write('not whitelisted', 8);
      return b;
    });
    expect(await new UdpTracker(refusing, 1, { timeout: 200 }).announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/tracker error: not whitelist/) });

    const silent = await udpServer(() => undefined);
    expect(await new UdpTracker(silent, 1, { timeout: 100, attempts: 2 }).announce(request())).toMatchObject({ ok: false, error: expect.stringMatching(/no reply after 2 tries/) });
  });

  it('runs each try\'s time-out on the timer it is given: cancelled by the reply, or expired by it', async () => {
    const url = await udpServer((msg) => (msg.readUInt32BE(8) === 0 ? connectReply(msg) : undefined));
    const tries: { ms: number; cancelled: boolean }[] = [];
    // The connect's try waits for its reply (no time passes for it); every later one expires at once.
    const timer = (ms: number, expire: () => void) => {
      const t = { ms, cancelled: false };
      if (tries.push(t) > 1) setImmediate(() => t.cancelled || expire());
      return () => void (t.cancelled = true);
    };
    const r = await new UdpTracker(url, 1, { timeout: 30_000, attempts: 2, setTimer: timer }).announce(request());
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/no reply after 2 tries/) });
    // The connect's try, answered; then the announce's, expired, and its retry at twice the time.
    expect(tries).toEqual([
      { ms: 30_000, cancelled: true },
      { ms: 30_000, cancelled: false },
      { ms: 60_000, cancelled: false },
    ]);
  });
});

describe('tiers of trackers (BEP 12)', () => {
  it('falls through a dead tier to one that answers, and logs each failure', async () => {
    const { url: good } = await httpServer((_u, res) => res.end(Buffer.from(bencodeValue({ interval: 60, peers: new Uint8Array(0) }))));
    const { url: garbage } = await httpServer((_u, res) => res.end('garbage'));
    const log: string[] = [];
    const t = new Trackers([['http://127.0.0.1:1/announce', garbage], ['not a url', good]], { log: (l) => log.push(l), udp: { timeout: 100, attempts: 1 } });
    expect(t.count).toBe(3);
    expect(await announceAsync(t)).toEqual({ ok: true, interval: 60, peers: [] });
    expect(log.filter((l) => /ECONNREFUSED|not bencoded|skipped/.test(l)).length).toBe(3);
    await t.settle(1_000);
  });

  it('reports an error when every tracker fails, and an idle success when there are none', async () => {
    const t = new Trackers([['http://127.0.0.1:1/announce']]);
    const r = await announceAsync(t);
    expect(r.ok).toBe(false);
    expect(await announceAsync(new Trackers([]))).toEqual({ ok: true, interval: 3600, peers: [] });
  });
});

describe('magnet links', () => {
  it('reads hex and base32 info-hashes, trackers and peers', () => {
    const m = parseMagnet('magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=x&tr=udp%3A%2F%2Ft%3A1&tr=http%3A%2F%2Fu%2Fa&x.pe=127.0.0.1:7000');
    expect(m.infoHashHex).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(m.trackers).toEqual(['udp://t:1', 'http://u/a']);
    expect(m.peers).toEqual([{ host: '127.0.0.1', port: 7000 }]);
    expect(parseMagnet('magnet:?xt=urn:btih:AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH').infoHashHex).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(() => parseMagnet('magnet:?dn=x')).toThrow(/xt=urn:btih/);
    expect(() => parseMagnet('http://x')).toThrow(/magnet:\?/);
  });
});

describe('TCP network', () => {
  it('delivers open, data and close; close() we ask for is not reported back', async () => {
    const a = await TcpNetwork.create({ host: '127.0.0.1' });
    const b = await TcpNetwork.create({ host: '127.0.0.1' });
    closers.push(() => a.close(), () => b.close());
    const got: string[] = [];
    let inbound: Connection | undefined;
    b.listen((conn) => {
      inbound = conn;
      conn.setHandler({ open: () => got.push('b:open'), data: (d) => got.push(`b:data:${Buffer.from(d).toString()}`), drain: () => {}, close: (r) => got.push(`b:close:${r ?? 'clean'}`) });
    });
    const out = a.connect(b.localAddress);
    out.setHandler({ open: () => got.push('a:open'), data: () => {}, drain: () => {}, close: () => got.push('a:close') });
    while (!got.includes('a:open')) await sleep(10);
    out.write([new TextEncoder().encode('he'), new TextEncoder().encode('llo')]);
    while (!got.some((g) => g.startsWith('b:data'))) await sleep(10);
    expect(inbound?.inbound).toBe(true);
    expect(out.bufferedBytes()).toBe(0);
    out.close();
    while (!got.some((g) => g.startsWith('b:close'))) await sleep(10);
    await sleep(50);
    expect(got.filter((g) => g.startsWith('a:') || g.startsWith('b:close'))).toEqual(['a:open', 'b:close:clean']);
  });

  it('a dial to a closed port reports close with the reason', async () => {
    const a = await TcpNetwork.create({ host: '127.0.0.1' });
    closers.push(() => a.close());
    const reason = await new Promise<string | undefined>((resolve) => {
      a.connect({ host: '127.0.0.1', port: 1 }).setHandler({ open: () => {}, data: () => {}, drain: () => {}, close: resolve });
    });
    expect(reason).toMatch(/ECONNREFUSED/);
  });
});

describe('hostile peers against a live seed', () => {
  async function liveSeed(): Promise<{ session: LiveSession; port: number; events: TraceEvent[]; infoHash: Uint8Array }> {
    const dir = work('hostile');
    const payload = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff);
    const { torrent } = createTorrent({ name: 'p.bin', pieceLength: 32768, files: payload });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'p.bin'), payload);
    const network = await TcpNetwork.create({ host: '127.0.0.1' });
    const events: TraceEvent[] = [];
    const session = new LiveSession({ torrent, dir, network, initial: 'check', trace: { emit: (e) => events.push({ ...e }) } });
    session.start();
    closers.push(() => session.stop('test over', 100));
    return { session, port: network.localAddress.port, events, infoHash: torrent.infoHash };
  }

  /** Sends `bytes` after a handshake; resolves when the seed drops the connection. */
  async function attack(port: number, infoHash: Uint8Array, bytes: Uint8Array[], label: string): Promise<void> {
    const s = new Socket();
    closers.push(() => void s.destroy());
    await new Promise<void>((r) => s.connect(port, '127.0.0.1', r));
    s.write(encodeHandshake({ infoHash, peerId: new TextEncoder().encode(`-XX0000-${label.padEnd(12, '.')}`.slice(0, 20)), reserved: reservedBytes({ fast: true, extensionProtocol: true }) }));
    for (const b of bytes) s.write(b);
    s.on('data', () => {});
    await new Promise<void>((resolve) => {
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
  }

  it('a huge length prefix, a malformed message, bad bencoding: each a clear error and a dropped connection; the seed serves on', async () => {
    const { session, port, events, infoHash } = await liveSeed();
    await attack(port, infoHash, [new Uint8Array([0xff, 0xff, 0xff, 0xf0, 7])], 'huge');
    await attack(port, infoHash, [new Uint8Array([0, 0, 0, 3, 4, 0, 0])], 'short');
    await attack(port, infoHash, [encodeMessageBytes({ type: 'extended', id: 0, payload: new TextEncoder().encode('d1:md11:ut_metadatai') })], 'bencode');
    await attack(port, infoHash, [encodeMessageBytes({ type: 'extended', id: 2, payload: new TextEncoder().encode('d8:msg_typei0e5:piecei-5ee') })], 'metadata');
    const reasons = events.filter((e) => e.kind === 'disconnect').map((e) => String(e.reason));
    expect(reasons[0]).toMatch(/message length 4294967280 exceeds the limit/);
    expect(reasons[1]).toMatch(/have: payload is 2 bytes/);
    expect(reasons[2]).toMatch(/extension handshake: bad bencoding/);
    expect(reasons[3]).toMatch(/ut_metadata message: piece -5/);
    // Still serving: a well-behaved peer gets a piece.
    const s = new Socket();
    closers.push(() => void s.destroy());
    await new Promise<void>((r) => s.connect(port, '127.0.0.1', r));
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    s.write(encodeHandshake({ infoHash, peerId: new TextEncoder().encode('-XX0000-goodgoodgood'), reserved: new Uint8Array(8) }));
    s.write(encodeMessageBytes({ type: 'interested' }));
    // Handshake (68), BITFIELD of 7 pieces (6), then UNCHOKE (5): now a request is served.
    while (got.length < 68 + 6 + 5) await sleep(10);
    expect(Array.from(got.subarray(74, 79))).toEqual([0, 0, 0, 1, 1]);
    s.write(encodeMessageBytes({ type: 'request', index: 1, begin: 0, length: 16384 }));
    while (got.length < 79 + 13 + 16384) await sleep(10);
    expect(Buffer.compare(got.subarray(79 + 13), Buffer.from(Uint8Array.from({ length: 16384 }, (_, i) => ((32768 + i) * 31) & 0xff)))).toBe(0);
    expect(session.client.complete).toBe(true);
    expect(events.some((e) => e.kind === 'step' && e.node === 'queueRequest')).toBe(true);
  }, 30_000);
});
