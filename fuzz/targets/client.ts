// A whole engine Client (engine/client.ts) fed hostile peers. Fake connections and a fake clock
// (no simulator in between): the input is a script of actions — peers connecting, handshakes right
// and wrong, real and corrupt blocks, any wire message or raw bytes cut anywhere, floods of
// REQUESTs or ut_metadata requests from a peer that never reads, a tracker answering with many
// peers, connections closed, and clock jumps of up to an hour. The client runs with the simulator's
// defaults or live mode's settings (BEP 6 and BEP 10 on), empty or seeding, in memory.
// Properties, after every action: no throw escapes a handler or timer; every piece the client
// holds as verified hashes right in storage (no false "complete"; hashed when it becomes verified
// and again whenever storage for it is written); what the client writes to each peer is a
// well-formed wire stream (decoded as it is written); the bytes queued to a peer that does not
// read stay under a bound; the connection limit holds.

import * as fc from 'fast-check';
import { Client } from '../../engine/client.ts';
import { MemoryStorage } from '../../engine/memory-storage.ts';
import { encodeExtHandshake, encodeMetadataMessage, UT_METADATA_ID } from '../../engine/metadata.ts';
import { reservedBytes } from '../../engine/reserved-bits.ts';
import { createTorrent, sha1 } from '../../engine/metainfo.ts';
import type { AnnounceResult, Clock, Connection, ConnectionHandler, Network, PeerAddress, Storage, TimerHandle } from '../../engine/ports.ts';
import type { EngineSettings } from '../../engine/settings.ts';
import { encodeHandshake, encodeMessageBytes, type Message, WireDecoder } from '../../engine/wire.ts';
import { LIVE_SETTINGS } from '../../live/session.ts';
import { SeedRoot } from '../../sim/random.ts';
import { bytesEqual, concatBytes } from '../../engine/bytes.ts';
import { escaped, expect, type FuzzTarget } from '../target.ts';
import { messageArbitrary } from './wire.ts';

const PIECE_LENGTH = 32 * 1024;
const PIECES = 4;
const BLOCK = 16 * 1024;
const PEERS = 3;
/**
 * Most bytes that may wait for a peer that does not read. Everything a client owes a peer at
 * once is far less: its bitfield and HAVEs, a few keep-alives, the PIECEs it hands the network
 * (maxSendQueue blocks of 16 KiB; 16 in live mode), a REJECT per pruned request.
 */
const QUEUE_BOUND = 512 * 1024;

const PAYLOAD = new SeedRoot('fuzz-client').stream('payload').bytes(PIECE_LENGTH * PIECES);
const TORRENT = createTorrent({ name: 'fuzz.bin', pieceLength: PIECE_LENGTH, files: PAYLOAD }).torrent;

type Send =
  | { kind: 'handshake'; wrongHash: boolean; reserved: 'none' | 'fast' | 'ext' | 'both' }
  | { kind: 'bitfield'; bits: Uint8Array }
  | { kind: 'block'; index: number; begin: number; length: number; corrupt: boolean }
  | { kind: 'message'; message: Message }
  | { kind: 'ext-handshake'; metadataSize?: number }
  | { kind: 'metadata-request'; piece: number }
  | { kind: 'raw'; bytes: Uint8Array };

type Action =
  | { kind: 'connect'; peer: number }
  /** Connect, handshake, say what we have, maybe unchoke and show interest: a peer as it usually starts. */
  | { kind: 'join'; peer: number; reserved: 'none' | 'fast' | 'ext' | 'both'; has: 'all' | 'none' | Uint8Array; unchoke: boolean; interested: boolean }
  /** Answer up to `max` of the requests the client sent this peer; every `corruptEvery`th block corrupt (0: none). */
  | { kind: 'serve'; peer: number; max: number; corruptEvery: number }
  | { kind: 'send'; peer: number; send: Send; cut: number }
  | { kind: 'flood'; peer: number; what: 'request' | 'metadata-request' | 'have' | 'interested'; count: number }
  | { kind: 'drain'; peer: number }
  | { kind: 'close'; peer: number }
  | { kind: 'time'; ms: number }
  | { kind: 'tracker'; peers: number; interval: number };

