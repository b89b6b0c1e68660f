// One connection's memory stays bounded whatever the peer does, and a socket that never completes
// the handshake is closed after `handshakeTimeout`: request and ut_metadata floods from a peer
// that never reads (puppets, test/helpers/puppet.ts), then the same REQUEST flood on real TCP.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import { isControlEdge } from '../engine/flowchart.ts';
import { encodeMetadataMessage, UT_METADATA_ID } from '../engine/metadata.ts';
import { reservedBytes } from '../engine/reserved-bits.ts';
import { createTorrent } from '../engine/metainfo.ts';
import type { PeerProcess } from '../engine/peer.ts';
import { defaultSettings, type EngineSettings } from '../engine/settings.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { BLOCK_SIZE, encodeHandshake, encodeMessageBytes, type Message } from '../engine/wire.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { removeDir, tempDir } from './helpers/payloads.ts';
import { sleep } from './helpers/processes.ts';
import { Bench, PIECE_LENGTH, PIECES, type Puppet } from './helpers/puppet.ts';

const FAST = reservedBytes({ fast: true, extensionProtocol: true });
// No allowed-fast set: on the bench's 4-piece torrent it would hold every piece, and a choked peer's requests would be served.
const SEED_SETTINGS: Partial<EngineSettings> = { fastExtension: true, extensionProtocol: true, allowedFastSetSize: 0 };
const BLOCKS_PER_PIECE = PIECE_LENGTH / BLOCK_SIZE;

/** The `n`-th of the torrent's blocks, round and round: every request is valid. */
function requestFor(n: number): Message {
  const block = n % (PIECES * BLOCKS_PER_PIECE);
  return { type: 'request', index: Math.floor(block / BLOCKS_PER_PIECE), begin: (block % BLOCKS_PER_PIECE) * BLOCK_SIZE, length: BLOCK_SIZE };
}

/** `count` messages as one write, like a flooder's. */
function burst(p: Puppet, count: number, message: (i: number) => Message): void {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) chunks.push(encodeMessageBytes(message(i)));
  p.raw(Buffer.concat(chunks));
}

/** An honest leecher puppet beside the attack: interested, asks for every block once unchoked. */
function honestLeecher(b: Bench): Puppet {
  const h = b.dialingPuppet('H');
  h.handshake().send({ type: 'interested' });
  return h;
}

function fetchAll(b: Bench, h: Puppet): void {
  expect(h.has('unchoke'), 'the honest leecher was unchoked').toBe(true);
  for (let n = 0; n < PIECES * BLOCKS_PER_PIECE; n++) h.send(requestFor(n));
  b.run(1_000);
  const blocks = h.received.filter((m): m is Extract<Message, { type: 'piece' }> => m.type === 'piece');
  expect(blocks).toHaveLength(PIECES * BLOCKS_PER_PIECE);
  for (const m of blocks) expect(Buffer.compare(m.block, b.block(m.index, m.begin, m.block.length))).toBe(0);
}

/** Every step the client took, attack or not, is an edge of the flowchart (engine/flowchart.ts). */
function expectOnChart(b: Bench): void {
  expect([...b.edges()].filter((edge) => !isControlEdge(...(edge.split('>') as [string, string])))).toEqual([]);
}

const processOf = (b: Bench, label: string): PeerProcess | undefined => b.client.connections().find((p) => p.remoteLabel === label);
const disconnectOf = (b: Bench, label: string) => b.events.find((e) => e.kind === 'disconnect' && e.remote === label);

