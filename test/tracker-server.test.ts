// The loopback tracker of TCP runs (sim/tcp/tracker-server.ts), on 127.x only, answering
// swarmlab's own live tracker clients (live/http-tracker.ts, live/udp-tracker.ts): the others'
// addresses as `addressOf` gives them, never the announcer's own; the faults `failure`, `empty`,
// `delay`; an unknown announcer and bad requests refused with a reason, the tracker still serving.

import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { bdecode, isDict, asText } from '../engine/bdecode.ts';
import type { AnnounceRequest, AnnounceResult, PeerAddress } from '../engine/ports.ts';
import { HttpTracker } from '../live/http-tracker.ts';
import { UdpTracker } from '../live/udp-tracker.ts';
import { SeedRoot } from '../sim/random.ts';
import { LOOPBACK_TRACKER_LIMITS, LoopbackTracker } from '../sim/tcp/tracker-server.ts';
import { TrackerSwarm } from '../sim/tracker-swarm.ts';

/** A block of 127/8 of this test process's own (port 0 below: no fixed port can clash). */
const BLOCK = 150 + (process.pid % 100);
const TRACKER_IP = `127.${BLOCK}.0.1`;

const ADDRESSES: Record<string, PeerAddress> = {
  A0: { host: `127.${BLOCK}.1.1`, port: 6881 },
  A1: { host: `127.${BLOCK}.1.2`, port: 6881 },
  // UdpTracker's socket is not bound: its datagrams come from 127.0.0.1.
  U0: { host: `127.${BLOCK}.1.3`, port: 6881 },
};
const IP_LABELS: Record<string, string> = { '127.0.0.1': 'U0' };

const infoHash = new Uint8Array(20).fill(7);
const peerIdOf = (label: string) => new TextEncoder().encode(`-SL0100-${label.padEnd(12, 'x')}`);
const req = (label: string, o: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash,
  peerId: peerIdOf(label),
  port: 1234, // claimed; the tracker hands out ADDRESSES[label] instead
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
  numWant: 50,
  ...o,
});

let trackers: LoopbackTracker[] = [];
let clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const t of trackers.splice(0)) await t.close();
});

async function tracker(o: { delay?: number; interval?: number; now?: () => number } = {}): Promise<LoopbackTracker> {
  const t = await LoopbackTracker.create({
    ip: TRACKER_IP,
    port: 0,
    random: new SeedRoot('t').stream('tracker'),
    announceInterval: o.interval ?? 30_000,
    delay: o.delay ?? 0,
    addressOf: (label) => ADDRESSES[label],
    labelOfIp: (ip) => IP_LABELS[ip],
    now: o.now,
  });
  trackers.push(t);
  return t;
}

function http(t: LoopbackTracker, label: string): HttpTracker {
  const c = new HttpTracker(t.urlFor(label), 'k', { timeout: 10_000 });
  clients.push(c);
  return c;
}

function udp(t: LoopbackTracker): UdpTracker {
  const c = new UdpTracker(t.urlFor('U0', 'udp'), 1, { timeout: 2_000, attempts: 2 });
  clients.push(c);
  return c;
}

const hosts = (r: AnnounceResult) => (r.ok ? r.peers.map((p) => `${p.host}:${p.port}`).sort() : r.error);

/** A raw GET of `path` on the tracker: the decoded reply's failure reason, or the reply. */
function rawGet(t: LoopbackTracker, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = request({ host: TRACKER_IP, port: t.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const v = bdecode(new Uint8Array(Buffer.concat(chunks)));
        resolve(isDict(v) ? (asText(v['failure reason']) ?? 'no failure') : 'not a dictionary');
      });
    });
    r.on('error', reject);
    r.end();
  });
}