export interface ClientInput {
  live: boolean;
  seeding: boolean;
  actions: Action[];
}

const peer = fc.integer({ min: 0, max: PEERS - 1 });
const pieceIndex = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: PIECES - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(PIECES, 0xffff_ffff) });
const send: fc.Arbitrary<Send> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('handshake' as const), wrongHash: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), reserved: fc.constantFrom('none' as const, 'fast' as const, 'ext' as const, 'both' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bitfield' as const), bits: fc.oneof(fc.constantFrom(new Uint8Array([0xf0]), new Uint8Array([0xa0]), new Uint8Array([0xff])), fc.uint8Array({ maxLength: 3 })) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('block' as const),
      index: pieceIndex,
      begin: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, BLOCK) }, { weight: 1, arbitrary: fc.constantFrom(1, PIECE_LENGTH, 0xffff_fff0) }),
      length: fc.oneof({ weight: 6, arbitrary: fc.constant(BLOCK) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, BLOCK + 1, 2 * BLOCK) }),
      corrupt: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('message' as const), message: messageArbitrary }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ext-handshake' as const), metadataSize: fc.option(fc.constantFrom(TORRENT.infoBytes.length, 1, 2 ** 24 + 1), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('metadata-request' as const), piece: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 40 }) }) },
);

const joinAction = fc.record({
  kind: fc.constant('join' as const),
  peer,
  reserved: fc.constantFrom('none' as const, 'fast' as const, 'ext' as const, 'both' as const),
  has: fc.oneof(fc.constantFrom('all' as const, 'none' as const), fc.uint8Array({ minLength: 1, maxLength: 1 })),
  unchoke: fc.boolean(),
  interested: fc.boolean(),
});
const serveAction = fc.record({ kind: fc.constant('serve' as const), peer, max: fc.integer({ min: 1, max: 30 }), corruptEvery: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }) });
/**
 * A flood's length: up to 4,000 messages, 3 times what the largest per-peer bound lets through
 * (1,024 queued ut_metadata requests, then 300 unserved ones), 13 times `maxUnservedRequests`,
 * 15 times `maxPeerRequests`, 31 times the blocks the send queue's hard limit holds (2 MiB).
 * Half the floods stay around those bounds (up to 400: just under and over 256 and 300).
 */
const FLOOD_MAX = 4_000;
const floodCount = fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 400, max: FLOOD_MAX }));
const floodAction = fc.record({ kind: fc.constant('flood' as const), peer, what: fc.constantFrom('request' as const, 'metadata-request' as const, 'have' as const, 'interested' as const), count: floodCount });
// Past the keep-alive (120 s) and the idle time-out (180 s); an hour passes the tracker's interval
// (1800 s) twice. An hour is one jump in ten: with a long peer list it dials thousands.
const timeAction = fc.record({
  kind: fc.constant('time' as const),
  ms: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 20_000 }) }, { weight: 3, arbitrary: fc.constantFrom(120_000, 180_001) }, { weight: 1, arbitrary: fc.constant(3_600_000) }),
});
// 5,000 peers: ten times `maxPeersPerReply`; six such replies fill the peer list (`maxPeerList`).
// One reply in eight: a long list dials thousands of dead addresses in an hour (18,000 in live
// mode: `maxPendingHandshakes` every `handshakeTimeout`), which is most of the bench's time.
const trackerAction = fc.record({ kind: fc.constant('tracker' as const), peers: fc.oneof({ weight: 7, arbitrary: fc.integer({ min: 0, max: 20 }) }, { weight: 1, arbitrary: fc.constant(5000) }), interval: fc.constantFrom(0, 1, 1800) });
const simple = (kind: 'connect' | 'drain' | 'close') => fc.record({ kind: fc.constant(kind), peer });

/** Peers that mostly behave (so downloads happen), with some corrupt blocks and floods. */
const calmAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: joinAction },
  { weight: 8, arbitrary: serveAction },
  { weight: 2, arbitrary: timeAction },
  { weight: 1, arbitrary: simple('drain') },
  { weight: 1, arbitrary: floodAction },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('send' as const), peer, send, cut: fc.nat() }) },
);