describe('a REQUEST flood from a peer that never reads (BEP 6 Fast on)', () => {
  it('gets at most one REJECT per request up to the flood limit, then is dropped; our queue stays small', () => {
    const b = new Bench({ initial: 'complete', settings: SEED_SETTINGS });
    const h = honestLeecher(b);
    const f = b.dialingPuppet('F');
    f.handshake({ reserved: FAST }).send({ type: 'have-none' }).stopReading();
    b.run(100);
    expect(processOf(b, 'F')?.amChoking).toBe(true);
    // 100,000 requests while choked: before the bound, 100,000 REJECTs (1.7 MB) piled up.
    for (let sent = 0; sent < 100_000 && !disconnectOf(b, 'F'); sent += 10_000) {
      burst(f, 10_000, (i) => requestFor(sent + i));
      b.run(5);
    }
    const { maxUnservedRequests } = defaultSettings;
    expect(String(disconnectOf(b, 'F')?.reason)).toContain(`request flood: ${maxUnservedRequests + 1} requests in a row we could not serve`);
    const rejects = b.events.filter((e) => e.kind === 'step' && e.node === 'oreject' && e.remote === 'F');
    expect(rejects.length).toBe(maxUnservedRequests + 1);
    expect(b.gate.peakQueued('F')).toBeLessThanOrEqual(1_000 + (maxUnservedRequests + 1) * 17);
    b.run(11_000); // the rechoke unchokes the honest leecher
    fetchAll(b, h);
    expectOnChart(b);
  });

  it('unchoked, past the send queue watermark: choked (requests dropped, no REJECTs), then dropped', () => {
    // A small watermark so that the REJECTs for requests past the queue bound reach it quickly.
    const settings = { ...SEED_SETTINGS, sendQueueWatermark: 40 * 1024, maxUnservedRequests: 2_000 };
    const b = new Bench({ initial: 'complete', settings });
    const h = honestLeecher(b);
    const f = b.dialingPuppet('F');
    f.handshake({ reserved: FAST }).send({ type: 'have-none' }).send({ type: 'interested' }).stopReading();
    b.run(11_000);
    expect(processOf(b, 'F')?.amChoking).toBe(false);
    for (let sent = 0; sent < 100_000 && !disconnectOf(b, 'F'); sent += 1_000) {
      burst(f, 1_000, (i) => requestFor(sent + i));
      b.run(5);
    }
    const steps = b.events.filter((e) => e.kind === 'step' && e.remote === 'F');
    const choke = steps.find((e) => e.node === 'ochoke');
    expect(choke).toMatchObject({ reason: 'send queue full' });
    // After the choke no REJECT is written: there is no room for it.
    expect(steps.filter((e) => e.node === 'oreject' && e.t > choke!.t)).toEqual([]);
    expect(steps.some((e) => e.node === 'requestIgnore' && e.dropped === 'send queue full')).toBe(true);
    expect(String(disconnectOf(b, 'F')?.reason)).toMatch(/request flood/);
    // Under the watermark plus what one event may write past it (a CHOKE, one REJECT).
    expect(b.gate.peakQueued('F')).toBeLessThan(settings.sendQueueWatermark + 64);
    b.run(11_000);
    fetchAll(b, h);
    expectOnChart(b);
  });

  it('a peer that stays above the watermark without flooding is dropped after sendQueueStallTimeout', () => {
    // One 16 KiB PIECE fills this watermark; the peer asks for one block and never reads it.
    const settings = { ...SEED_SETTINGS, sendQueueWatermark: 16 * 1024 };
    const b = new Bench({ initial: 'complete', settings });
    const f = b.dialingPuppet('F');
    f.handshake({ reserved: FAST }).send({ type: 'have-none' }).send({ type: 'interested' }).stopReading();
    b.run(11_000);
    f.send(requestFor(0));
    b.run(100);
    const fullAt = b.scheduler.now();
    expect(b.events.find((e) => e.remote === 'F' && e.node === 'ochoke')).toMatchObject({ reason: 'send queue full' });
    b.run(defaultSettings.sendQueueStallTimeout - 10_000);
    expect(disconnectOf(b, 'F')).toBeUndefined();
    b.run(20_000);
    const end = disconnectOf(b, 'F');
    expect(String(end?.reason)).toBe('send queue stayed above 16384 bytes for 60 s: the peer does not read');
    // A timer of its own: at the deadline, not at the next tick.
    expect(end!.t - fullAt).toBeGreaterThanOrEqual(defaultSettings.sendQueueStallTimeout - 100);
    expect(end!.t - fullAt).toBeLessThanOrEqual(defaultSettings.sendQueueStallTimeout);
  });

  it('a send queue past the hard limit drops the peer at once', () => {
    const settings = { ...SEED_SETTINGS, sendQueueWatermark: 8 * 1024, sendQueueHardLimit: 12 * 1024 };
    const b = new Bench({ initial: 'complete', settings });
    const f = b.dialingPuppet('F');
    f.handshake({ reserved: FAST }).send({ type: 'have-none' }).send({ type: 'interested' }).stopReading();
    b.run(11_000);
    f.send(requestFor(0));
    b.run(100);
    expectOnChart(b);
    expect(String(disconnectOf(b, 'F')?.reason)).toMatch(/^send queue of \d+ bytes passed the hard limit of 12288 bytes: the peer does not read$/);
  });
});

