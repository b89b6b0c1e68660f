// The Peer Manager under attack (issue 8): a tracker flooding the peer list, sockets that take
// connection slots and give nothing, a liar that reconnects from new ports, a peer that poisons a
// magnet link's metadata. Engine cases run on fake or simulated ports; the flood and the liar run
// on real TCP on 127.0.0.1 (attackers on other 127.x addresses), every socket closed at the end.

import { Socket } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BDict, bencodeValue } from '../engine/bdecode.ts';
import { Bitfield } from '../engine/bitfield.ts';
import { Client } from '../engine/client.ts';
import { MemoryStorage } from '../engine/memory-storage.ts';
import { createTorrent, sha1 } from '../engine/metainfo.ts';
import { encodeMetadataMessage, UT_METADATA_ID } from '../engine/metadata.ts';
import { reservedBytes } from '../engine/reserved-bits.ts';
import type { Connection, ConnectionHandler, Network, PeerAddress, TrackerPort } from '../engine/ports.ts';
import { defaultSettings, type EngineSettings } from '../engine/settings.ts';
import { nullTrace } from '../engine/trace.ts';
import { encodeHandshake, encodeMessageBytes, type Message, WireDecoder } from '../engine/wire.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { SeedRoot } from '../sim/random.ts';
import { Scheduler } from '../sim/scheduler.ts';
import { removeDir, tempDir } from './helpers/payloads.ts';
import { sleep } from './helpers/processes.ts';
import { Bench, benchFetcher, peerIdOf, Puppet } from './helpers/puppet.ts';

// ---- Fake ports: connections that only do what the test says -------------------------------------

class FakeConnection implements Connection {
  handler: ConnectionHandler | undefined;
  closed = false;
  constructor(
    readonly remote: PeerAddress,
    readonly inbound: boolean,
  ) {}
  setHandler(h: ConnectionHandler): void {
    this.handler = h;
  }
  write(): void {}
  bufferedBytes(): number {
    return 0;
  }
  close(): void {
    this.closed = true;
  }
  /** The remote refused or dropped us. */
  fail(reason: string): void {
    this.closed = true;
    this.handler?.close(reason);
  }
}

class FakeNetwork implements Network {
  readonly localAddress = { host: '192.168.0.1', port: 6881 };
  readonly dialled: FakeConnection[] = [];
  private acceptor: ((c: Connection) => void) | undefined;
  connect(remote: PeerAddress): Connection {
    const c = new FakeConnection(remote, false);
    this.dialled.push(c);
    return c;
  }
  listen(fn: (c: Connection) => void): { stop(): void } {
    this.acceptor = fn;
    return { stop: () => (this.acceptor = undefined) };
  }
  /** A remote dials us. */
  inbound(remote: PeerAddress): FakeConnection {
    const c = new FakeConnection(remote, true);
    this.acceptor!(c);
    return c;
  }
}

function fakeClient(o: { tracker?: TrackerPort; settings?: Partial<EngineSettings> } = {}) {
  const scheduler = new Scheduler();
  const network = new FakeNetwork();
  const payload = new Uint8Array(64 * 1024);
  const { torrent } = createTorrent({ name: 'x.bin', pieceLength: 16384, files: payload });
  const client = new Client({
    torrent,
    peerId: peerIdOf('client'),
    label: 'client',
    settings: o.settings,
    ports: {
      clock: scheduler,
      random: new SeedRoot('hostile').stream('client'),
      network,
      storage: new MemoryStorage(payload.length),
      tracker: o.tracker ?? { announce: (_r, done) => done({ ok: true, interval: 1800, peers: [] }) },
      trace: nullTrace,
    },
  });
  client.start();
  return { scheduler, network, client };
}

const at = (n: number): PeerAddress => ({ host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 6881 });
const keys = (list: PeerAddress[]) => list.map((a) => `${a.host}:${a.port}`);

// ---- The peer list ------------------------------------------------------------------------------

