// Hostile trackers and hostile callbacks in live mode (issue 8), on 127.0.0.1: tracker replies as
// large as the body limit allows, a tracker that never answers while we stop, an engine callback
// that throws inside an IO callback. Every server and process started here is stopped by handle or PID.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import type { AnnounceResult, Connection } from '../engine/ports.ts';
import { RealClock } from '../live/clock.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { parseAnnounceReply } from '../live/tracker-reply.ts';
import { Trackers } from '../live/trackers.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { singlePayload } from './helpers/payloads.ts';
import { Proc, ROOT, sleep, SWARMLAB } from './helpers/processes.ts';
import { announceRequest } from './helpers/announce-request.ts';
import { createTorrentFile } from './helpers/swarmlab-cli.ts';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const request = announceRequest;

/** An HTTP tracker on 127.0.0.1 that answers every request with `handler`. */
async function httpTracker(handler: (res: ServerResponse) => void): Promise<string> {
  const server = createHttpServer((_req, res) => handler(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  closers.push(() => void server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`;
}

/** `count` distinct compact peers (IPv4 10.x.y.z, 6 bytes each; IPv6 2000::x:y, 18), port 6881. */
function compactPeers(count: number, ipv6 = false): Uint8Array {
  const size = ipv6 ? 18 : 6;
  const bytes = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    bytes[at] = ipv6 ? 0x20 : 10;
    // The peer's number in the last three bytes of the address.
    bytes[at + size - 5] = (i >>> 16) & 0xff;
    bytes[at + size - 4] = (i >>> 8) & 0xff;
    bytes[at + size - 3] = i & 0xff;
    bytes[at + size - 2] = 0x1a; // port 6881
    bytes[at + size - 1] = 0xe1;
  }
  return bytes;
}

describe('tracker replies of any size up to the body limit', () => {
  it('a compact list of 174,000 peers (1 MB, just under the 1 MiB limit) over HTTP parses and every peer is handed on', async () => {
    const count = 174_000;
    const body = bencodeValue({ interval: 1800, peers: compactPeers(count) });
    expect(body.length).toBeLessThan(1 << 20);
    const url = await httpTracker((res) => res.end(Buffer.from(body)));
    const trackers = new Trackers([[url]]);
    const result = await new Promise<AnnounceResult>((resolve) => trackers.announce(request(), resolve));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.peers).toHaveLength(count);
    expect(result.peers[0]).toEqual({ host: '10.0.0.0', port: 6881 });
    expect(result.peers[count - 1]).toEqual({ host: `10.${(count - 1) >>> 16}.${((count - 1) >>> 8) & 0xff}.${(count - 1) & 0xff}`, port: 6881 });
  });

  it('peers6 (BEP 7) of 150,000 peers parses too, after the IPv4 list, in order', () => {
    const count = 150_000;
    const result = parseAnnounceReply(bencodeValue({ interval: 1800, peers: compactPeers(2), peers6: compactPeers(count, true) }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.peers).toHaveLength(2 + count);
    expect(result.peers[2]).toEqual({ host: '2000:0:0:0:0:0:0:0', port: 6881 });
    expect(result.peers[2 + count - 1].host).toBe(`2000:0:0:0:0:0:${((count - 1) >>> 16).toString(16)}:${((count - 1) & 0xffff).toString(16)}`);
  });

  it('a reply nested deeper than the decoder allows is a clear error, not a stack overflow', () => {
    const depth = 200_000;
    const body = new TextEncoder().encode(`d8:intervali1800e5:peers${'l'.repeat(depth)}${'e'.repeat(depth)}e`);
    const result = parseAnnounceReply(body);
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/not bencoded: .*nested deeper than 64/) });
  });
});

describe('`min interval` in an HTTP reply', () => {
  it('is read and handed to the tracker client; a negative one is ignored', () => {
    expect(parseAnnounceReply(bencodeValue({ interval: 1800, 'min interval': 900, peers: new Uint8Array(0) }))).toEqual({ ok: true, interval: 1800, minInterval: 900, peers: [] });
    expect(parseAnnounceReply(bencodeValue({ interval: 1800, 'min interval': -1, peers: new Uint8Array(0) }))).toEqual({ ok: true, interval: 1800, peers: [] });
  });
});

describe('an exception in an IO callback drops what it belongs to, never the process', () => {
  it('a timer of the real clock that throws is reported; the clock and later timers go on', async () => {
    const errors: unknown[] = [];
    const clock = new RealClock((err) => errors.push(err));
    const ran: string[] = [];
    clock.setTimer(0, () => {
      throw new Error('engine bug in a timer');
    });
    clock.setTimer(5, () => ran.push('later'));
    while (ran.length === 0) await sleep(5);
    expect(errors.map((e) => (e as Error).message)).toEqual(['engine bug in a timer']);
  });

  it('an engine that throws while taking an inbound connection loses that connection; the listener accepts the next', async () => {
    const errors: string[] = [];
    const network = await TcpNetwork.create({ host: '127.0.0.1', onError: (err, remote) => errors.push(`${(err as Error).message} from ${remote.host}`) });
    closers.push(() => network.close());
    const accepted: Connection[] = [];
    network.listen((conn) => {
      if (accepted.length === 0) {
        accepted.push(conn);
        throw new Error('engine bug on accept');
      }
      accepted.push(conn);
      conn.setHandler({ open: () => {}, data: () => {}, drain: () => {}, close: () => {} });
    });
    const dial = () => {
      const s = new Socket();
      closers.push(() => void s.destroy());
      const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
      s.on('error', () => {});
      s.connect(network.localAddress.port, '127.0.0.1');
      return { s, closed };
    };
    const first = dial();
    await first.closed; // we dropped it
    expect(errors).toEqual(['engine bug on accept from 127.0.0.1']);
    dial();
    while (accepted.length < 2) await sleep(10);
    await sleep(50);
    expect(network.connectionCount).toBe(1);
  });

  it('a dial to an address the socket refuses at once (port 70000) is a failed dial, not a throw into the engine', async () => {
    const network = await TcpNetwork.create({ host: '127.0.0.1' });
    closers.push(() => network.close());
    const conn = network.connect({ host: '127.0.0.1', port: 70_000 });
    const reason = await new Promise<string | undefined>((resolve) => conn.setHandler({ open: () => {}, data: () => {}, drain: () => {}, close: resolve }));
    expect(reason).toMatch(/70000|port/i);
  });
});

describe('Ctrl-C within 3 s whatever the tracker does', () => {
  const { work, addCleanup } = useLiveWorkspace();

  /** An HTTP "tracker" that accepts, reads the request line and never answers. */
  async function silentHttpTracker(): Promise<{ url: string; requests: string[] }> {
    const requests: string[] = [];
    const held: Socket[] = [];
    const server = createTcpServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      socket.once('data', (d) => requests.push(d.toString('latin1').split('\r\n')[0]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    addCleanup(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`, requests };
  }

  /** A UDP "tracker" (BEP 15) that gives a connection id, then never answers an announce. */
  async function silentUdpTracker(): Promise<{ url: string; events: number[] }> {
    const events: number[] = [];
    const socket = createSocket('udp4');
    socket.on('message', (msg, from) => {
      if (msg.length < 16) return;
      const action = msg.readUInt32BE(8);
      if (action === 0) {
        const reply = Buffer.alloc(16);
        reply.writeUInt32BE(0, 0);
        msg.copy(reply, 4, 12, 16); // transaction id
        reply.writeBigUInt64BE(0x1234n, 8);
        socket.send(reply, from.port, from.address);
      } else if (action === 1 && msg.length >= 98) {
        events.push(msg.readUInt32BE(80));
      }
    });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    addCleanup(() => new Promise<void>((r) => socket.close(() => r())));
    return { url: `udp://127.0.0.1:${socket.address().port}/announce`, events };
  }

  /**
   * `swarmlab …` as a direct child (not under timeout(1), which would pass a SIGINT on twice: to
   * the child and to its process group), killed by PID after the test if it is still running.
   */
  function swarmlab(name: string, args: string[]): Proc {
    const p = new Proc(name, spawn(process.execPath, [SWARMLAB, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    addCleanup(async () => {
      if (p.code !== undefined) return;
      process.kill(p.pid, 'SIGKILL');
      await p.exited;
    });
    return p;
  }

  /** Sends one SIGINT to `p` (by PID), as Ctrl-C does; its exit code and how long it took. */
  async function interrupt(p: Proc): Promise<{ code: number | null; ms: number }> {
    const sent = Date.now();
    process.kill(p.pid, 'SIGINT');
    const code = await p.exit(20_000);
    return { code, ms: Date.now() - sent };
  }

  function torrentFor(tag: string, tracker: string): { dir: string; data: string; torrent: string } {
    const dir = work(tag);
    const file = singlePayload(join(dir, 'data'), 'payload.bin', 4 * 65536);
    const torrent = join(dir, 'x.torrent');
    createTorrentFile(file, torrent, { trackers: [tracker], pieceLength: 65536 });
    return { dir, data: join(dir, 'data'), torrent };
  }

  // A tracker that never answered started is not told stopped (issue 11, as libtorrent): it never knew of us.
  it('seed, HTTP tracker that never answers: exits 130 within 3 s, and sends it no stopped', async () => {
    const tracker = await silentHttpTracker();
    const t = torrentFor('ctrlc-http', tracker.url);
    const seed = swarmlab('seed', ['seed', t.torrent, t.data, '--bind', '127.0.0.1']);
    await seed.waitFor(/seeding payload.bin on port/, 30_000);
    while (!tracker.requests.some((r) => r.includes('event=started'))) await sleep(20);
    const { code, ms } = await interrupt(seed);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(3_000);
    expect(tracker.requests.some((r) => r.includes('event=stopped'))).toBe(false);
  }, 60_000);

  it('seed, UDP tracker that never answers an announce: exits 130 within 3 s, and sends it no stopped', async () => {
    const tracker = await silentUdpTracker();
    const t = torrentFor('ctrlc-udp', tracker.url);
    const seed = swarmlab('seed', ['seed', t.torrent, t.data, '--bind', '127.0.0.1']);
    await seed.waitFor(/seeding payload.bin on port/, 30_000);
    while (!tracker.events.includes(2)) await sleep(20); // started
    const { code, ms } = await interrupt(seed);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(3_000);
    expect(tracker.events).not.toContain(3); // stopped
  }, 60_000);

  it('download, HTTP tracker that never answers: exits 130 within 3 s', async () => {
    const tracker = await silentHttpTracker();
    const t = torrentFor('ctrlc-download', tracker.url);
    const dl = swarmlab('download', ['download', t.torrent, '-o', join(t.dir, 'out'), '--bind', '127.0.0.1', '--json']);
    await dl.waitFor(/"type":"progress"/, 30_000);
    while (!tracker.requests.some((r) => r.includes('event=started'))) await sleep(20);
    const { code, ms } = await interrupt(dl);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(3_000);
  }, 60_000);
});