describe('a ut_metadata request flood from a peer that never reads', () => {
  it('queues at most maxMetadataRequests, rejects past it, is dropped; our queue stays small', () => {
    const b = new Bench({ initial: 'complete', settings: SEED_SETTINGS });
    const h = honestLeecher(b);
    const f = b.dialingPuppet('F');
    f.handshake({ reserved: FAST }).send({ type: 'have-none' });
    f.send({ type: 'extended', id: 0, payload: bencodeValue({ m: { ut_metadata: 3 } }) }).stopReading();
    b.run(100);
    const request: Message = { type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'request', piece: 0 }) };
    for (let sent = 0; sent < 100_000 && !disconnectOf(b, 'F'); sent += 1_000) {
      burst(f, 1_000, () => request);
      b.run(5);
    }
    const { maxMetadataRequests, maxUnservedRequests, maxSendQueue } = defaultSettings;
    const queued = b.events.filter((e) => e.remote === 'F' && e.node === 'metadataRequest' && e.served === true).map((e) => Number(e.queued));
    expect(Math.max(...queued)).toBe(maxMetadataRequests);
    expect(String(disconnectOf(b, 'F')?.reason)).toMatch(/request flood/);
    const replies = b.events.filter((e) => e.remote === 'F' && e.node === 'metadataRequest');
    expect(replies.filter((e) => e.served === false)).toHaveLength(maxUnservedRequests + 1);
    // Replies only while the queue is under the pump's limit, REJECTs only while under the watermark.
    expect(b.gate.peakQueued('F')).toBeLessThan(maxSendQueue * (BLOCK_SIZE + 13) + (maxUnservedRequests + 2) * 64);
    b.run(11_000);
    fetchAll(b, h);
    expectOnChart(b);
  });
});

describe('handshake time-out', () => {
  it('a socket that says nothing is closed at handshakeTimeout, not at the idle time-out', () => {
    const b = new Bench();
    const p = b.dialingPuppet('S');
    b.run(defaultSettings.handshakeTimeout - 100);
    expect(p.closedReason).toBeUndefined();
    b.run(200);
    expect(p.closedReason).toBeDefined();
    const end = disconnectOf(b, 'S');
    expect(end).toMatchObject({ reason: 'handshake timed out' });
    expect(end!.t).toBeGreaterThanOrEqual(defaultSettings.handshakeTimeout);
    expect(end!.t).toBeLessThanOrEqual(defaultSettings.handshakeTimeout + 10);
    expect(b.steps('S')).toEqual(['connect', 'exit', 'cleanup']);
    expectOnChart(b);
  });

  it('a dial whose remote accepts but never answers the handshake is closed at handshakeTimeout', () => {
    const b = new Bench();
    b.listeningPuppet('L'); // accepts, never handshakes
    b.run(defaultSettings.handshakeTimeout + 10);
    expect(disconnectOf(b, 'L')).toMatchObject({ reason: 'handshake timed out' });
  });

  it('the timer is cancelled by a completed handshake', () => {
    const b = new Bench({ initial: 'complete' });
    const p = b.dialingPuppet('S');
    b.run(defaultSettings.handshakeTimeout / 2);
    p.handshake();
    b.run(defaultSettings.handshakeTimeout * 3);
    expect(disconnectOf(b, 'S')).toBeUndefined();
    expect(processOf(b, 'S')?.handshaken).toBe(true);
  });
});

// ---- Live: the same flood on real TCP, 127.0.0.1 -------------------------------------------------