describe('the peer list is bounded', () => {
  it('a tracker answering `interval 1` with 100,000 new peers each time: at most maxPeerList kept, dials never forgotten', () => {
    let announces = 0;
    let next = 1;
    const tracker: TrackerPort = {
      announce: (_r, done) => {
        announces++;
        const peers: PeerAddress[] = [];
        for (let i = 0; i < 100_000; i++) peers.push(at(next++));
        done({ ok: true, interval: 1, peers });
      },
    };
    const { scheduler, network, client } = fakeClient({ tracker });
    // One reply adds at most maxPeersPerReply.
    expect(announces).toBe(1);
    expect(client.knownPeers().length).toBe(defaultSettings.maxPeersPerReply);
    // However often the tracker is asked (a minimum interval may space the announces out).
    while (announces < 10 && scheduler.now() < 4 * 3600_000) scheduler.run(scheduler.now() + 1_000);
    expect(announces).toBe(10);
    const known = new Set(keys(client.knownPeers()));
    expect(known.size).toBe(defaultSettings.maxPeerList);
    for (const c of network.dialled) if (!c.closed) expect(known.has(`${c.remote.host}:${c.remote.port}`)).toBe(true);
  });

  it('when full, forgets the oldest address that failed, then the oldest never connected, never one in use', () => {
    const { network, client } = fakeClient({ settings: { maxPeerList: 4, maxConnections: 1 } });
    client.addPeers([at(1), at(2), at(3), at(4)]);
    expect(keys(network.dialled.map((c) => c.remote))).toEqual(keys([at(1)]));
    network.dialled[0].fail('connection refused');
    client.addPeers([at(5)]); // 1 failed: forgotten; 2 is dialled
    expect(keys(client.knownPeers())).toEqual(keys([at(2), at(3), at(4), at(5)]));
    expect(keys(network.dialled.map((c) => c.remote))).toEqual(keys([at(1), at(2)]));
    client.addPeers([at(6)]); // 2 is in use: 3 is the oldest never connected
    expect(keys(client.knownPeers())).toEqual(keys([at(2), at(4), at(5), at(6)]));
  });
});

// ---- Connection slots ---------------------------------------------------------------------------

describe('connection slots', () => {
  it('sockets that never finish their handshake take only handshake slots: our own dials go on', () => {
    const { network, client } = fakeClient();
    const flood = Array.from({ length: 100 }, (_, i) => network.inbound({ host: `10.1.${i}.1`, port: 40000 }));
    expect(flood.filter((c) => !c.closed).length).toBe(defaultSettings.maxPendingHandshakes);
    expect(client.pendingCount).toBe(defaultSettings.maxPendingHandshakes);
    client.addPeer({ host: '10.9.9.9', port: 6881 });
    expect(keys(network.dialled.map((c) => c.remote))).toEqual(['10.9.9.9:6881']);
  });

  it('connections from one IP are bounded, whatever the ports', () => {
    const { network } = fakeClient();
    const same = Array.from({ length: 20 }, (_, i) => network.inbound({ host: '10.2.0.1', port: 40000 + i }));
    expect(same.filter((c) => !c.closed).length).toBe(defaultSettings.maxConnectionsPerIp);
    expect(network.inbound({ host: '10.2.0.2', port: 40000 }).closed).toBe(false);
  });

  it('all slots full: a new peer evicts the oldest of those that want nothing; none when all exchange data', () => {
    const b = new Bench({ initial: 'complete', settings: { maxConnections: 2 } });
    const idle = [b.dialingPuppet('I1'), b.dialingPuppet('I2')];
    for (const p of idle) p.handshake();
    b.run();
    expect(b.client.connectionCount).toBe(2);
    const newcomer = b.dialingPuppet('N');
    newcomer.handshake();
    b.run();
    expect(newcomer.handshaken).toBe(true);
    expect(idle[0].closedReason).toBeDefined(); // the first connected of two equal ones
    expect(idle[1].closedReason).toBeUndefined();
    expect(b.events.find((e) => e.kind === 'disconnect' && e.remote === 'I1')?.reason).toMatch(/made room for a new peer/);
    newcomer.send({ type: 'interested' });
    idle[1].send({ type: 'interested' });
    b.run();
    const late = b.dialingPuppet('L');
    late.handshake();
    b.run();
    expect(late.handshaken).toBe(false);
    expect(b.client.connections().map((p) => p.remoteLabel)).toEqual(['I2', 'N']);
  });
});