describe('LoopbackTracker', () => {
  it('answers HTTP and UDP announces with the other members at the addresses addressOf gives, with counts', async () => {
    const t = await tracker();
    const first = await http(t, 'A0').announce(req('A0'));
    expect(first).toMatchObject({ ok: true, interval: 30, peers: [], complete: 0, incomplete: 1 });
    const second = await http(t, 'A1').announce(req('A1', { left: 0 }));
    expect(hosts(second)).toEqual([`127.${BLOCK}.1.1:6881`]);
    expect(second).toMatchObject({ complete: 1, incomplete: 1 });
    const third = await udp(t).announce(req('U0'));
    expect(hosts(third)).toEqual([`127.${BLOCK}.1.1:6881`, `127.${BLOCK}.1.2:6881`]);
    expect(third).toMatchObject({ ok: true, interval: 30, complete: 1, incomplete: 2 });
    expect(t.sizeOf(Buffer.from(infoHash).toString('hex'))).toBe(3);
    // `stopped` leaves the swarm: the next announcer no longer gets A1.
    await http(t, 'A1').announce(req('A1', { event: 'stopped' }));
    expect(hosts(await http(t, 'A0').announce(req('A0', { event: 'periodic' })))).toEqual([`127.${BLOCK}.1.3:6881`]);
    expect(t.announces).toBe(5);
  });

  it('the sample of peers is the seed\'s: two trackers on one seed hand out the same peers in the same order', async () => {
    const order = async () => {
      const t = await tracker();
      for (const l of ['A0', 'A1']) await http(t, l).announce(req(l));
      const r = await udp(t).announce(req('U0', { numWant: 1 }));
      await t.close();
      return r.ok ? r.peers.map((p) => p.host) : [];
    };
    const a = await order();
    expect(a).toHaveLength(1);
    expect(await order()).toEqual(a);
  });

  it('honours failure, empty and delay on both protocols', async () => {
    const t = await tracker();
    await http(t, 'A0').announce(req('A0'));
    t.failure = 'tracker down for maintenance';
    expect(await http(t, 'A1').announce(req('A1'))).toEqual({ ok: false, error: 'tracker failure: tracker down for maintenance' });
    expect(await udp(t).announce(req('U0'))).toMatchObject({ ok: false, error: expect.stringContaining('tracker down for maintenance') });
    t.failure = undefined;
    t.empty = true;
    expect(await http(t, 'A1').announce(req('A1'))).toMatchObject({ ok: true, peers: [] });
    expect(await udp(t).announce(req('U0'))).toMatchObject({ ok: true, peers: [] });
    t.empty = false;
    expect(hosts(await http(t, 'A1').announce(req('A1')))).toContain(`127.${BLOCK}.1.1:6881`);
    t.delay = 400;
    for (const announce of [() => http(t, 'A1').announce(req('A1')), () => udp(t).announce(req('U0'))]) {
      const started = Date.now();
      const r = await announce();
      expect(r.ok).toBe(true);
      // A lower bound only: the reply waited out the delay.
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    }
  });

  it('refuses an unknown announcer on HTTP (by its label) and on UDP (by its source IP)', async () => {
    const t = await tracker();
    expect(await http(t, 'Z9').announce(req('Z9'))).toEqual({ ok: false, error: expect.stringContaining('unknown announcer "Z9"') });
    delete IP_LABELS['127.0.0.1'];
    try {
      expect(await udp(t).announce(req('U0'))).toMatchObject({ ok: false, error: expect.stringContaining('unknown announcer 127.0.0.1') });
    } finally {
      IP_LABELS['127.0.0.1'] = 'U0';
    }
    expect(t.sizeOf(Buffer.from(infoHash).toString('hex'))).toBe(0);
  });

  it('gives bad HTTP requests a failure reason saying what is wrong, and goes on serving', async () => {
    const t = await tracker();
    const h = '%07'.repeat(20);
    const id = 'x'.repeat(20);
    const cases: [string, string][] = [
      ['/announce', 'no such path "/announce"'],
      ['/other/A0', 'no such path'],
      [`/announce/A0?peer_id=${id}&port=1&left=0`, 'info_hash is missing'],
      [`/announce/A0?info_hash=abc&peer_id=${id}&port=1&left=0`, 'info_hash must be 20 bytes, got 3'],
      [`/announce/A0?info_hash=${h}&port=1&left=0`, 'peer_id is missing'],
      [`/announce/A0?info_hash=${h}&peer_id=${id}&port=1&left=-5`, 'left must be a non-negative integer, got "-5"'],
      [`/announce/A0?info_hash=${h}&peer_id=${id}&port=1`, 'left is missing'],
      [`/announce/A0?info_hash=${h}&peer_id=${id}&port=70000&left=0`, 'port must be 1 to 65535'],
      [`/announce/A0?info_hash=${h}&peer_id=${id}&port=1&left=0&event=paused`, 'event must be started, completed, stopped or empty, got "paused"'],
      [`/announce/A0?info_hash=%zz&peer_id=${id}&port=1&left=0`, 'info_hash: bad percent escape at "%zz"'],
      [`/announce/%E0%A4%A?info_hash=${h}`, 'not valid percent-encoding'],
      [`/announce/A0?info_hash=${h}&peer_id=${id}&port=1&left=0&numwant=lots`, 'numwant must be a non-negative integer'],
    ];
    for (const [path, reason] of cases) expect(await rawGet(t, path), path).toContain(reason);
    // A well-formed raw announce (numwant past the cap is clamped, not refused), then the client still works.
    expect(await rawGet(t, `/announce/A0?info_hash=${h}&peer_id=${id}&port=1&left=0&numwant=100000`)).toBe('no failure');
    expect(await http(t, 'A1').announce(req('A1', { infoHash: new Uint8Array(20).fill(7) }))).toMatchObject({ ok: true, peers: [{ host: `127.${BLOCK}.1.1`, port: 6881 }] });
  });

  it('answers a scrape with the swarm\'s counts', async () => {
    const t = await tracker();
    await http(t, 'A0').announce(req('A0', { left: 0 }));
    await http(t, 'A1').announce(req('A1'));
    const body = await new Promise<Buffer>((resolve, reject) => {
      request({ host: TRACKER_IP, port: t.port, path: `/scrape/A0?info_hash=${'%07'.repeat(20)}` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
        .on('error', reject)
        .end();
    });
    expect(body.toString('latin1')).toBe(`d5:filesd20:${'\x07'.repeat(20)}d8:completei1e10:downloadedi0e10:incompletei1eeee`);
  });

  it('ignores garbage datagrams, refuses an announce without a valid connection id, and goes on serving', async () => {
    const t = await tracker();
    const socket = createSocket('udp4');
    clients.push({ close: () => socket.close() });
    const replies: Buffer[] = [];
    socket.on('message', (m) => replies.push(m));
    const send = (b: Buffer) => new Promise<void>((r) => socket.send(b, t.port, TRACKER_IP, () => r()));
    await send(Buffer.from('hi'));
    // An announce with a connection id the tracker never gave.
    const announce = Buffer.alloc(98);
    announce.writeUInt32BE(1, 8);
    announce.writeUInt32BE(0xabcd, 12);
    await send(announce);
    // A connect with the wrong protocol id.
    const connect = Buffer.alloc(16);
    connect.writeUInt32BE(0, 8);
    connect.writeUInt32BE(0x1234, 12);
    await send(connect);
    const deadline = Date.now() + 5_000;
    while (replies.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const texts = replies.map((m) => [m.readUInt32BE(0), m.readUInt32BE(4), m.subarray(8).toString()]);
    expect(texts).toEqual(
      expect.arrayContaining([
        [3, 0xabcd, 'unknown or expired connection id: connect first'],
        [3, 0x1234, 'a connect must carry the protocol id 0x41727101980'],
      ]),
    );
    expect(await udp(t).announce(req('U0'))).toMatchObject({ ok: true });
  });

  it('a UDP connection id expires after BEP 15\'s two minutes, and is good only from the IP it was given to', async () => {
    let now = 1_000_000;
    const t = await tracker({ now: () => now });
    const socket = createSocket('udp4');
    clients.push({ close: () => socket.close() });
    const replies = new Map<number, Buffer>();
    socket.on('message', (m) => replies.set(m.readUInt32BE(4), m));
    const exchange = async (b: Buffer, tid: number) => {
      b.writeUInt32BE(tid, 12);
      await new Promise<void>((r) => socket.send(b, t.port, TRACKER_IP, () => r()));
      const deadline = Date.now() + 5_000;
      while (!replies.has(tid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return replies.get(tid)!;
    };
    const connect = Buffer.alloc(16);
    connect.writeBigUInt64BE(0x41727101980n, 0);
    const id = (await exchange(connect, 1)).subarray(8, 16);
    const announce = Buffer.alloc(98);
    id.copy(announce, 0);
    announce.writeUInt32BE(1, 8);
    announce.set(infoHash, 16);
    announce.set(peerIdOf('U0'), 36);
    announce.writeInt32BE(-1, 92);
    expect((await exchange(announce, 2)).readUInt32BE(0)).toBe(1);
    now += LOOPBACK_TRACKER_LIMITS.udpConnectionLifetime + 1;
    const late = await exchange(announce, 3);
    expect([late.readUInt32BE(0), late.subarray(8).toString()]).toEqual([3, 'unknown or expired connection id: connect first']);
  });
});

describe('TrackerSwarm', () => {
  const member = (host: string, left = 1) => ({ address: { host, port: 1 }, left });

  it('past its bound, the member that joined first is forgotten; one that announces again keeps its place', () => {
    const swarm = new TrackerSwarm(new SeedRoot('s').stream('tracker'), 3);
    for (const h of ['a', 'b', 'c']) swarm.announce(h, member(h), { numWant: 0, empty: false });
    swarm.announce('a', member('a', 0), { numWant: 0, empty: false });
    expect(swarm.counts()).toEqual({ complete: 1, incomplete: 2 });
    const r = swarm.announce('d', member('d'), { numWant: 10, empty: false });
    expect(swarm.size).toBe(3);
    expect(r.peers.map((p) => p.host).sort()).toEqual(['b', 'c']);
  });

  it('while empty it hands out nobody and draws nothing from its stream', () => {
    const a = new TrackerSwarm(new SeedRoot('s').stream('tracker'));
    for (const h of ['a', 'b', 'c']) a.announce(h, member(h), { numWant: 0, empty: false });
    expect(a.announce('d', member('d'), { numWant: 2, empty: true }).peers).toEqual([]);
    // a's next sample is a fresh stream's first: the empty reply took no number.
    const c = new TrackerSwarm(new SeedRoot('s').stream('tracker'));
    for (const h of ['a', 'b', 'c', 'd']) c.announce(h, member(h), { numWant: 0, empty: false });
    expect(a.announce('d', member('d'), { numWant: 2, empty: false }).peers).toEqual(c.announce('d', member('d'), { numWant: 2, empty: false }).peers);
  });
});