/** Anything in any order. */
const chaosAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 1, arbitrary: simple('connect') },
  { weight: 4, arbitrary: joinAction },
  { weight: 5, arbitrary: serveAction },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('send' as const), peer, send, cut: fc.nat() }) },
  { weight: 1, arbitrary: floodAction },
  { weight: 2, arbitrary: simple('drain') },
  { weight: 1, arbitrary: simple('close') },
  { weight: 3, arbitrary: timeAction },
  { weight: 1, arbitrary: trackerAction },
);

export const clientTarget: FuzzTarget<ClientInput> = {
  name: 'client',
  description: 'engine/client.ts under hostile peers and clock jumps: no escaping throw, verified pieces hash right, well-formed output, bounded queues',
  ciRuns: 40,
  slowMs: 2000,
  arbitrary: fc.record({
    live: fc.boolean(),
    seeding: fc.boolean(),
    actions: fc.oneof(
      // Calm scripts start with peers joining, so that there is something to download.
      fc.tuple(fc.array(joinAction, { minLength: 1, maxLength: PEERS }), fc.array(calmAction, { maxLength: 60, size: 'large' })).map(([joins, rest]) => [...joins, ...rest]),
      fc.array(chaosAction, { maxLength: 60, size: 'large' }),
    ),
  }),
  check: (input) => void new ClientBench(input).run(),
};

// ---- the bench: a clock, a network of fake connections, the client --------------------------

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  /** A binary heap, earliest (then first set) on top; a cancelled timer is dropped when it surfaces. */
  private readonly timers: FakeTimer[] = [];

  now(): number {
    return this.time;
  }

  setTimer(delay: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { at: this.time + Math.max(0, delay), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Jumps forward, firing every timer due on the way, in time order then in the order set. */
  advance(ms: number, guard: (what: string, fn: () => void) => void): void {
    const end = this.time + ms;
    for (let fired = 0; ; fired++) {
      // A timer that re-arms itself at delay 0 would spin here for ever: that is a bug too.
      expect(fired < 100_000, 'more than 100,000 timers fired in one clock jump (a timer spins at one instant)');
      while (this.timers.length > 0 && this.timers[0].cancelled) this.pop();
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.pop();
      this.time = Math.max(this.time, next.at);
      guard('a timer', next.fn);
    }
    this.time = end;
  }

  private static before(a: FakeTimer, b: FakeTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: FakeTimer): void {
    const heap = this.timers;
    let i = heap.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!FakeClock.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.timers;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && FakeClock.before(heap[left], heap[least])) least = left;
      if (right < heap.length && FakeClock.before(heap[right], heap[least])) least = right;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  }
}

/** Memory storage that notes which pieces were written, and hands out copies (no other way in). */
class TrackedStorage implements Storage {
  /** Pieces written since the bench last cleared this. */
  readonly written = new Set<number>();

  constructor(private readonly memory: MemoryStorage) {}

  read(offset: number, length: number): Uint8Array {
    return this.memory.read(offset, length).slice();
  }

  write(offset: number, bytes: Uint8Array): void {
    this.memory.write(offset, bytes);
    const last = Math.min(PIECES - 1, Math.floor((offset + Math.max(bytes.length, 1) - 1) / PIECE_LENGTH));
    for (let i = Math.floor(offset / PIECE_LENGTH); i <= last; i++) this.written.add(i);
  }

  flush(): void {}
}

class FakeConnection implements Connection {
  handler: ConnectionHandler | undefined;
  queued = 0;
  closedByClient = false;
  closedByPeer = false;
  opened: boolean;
  /**
   * Decodes what the client writes: it must be a well-formed wire stream. Made at the first
   * write (most dials of a long peer list never open, and never write).
   */
  private output: WireDecoder | undefined;
  outputError: unknown;
  written = 0;
  /** Told when the client closes the connection. */
  onClosedByClient: (() => void) | undefined;
  /** Requests the client sent and did not cancel, oldest first: what a serving peer answers. */
  readonly requests: { index: number; begin: number; length: number }[] = [];

  constructor(
    readonly remote: PeerAddress,
    readonly inbound: boolean,
    /** How many connections the bench made before this one: its peer id follows from it. */
    readonly number: number,
  ) {
    this.opened = inbound;
  }