// ---- Magnet poisoning -----------------------------------------------------------------------------

describe('metadata poisoning', () => {
  const info = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff);
  const infoHash = sha1(info);
  const ext = (d: BDict): Message => ({ type: 'extended', id: 0, payload: bencodeValue(d) });
  const data = (piece: number, bytes: Uint8Array, total = info.length): Message => ({
    type: 'extended',
    id: UT_METADATA_ID,
    payload: encodeMetadataMessage({ kind: 'data', piece, totalSize: total, data: bytes }),
  });

  it('a peer announcing a wrong metadata_size and one sending wrong bytes are dropped; the honest peer completes the fetch', () => {
    const b = new Bench();
    const { fetcher, got } = benchFetcher(b, infoHash);
    const puppets = new Map<string, Puppet>();
    for (const label of ['LIAR', 'WRONG', 'HONEST']) {
      const h = b.network.addHost({ label, address: { host: label, port: 6881 }, upload: Infinity, download: Infinity });
      const p = new Puppet(b, label, h);
      h.listen((conn) => p.attach(conn));
      puppets.set(label, p);
      fetcher.addPeer(h.address);
    }
    b.run();
    const offer = (label: string, size: number) => {
      const p = puppets.get(label)!;
      p.raw(encodeHandshake({ infoHash, peerId: peerIdOf(label), reserved: reservedBytes({ fast: false, extensionProtocol: true }) }));
      p.send(ext({ m: { ut_metadata: 3 }, metadata_size: size }));
    };
    offer('LIAR', info.length + 1000); // first to answer, with a size of its own, and never sends a byte
    b.run();
    offer('WRONG', info.length);
    offer('HONEST', info.length);
    b.run();
    const wrong = info.slice();
    wrong[5] ^= 1;
    puppets.get('WRONG')!.send(data(0, wrong.subarray(0, 16384))).send(data(1, wrong.subarray(16384)));
    b.run();
    const reasonOf = (remote: string) => b.events.filter((e) => e.kind === 'disconnect' && e.peer === 'F' && e.remote === remote).map((e) => e.reason);
    expect(reasonOf('WRONG')).toEqual(['metadata does not match the info-hash']);
    expect(reasonOf('HONEST')).toEqual([]);
    expect(reasonOf('LIAR')).toEqual([]);
    b.run(10_000); // past the redial delay: the peer that sent wrong bytes is not asked again
    const connects = (remote: string) => b.events.filter((e) => e.kind === 'step' && e.node === 'connect' && e.peer === 'F' && e.remote === remote).length;
    expect(connects('WRONG')).toBe(1);
    puppets.get('HONEST')!.send(data(0, info.subarray(0, 16384))).send(data(1, info.subarray(16384)));
    b.run();
    expect(got.length).toBe(1);
    expect(Buffer.compare(got[0], info)).toBe(0);
    expect(fetcher.done).toBe(true);
  });
});