const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('live: a REQUEST flood on TCP from a socket that never reads', () => {
  it("the seed's queued bytes stay bounded, the flooder is dropped, an honest leecher finishes", async () => {
    const dir = tempDir('hostile-conn');
    dirs.push(dir);
    const pieceLength = 64 * 1024;
    const payload = Uint8Array.from({ length: 2 * 1024 * 1024 + 777 }, (_, i) => (i * 131 + (i >> 9)) & 0xff);
    const { torrent } = createTorrent({ name: 'p.bin', pieceLength, files: payload });
    mkdirSync(join(dir, 'seed'), { recursive: true });
    writeFileSync(join(dir, 'seed', 'p.bin'), payload);
    const seedNet = await TcpNetwork.create({ host: '127.0.0.1' });
    const drops: TraceEvent[] = [];
    const trace = { emit: (e: TraceEvent) => void (e.kind === 'disconnect' && drops.push({ ...e })), steps: false };
    const seed = new LiveSession({ torrent, dir: join(dir, 'seed'), network: seedNet, initial: 'check', trace });
    seed.start();
    closers.push(() => seed.stop('test over', 100));

    // An honest swarmlab leecher, started beside the flooder.
    const leechNet = await TcpNetwork.create({ host: '127.0.0.1' });
    let completed!: () => void;
    const complete = new Promise<void>((r) => (completed = r));
    const leech = new LiveSession({ torrent, dir: join(dir, 'leech'), network: leechNet, initial: 'empty', peers: [seedNet.localAddress], onComplete: () => completed() });
    closers.push(() => leech.stop('test over', 100));

    // The flooder: handshakes (Fast), says it is interested, pauses reading, floods REQUESTs.
    const flooder = new Socket();
    closers.push(() => void flooder.destroy());
    // A paused socket never reads the seed's FIN: the seed's trace tells when it dropped us.
    const flooderDropped = () => drops.find((e) => /request flood|send queue/.test(String(e.reason)));
    const closed = new Promise<void>((resolve) => {
      flooder.on('close', () => resolve());
      flooder.on('error', () => resolve());
    });
    await new Promise<void>((r) => flooder.connect(seedNet.localAddress.port, '127.0.0.1', r));
    flooder.write(encodeHandshake({ infoHash: torrent.infoHash, peerId: new TextEncoder().encode('-XX0000-flooder.....'), reserved: FAST }));
    flooder.write(encodeMessageBytes({ type: 'have-none' }));
    flooder.write(encodeMessageBytes({ type: 'interested' }));
    flooder.pause();
    let peak = 0;
    const probe = setInterval(() => {
      for (const p of seed.client.connections()) peak = Math.max(peak, p.queuedBytes);
    }, 2);
    closers.push(() => clearInterval(probe));
    leech.start();

    // 1,000,000 requests (17 MB): before the bound, as many REJECTs were queued for a socket that never reads.
    const pieces = torrent.pieceCount;
    for (let sent = 0; sent < 1_000_000 && !flooder.destroyed && !flooderDropped(); sent += 50_000) {
      const chunk = Buffer.concat(
        Array.from({ length: 50_000 }, (_, i) => encodeMessageBytes({ type: 'request', index: (sent + i) % pieces, begin: 0, length: BLOCK_SIZE })),
      );
      if (!flooder.write(chunk)) await Promise.race([new Promise((r) => flooder.once('drain', r)), closed, sleep(2_000)]);
    }
    for (let waited = 0; !flooderDropped() && waited < 20_000; waited += 20) await sleep(20);
    expect(flooderDropped()?.reason, `the seed dropped the flooder (disconnects: ${drops.map((e) => e.reason).join('; ')})`).toMatch(/request flood/);

    await Promise.race([complete, sleep(30_000)]);
    expect(leech.client.complete, 'the honest leecher completed').toBe(true);
    await leech.stop('done', 100);
    expect(Buffer.compare(readFileSync(join(dir, 'leech', 'p.bin')), payload)).toBe(0);
    expect(peak, 'bytes queued by the seed towards any peer').toBeLessThanOrEqual(defaultSettings.sendQueueHardLimit);
  }, 60_000);
});