  get closed(): boolean {
    return this.closedByClient || this.closedByPeer;
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  write(chunks: Uint8Array | readonly Uint8Array[]): void {
    if (this.closed) return;
    const list = chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const c of list) {
      this.queued += c.length;
      this.written += c.length;
      if (this.outputError === undefined) {
        try {
          this.output ??= new WireDecoder({ maxMessageLength: 0xffff_ffff });
          for (const item of this.output.push(c)) {
            if (item.kind !== 'message') continue;
            const m = item.message;
            if (m.type === 'request') this.requests.push({ index: m.index, begin: m.begin, length: m.length });
            else if (m.type === 'cancel') {
              const at = this.requests.findIndex((r) => r.index === m.index && r.begin === m.begin && r.length === m.length);
              if (at >= 0) this.requests.splice(at, 1);
            }
          }
        } catch (error) {
          this.outputError = error;
        }
      }
    }
  }

  bufferedBytes(): number {
    return this.queued;
  }

  close(): void {
    this.closedByClient = true;
    this.onClosedByClient?.();
  }
}

export class ClientBench {
  private readonly clock = new FakeClock();
  private readonly storage: TrackedStorage;
  /** Held pieces that hashed right when last checked. */
  private readonly hashedRight = new Set<number>();
  private readonly client: Client;
  /** Every connection, by the peer slot it belongs to (the latest one of that peer). */
  private readonly bySlot = new Map<number, FakeConnection>();
  /**
   * The connections not closed yet, in the order made. A closed one writes nothing more, so it is
   * let go — at once when the client closed it, after one last check when the peer did: an hour
   * with a long peer list dials thousands, whose processes would otherwise stay alive.
   */
  private readonly all = new Set<FakeConnection>();
  /** Connections made so far. */
  private made = 0;
  private accept: ((conn: Connection) => void) | undefined;
  private readonly announces: ((r: AnnounceResult) => void)[] = [];
  private readonly settings: Partial<EngineSettings>;
  private trackerPeers = 0;
  private maxQueued = 0;

  constructor(private readonly input: ClientInput) {
    this.settings = input.live ? { ...LIVE_SETTINGS } : {};
    this.storage = new TrackedStorage(new MemoryStorage(PAYLOAD.length, input.seeding ? PAYLOAD.slice() : undefined));
    const network: Network = {
      localAddress: { host: '10.0.0.254', port: 6881 },
      connect: (address) => {
        const conn = new FakeConnection(address, false, this.made++);
        this.keep(conn);
        const slot = Number(address.host.split('.')[3]);
        if (address.host.startsWith('10.0.0.') && slot < PEERS) this.bySlot.set(slot, conn);
        return conn;
      },
      listen: (onConnection) => {
        this.accept = onConnection;
        return { stop: () => void (this.accept = undefined) };
      },
    };
    this.client = new Client({
      torrent: TORRENT,
      peerId: new TextEncoder().encode('-SL0100-fuzzclient00'),
      label: 'fuzz',
      initial: input.seeding ? 'complete' : 'empty',
      settings: this.settings,
      ports: {
        clock: this.clock,
        random: new SeedRoot('fuzz-client').stream('client'),
        network,
        storage: this.storage,
        tracker: { announce: (_request, done) => void this.announces.push(done) },
        // Drops every event, and says so: the engine then builds no step events (the flowchart
        // check of each step still runs), a fifth of the time a message flood takes.
        trace: { emit: () => {}, steps: false },
      },
    });
  }

  /** Runs the script; returns what it reached, for measuring the generator. */
  run(): { verified: number; maxQueued: number } {
    this.guard('Client.start', () => this.client.start());
    for (const [i, a] of this.input.actions.entries()) {
      this.perform(a);
      this.checkInvariants(`after action ${i} (${a.kind})`);
    }
    this.guard('a timer', () => this.clock.advance(60_000, (what, fn) => this.guard(what, fn)));
    this.checkInvariants('at the end');
    return { verified: this.client.pieces.have.count, maxQueued: this.maxQueued };
  }