describe('metadata fetcher under a request flood', () => {
  it('answers metadata requests with at most one REJECT each, then drops a peer that keeps asking', () => {
    const info = new Uint8Array(20_000).map((_, i) => (i * 3) & 0xff);
    const b = new Bench();
    const { fetcher } = benchFetcher(b, sha1(info));
    const h = b.network.addHost({ label: 'FLOOD', address: { host: 'FLOOD', port: 6881 }, upload: Infinity, download: Infinity });
    const flooder = new Puppet(b, 'FLOOD', h);
    h.listen((conn) => flooder.attach(conn));
    fetcher.addPeer(h.address);
    b.run();
    flooder.raw(encodeHandshake({ infoHash: sha1(info), peerId: peerIdOf('FLOOD'), reserved: reservedBytes({ fast: false, extensionProtocol: true }) }));
    flooder.send({ type: 'extended', id: 0, payload: bencodeValue({ m: { ut_metadata: 3 }, metadata_size: info.length }) });
    b.run();
    const flood = 20_000;
    const request = encodeMessageBytes({ type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'request', piece: 0 }) });
    const burst = new Uint8Array(request.length * flood);
    for (let i = 0; i < flood; i++) burst.set(request, i * request.length);
    flooder.raw(burst);
    b.run();
    const limit = defaultSettings.maxUnservedRequests;
    const requests = b.events.filter((e) => e.kind === 'step' && e.node === 'metadataRequest' && e.peer === 'F');
    // Every request up to the limit is seen (and rejected while the peer reads); none after it.
    expect(requests.length).toBe(limit + 1);
    const reasons = b.events.filter((e) => e.kind === 'disconnect' && e.peer === 'F' && e.remote === 'FLOOD').map((e) => e.reason);
    expect(reasons).toEqual([expect.stringMatching(/^request flood: /)]);
  });
});

// ---- Live: a connection flood and a reconnecting liar, on real TCP ------------------------------

const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) removeDir(d);
});

function work(tag: string): string {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

/**
 * Raw sockets from `hosts` (127.x addresses, all routed to lo) that dial `port`, run `script` on
 * each, and dial again `redial` ms after each close, until stopped.
 */
function swarmOfSockets(o: {
  port: number;
  hosts: string[];
  count: number;
  redial: number;
  script: (s: Socket) => void;
  onMessage?: (s: Socket, m: Message) => void;
}) {
  const live = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const stats = { connects: 0, handshakes: 0 };
  const dial = (i: number) => {
    if (stopped) return;
    const s = new Socket();
    live.add(s);
    const decoder = new WireDecoder();
    s.on('data', (buf: Buffer) => {
      let items;
      try {
        items = decoder.push(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
      } catch {
        return void s.destroy();
      }
      for (const item of items) {
        if (item.kind === 'handshake') stats.handshakes++;
        else o.onMessage?.(s, item.message);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      live.delete(s);
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        dial(i);
      }, o.redial);
      timers.add(t);
    });
    s.connect({ port: o.port, host: '127.0.0.1', localAddress: o.hosts[i % o.hosts.length] }, () => {
      stats.connects++;
      o.script(s);
    });
  };
  for (let i = 0; i < o.count; i++) dial(i);
  return {
    stats,
    stop: () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of live) s.destroy();
    },
  };
}

describe('live: the Peer Manager under attack', () => {
  const PEER_ID = (tag: string) => new TextEncoder().encode(`-XX0000-${tag.padEnd(12, '.')}`.slice(0, 20));

  it('300 sockets that handshake and send only keep-alives take every slot of a seed: an honest leecher still completes', async () => {
    const dir = work('flood');
    const payload = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 131 + (i >> 9)) & 0xff);
    const { torrent } = createTorrent({ name: 'p.bin', pieceLength: 32768, files: payload });
    mkdirSync(join(dir, 'seed'), { recursive: true });
    writeFileSync(join(dir, 'seed', 'p.bin'), payload);
    const seedNet = await TcpNetwork.create({ host: '127.0.0.1' });
    const seed = new LiveSession({ torrent: { ...torrent, announce: [] }, dir: join(dir, 'seed'), network: seedNet, initial: 'check' });
    seed.start();
    closers.push(() => seed.stop('test over', 100));
    expect(seed.client.complete).toBe(true);

    const hosts = Array.from({ length: 60 }, (_, i) => `127.0.1.${i + 1}`); // 5 sockets an IP, under the per-IP limit
    let n = 0;
    const flood = swarmOfSockets({
      port: seedNet.localAddress.port,
      hosts,
      count: 300,
      redial: 1_000,
      script: (s) => {
        s.write(encodeHandshake({ infoHash: torrent.infoHash, peerId: PEER_ID(`flood${n++}`), reserved: new Uint8Array(8) }));
        const keepAlive = setInterval(() => s.writable && s.write(new Uint8Array(4)), 2_000);
        s.on('close', () => clearInterval(keepAlive));
      },
    });
    closers.push(() => flood.stop());
    await until('the flood holds every slot of the seed', () => seed.client.connectionCount >= defaultSettings.maxConnections, 20_000);

    let completed = false;
    const leechNet = await TcpNetwork.create({ host: '127.0.0.1' });
    const leech = new LiveSession({
      torrent: { ...torrent, announce: [] },
      dir: join(dir, 'leech'),
      network: leechNet,
      initial: 'empty',
      peers: [seedNet.localAddress],
      onComplete: () => (completed = true),
    });
    leech.start();
    closers.push(() => leech.stop('test over', 100));
    await until('the honest leecher completes', () => completed, 60_000);
    expect(Buffer.compare(readFileSync(join(dir, 'leech', 'p.bin')), payload)).toBe(0);
    expect(flood.stats.handshakes).toBeGreaterThan(defaultSettings.maxConnections); // the flood kept coming back
  }, 90_000);

  it('a liar that reconnects from new ports is banned once, by IP; honest loopback peers are not', async () => {
    const dir = work('liar');
    const payload = Uint8Array.from({ length: 512 * 1024 }, (_, i) => (i * 7 + (i >> 11)) & 0xff);
    const { torrent } = createTorrent({ name: 'p.bin', pieceLength: 16384, files: payload }); // one block a piece: one culprit
    const log: string[] = [];
    let completed = false;
    const leechNet = await TcpNetwork.create({ host: '127.0.0.1' });
    const leech = new LiveSession({
      torrent: { ...torrent, announce: [] },
      dir: join(dir, 'leech'),
      network: leechNet,
      initial: 'empty',
      log: (l) => log.push(l),
      onComplete: () => (completed = true),
    });
    leech.start();
    closers.push(() => leech.stop('test over', 100));

    const all = Bitfield.full(torrent.pieceCount).bytes;
    const bans = () => log.filter((l) => l.startsWith('banned '));
    const liar = swarmOfSockets({
      port: leechNet.localAddress.port,
      hosts: ['127.0.0.2'],
      count: 1,
      redial: 50,
      script: (s) => {
        s.write(encodeHandshake({ infoHash: torrent.infoHash, peerId: PEER_ID('liar'), reserved: new Uint8Array(8) }));
        s.write(encodeMessageBytes({ type: 'bitfield', bits: all }));
        s.write(encodeMessageBytes({ type: 'unchoke' }));
      },
      onMessage: (s, m) => {
        if (m.type === 'request') s.write(encodeMessageBytes({ type: 'piece', index: m.index, begin: m.begin, block: new Uint8Array(m.length).fill(0x5a) }));
      },
    });
    closers.push(() => liar.stop());
    await until('the liar is banned', () => bans().length > 0, 20_000);
    const handshakesAtBan = liar.stats.handshakes;
    const connectsAtBan = liar.stats.connects;
    await until('the liar came back five times', () => liar.stats.connects >= connectsAtBan + 5, 20_000);
    expect(bans()).toEqual([expect.stringMatching(/^banned 127\.0\.0\.2: sent corrupt data/)]);
    expect(liar.stats.handshakes).toBe(handshakesAtBan); // refused before the handshake, every time

    // An honest seed on 127.0.0.1 is still welcome.
    mkdirSync(join(dir, 'seed'), { recursive: true });
    writeFileSync(join(dir, 'seed', 'p.bin'), payload);
    const seedNet = await TcpNetwork.create({ host: '127.0.0.1' });
    const seed = new LiveSession({ torrent: { ...torrent, announce: [] }, dir: join(dir, 'seed'), network: seedNet, initial: 'check' });
    seed.start();
    closers.push(() => seed.stop('test over', 100));
    leech.client.addPeer(seedNet.localAddress);
    await until('the leecher completes from the honest seed', () => completed, 30_000);
    expect(Buffer.compare(readFileSync(join(dir, 'leech', 'p.bin')), payload)).toBe(0);
    expect(bans().length).toBe(1);
  }, 90_000);
});