  /** Runs engine code; any throw is a violation (live mode would drop the connection, or worse). */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (error instanceof Error && error.name === 'PropertyViolation') throw error;
      throw escaped(error, what);
    }
  }

  private perform(a: Action): void {
    // Dialled connections open on the next action, in the order they were made.
    for (const c of this.all) {
      if (!c.opened && !c.closed) {
        c.opened = true;
        this.guard('handler.open', () => c.handler?.open());
      }
    }
    switch (a.kind) {
      case 'connect': {
        if (!this.accept) return;
        const conn = new FakeConnection({ host: `10.0.0.${a.peer}`, port: 40_000 + this.made }, true, this.made++);
        this.keep(conn);
        this.bySlot.set(a.peer, conn);
        const accept = this.accept;
        this.guard('listen callback', () => accept(conn));
        return;
      }
      case 'join': {
        this.perform({ kind: 'connect', peer: a.peer });
        const sends: Send[] = [{ kind: 'handshake', wrongHash: false, reserved: a.reserved }];
        const fast = (a.reserved === 'fast' || a.reserved === 'both') && this.client.settings.fastExtension;
        if (a.has === 'all') sends.push(fast ? { kind: 'message', message: { type: 'have-all' } } : { kind: 'bitfield', bits: new Uint8Array([0xf0]) });
        else if (a.has === 'none') sends.push(fast ? { kind: 'message', message: { type: 'have-none' } } : { kind: 'bitfield', bits: new Uint8Array([0]) });
        else sends.push({ kind: 'bitfield', bits: a.has });
        if (a.unchoke) sends.push({ kind: 'message', message: { type: 'unchoke' } });
        if (a.interested) sends.push({ kind: 'message', message: { type: 'interested' } });
        for (const send of sends) this.perform({ kind: 'send', peer: a.peer, send, cut: 0 });
        return;
      }
      case 'serve': {
        const conn = this.live(a.peer);
        if (!conn) return;
        for (let n = 1; n <= a.max && conn.requests.length > 0 && !conn.closed; n++) {
          const r = conn.requests.shift()!;
          if (r.length > 2 * BLOCK) continue;
          const corrupt = a.corruptEvery > 0 && n % a.corruptEvery === 0;
          this.perform({ kind: 'send', peer: a.peer, send: { kind: 'block', index: r.index, begin: r.begin, length: r.length, corrupt }, cut: 0 });
        }
        return;
      }
      case 'send': {
        const conn = this.live(a.peer);
        if (!conn) return;
        const bytes = encodeSend(a.send, conn.number);
        const cut = bytes.length === 0 ? 0 : a.cut % (bytes.length + 1);
        for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
          if (part.length > 0 && !conn.closed) this.guard('handler.data', () => conn.handler?.data(part));
        }
        return;
      }
      case 'flood': {
        const conn = this.live(a.peer);
        if (!conn) return;
        const one = encodeFloodMessage(a.what);
        const bytes = new Uint8Array(one.length * a.count);
        for (let i = 0; i < a.count; i++) bytes.set(one, i * one.length);
        // In chunks, as a socket delivers them.
        for (let at = 0; at < bytes.length && !conn.closed; at += 65_536) {
          const part = bytes.subarray(at, at + 65_536);
          this.guard('handler.data', () => conn.handler?.data(part));
        }
        return;
      }
      case 'drain': {
        const conn = this.live(a.peer);
        if (!conn) return;
        conn.queued = 0;
        this.guard('handler.drain', () => conn.handler?.drain());
        return;
      }
      case 'close': {
        const conn = this.live(a.peer);
        if (!conn) return;
        conn.closedByPeer = true;
        this.guard('handler.close', () => conn.handler?.close('connection reset by peer'));
        return;
      }
      case 'time':
        this.clock.advance(a.ms, (what, fn) => this.guard(what, fn));
        return;
      case 'tracker': {
        const done = this.announces.shift();
        if (!done) return;
        const peers: PeerAddress[] = [];
        // The first ones are the scripted peers' slots (the client dials them); the rest are many.
        for (let i = 0; i < a.peers; i++) {
          peers.push(i < PEERS ? { host: `10.0.0.${i}`, port: 6881 } : { host: `10.1.${(this.trackerPeers >> 8) & 0xff}.${this.trackerPeers & 0xff}`, port: 1 + (this.trackerPeers++ % 65_535) });
        }
        this.guard('announce callback', () => done({ ok: true, interval: a.interval, peers }));
        return;
      }
    }
  }

  private keep(conn: FakeConnection): void {
    this.all.add(conn);
    conn.onClosedByClient = () => this.all.delete(conn);
  }

  private live(slot: number): FakeConnection | undefined {
    const conn = this.bySlot.get(slot);
    return conn && !conn.closed && conn.handler ? conn : undefined;
  }

  private checkInvariants(when: string): void {
    const have = this.client.pieces.have;
    for (let i = 0; i < PIECES; i++) {
      if (!have.has(i)) {
        this.hashedRight.delete(i);
        continue;
      }
      // Storage changes only through write (reads hand out copies): a piece that hashed right and
      // was not written since still does.
      if (this.hashedRight.has(i) && !this.storage.written.has(i)) continue;
      const bytes = this.storage.read(i * PIECE_LENGTH, PIECE_LENGTH);
      expect(bytesEqual(sha1(bytes), TORRENT.pieceHashes[i]), `${when}: piece ${i} is held as verified but its bytes do not hash right`);
      this.hashedRight.add(i);
    }
    this.storage.written.clear();
    const max = this.client.settings.maxConnections;
    expect(this.client.connectionCount <= max, `${when}: ${this.client.connectionCount} connections, the limit is ${max}`);
    for (const c of this.all) {
      if (c.closedByPeer) this.all.delete(c);
      if (c.closedByClient) continue;
      this.maxQueued = Math.max(this.maxQueued, c.queued);
      expect(c.queued <= QUEUE_BOUND, () => `${when}: ${c.queued} bytes queued to ${c.remote.host}:${c.remote.port}, which does not read (bound ${QUEUE_BOUND})`);
      expect(c.outputError === undefined, () => `${when}: the client wrote a malformed stream to ${c.remote.host}: ${String(c.outputError)}`);
    }
  }
}

/** One peer id per connection: a slot that reconnects is a new peer, not a duplicate. */
function peerId(connection: number): Uint8Array {
  return new TextEncoder().encode(`-FZ0001-conn${String(connection).padStart(8, '0')}`);
}

function encodeSend(s: Send, connection: number): Uint8Array {
  switch (s.kind) {
    case 'handshake': {
      const infoHash = s.wrongHash ? sha1(TORRENT.infoHash) : TORRENT.infoHash;
      const reserved = reservedBytes({ extensionProtocol: s.reserved === 'ext' || s.reserved === 'both', fast: s.reserved === 'fast' || s.reserved === 'both' });
      return encodeHandshake({ infoHash, peerId: peerId(connection), reserved });
    }
    case 'bitfield':
      return encodeMessageBytes({ type: 'bitfield', bits: s.bits });
    case 'block': {
      const at = s.index * PIECE_LENGTH + s.begin;
      const real = at + s.length <= PAYLOAD.length ? PAYLOAD.subarray(at, at + s.length) : new Uint8Array(s.length);
      const block = s.corrupt ? real.map((b, i) => (i === 0 ? b ^ 0xff : b)) : real;
      return encodeMessageBytes({ type: 'piece', index: s.index, begin: s.begin, block });
    }
    case 'message':
      return encodeMessageBytes(s.message);
    case 'ext-handshake':
      return encodeMessageBytes({ type: 'extended', id: 0, payload: encodeExtHandshake({ metadataSize: s.metadataSize }) });
    case 'metadata-request':
      return encodeMessageBytes({ type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'request', piece: s.piece }) });
    case 'raw':
      return s.bytes;
  }
}

function encodeFloodMessage(what: 'request' | 'metadata-request' | 'have' | 'interested'): Uint8Array {
  switch (what) {
    case 'request':
      return encodeMessageBytes({ type: 'request', index: 0, begin: 0, length: BLOCK });
    case 'metadata-request':
      return encodeMessageBytes({ type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'request', piece: 0 }) });
    case 'have':
      return encodeMessageBytes({ type: 'have', index: 1 });
    case 'interested':
      return concatBytes([encodeMessageBytes({ type: 'interested' }), encodeMessageBytes({ type: 'not-interested' })]);
  }
}
