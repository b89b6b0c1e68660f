// A test bench for one engine Client: it runs on the simulator's scheduler and network, and its
// remote peers are "puppets" — raw connections a test scripts message by message.

import { Client } from '../../engine/client.ts';
import { MemoryStorage } from '../../engine/memory-storage.ts';
import { createTorrent, type Torrent } from '../../engine/metainfo.ts';
import { MetadataFetcher } from '../../engine/metadata-fetcher.ts';
import type { Clock, Connection, PeerAddress, WebSeedPort } from '../../engine/ports.ts';
import type { EngineSettings } from '../../engine/settings.ts';
import type { TraceEvent } from '../../engine/trace.ts';
import { encodeHandshake, encodeMessage, type Message, WireDecoder } from '../../engine/wire.ts';
import { SimNetwork, type SimHost } from '../../sim/network.ts';
import { CounterCheck, debugChecks } from '../../sim/debug-checks.ts';
import { SeedRoot } from '../../sim/random.ts';
import { Scheduler } from '../../sim/scheduler.ts';
import { ReadGateNetwork } from './read-gate.ts';

export const PIECE_LENGTH = 32 * 1024; // two blocks a piece
export const PIECES = 4;

export interface BenchOptions {
  /** What the client under test holds at start. */
  initial?: 'empty' | 'complete';
  settings?: Partial<EngineSettings>;
  size?: number;
  /** BEP 19: the torrent's `url-list`, and the port that fetches from it. */
  urlList?: string[];
  webSeeds?: WebSeedPort;
  /** A multi-file torrent (three files of uneven size, one empty) instead of one file. */
  multiFile?: boolean;
  /** The client's clock, made from the bench's scheduler (default: the scheduler itself); e.g. one that counts timers. */
  clock?: (scheduler: Scheduler) => Clock;
}

export class Bench {
  readonly scheduler = new Scheduler();
  readonly network: SimNetwork;
  readonly payload: Uint8Array;
  readonly torrent: Torrent;
  readonly storage: MemoryStorage;
  readonly client: Client;
  readonly host: SimHost;
  /** The client's network: lets a puppet stop reading what the client sends (test/helpers/read-gate.ts). */
  readonly gate: ReadGateNetwork;
  readonly events: TraceEvent[] = [];
  readonly announces: { event: string; left: number }[] = [];
  private puppets = 0;

  constructor(o: BenchOptions = {}) {
    const root = new SeedRoot('bench');
    const size = o.size ?? PIECE_LENGTH * PIECES;
    this.payload = root.stream('payload').bytes(size);
    const files = o.multiFile ? splitIntoFiles(this.payload) : this.payload;
    this.torrent = createTorrent({ name: 'bench.bin', pieceLength: PIECE_LENGTH, files, urlList: o.urlList }).torrent;
    this.network = new SimNetwork(this.scheduler, () => 1);
    this.host = this.network.addHost({ label: 'A', address: { host: 'A', port: 6881 }, upload: Infinity, download: Infinity });
    this.gate = new ReadGateNetwork(this.host);
    this.storage = new MemoryStorage(size, o.initial === 'complete' ? this.payload.slice() : undefined);
    this.client = new Client({
      torrent: this.torrent,
      peerId: peerIdOf('A'),
      label: 'A',
      initial: o.initial ?? 'empty',
      // Scripted peers answer when a test says so, not at a rate: requests are not sized by one
      // (slow start, requestQueueTime) unless the test asks (test/request-queue.test.ts).
      settings: { requestQueueTime: 0, ...o.settings },
      labelOf: (a) => a.host,
      ports: {
        clock: o.clock?.(this.scheduler) ?? this.scheduler,
        random: root.stream('client'),
        network: this.gate,
        storage: this.storage,
        tracker: {
          announce: (req, done) => {
            this.announces.push({ event: req.event, left: req.left });
            done({ ok: true, interval: 1800, peers: [] });
          },
        },
        trace: { emit: (e) => this.events.push({ ...e }) },
        webSeeds: o.webSeeds,
      },
    });
    this.client.start();
    // One client on a small torrent: checked after every event.
    if (debugChecks.counters) this.scheduler.afterEach = new CounterCheck((c: Client) => c, () => [this.client]).afterEvent;
  }

  /** A puppet that the client dials (it listens at `label`:6881). */
  listeningPuppet(label = `P${this.puppets++}`): Puppet {
    const host = this.network.addHost({ label, address: { host: label, port: 6881 }, upload: Infinity, download: Infinity });
    const puppet = new Puppet(this, label, host);
    host.listen((conn) => puppet.attach(conn));
    this.client.addPeer(host.address);
    return puppet;
  }

  /** A puppet that dials the client. */
  dialingPuppet(label = `P${this.puppets++}`): Puppet {
    const host = this.network.addHost({ label, address: { host: label, port: 6881 }, upload: Infinity, download: Infinity });
    const puppet = new Puppet(this, label, host);
    puppet.attach(host.connect(this.host.address));
    return puppet;
  }

  /** Runs virtual time forward by `ms`. */
  run(ms = 50): void {
    this.scheduler.run(this.scheduler.now() + ms);
  }

  /** The nodes the client's process for `remote` stepped through, in order. */
  steps(remote: string): string[] {
    return this.events.filter((e) => e.kind === 'step' && e.remote === remote).map((e) => e.node!);
  }

  /** Every (from, to) pair of consecutive steps, per connection. */
  edges(): Set<string> {
    return edgesOf(this.events);
  }

  block(index: number, begin: number, length: number): Uint8Array {
    const at = index * PIECE_LENGTH + begin;
    return this.payload.subarray(at, at + length);
  }
}

/** The payload as `a/one` (a third and a byte), `a/empty` (empty), `b two` (the rest): files that cut pieces and blocks. */
function splitIntoFiles(payload: Uint8Array): { path: string[]; data: Uint8Array }[] {
  const cut = Math.floor(payload.length / 3) + 1;
  return [
    { path: ['a', 'one'], data: payload.subarray(0, cut) },
    { path: ['a', 'empty'], data: new Uint8Array(0) },
    { path: ['b two'], data: payload.subarray(cut) },
  ];
}

/** Consecutive steps of each connection, as "from>to" keys. */
export function edgesOf(events: readonly TraceEvent[]): Set<string> {
  const last = new Map<string, string>();
  const edges = new Set<string>();
  for (const e of events) {
    if (e.kind !== 'step') continue;
    const conn = `${e.peer}|${e.remote}`;
    const prev = last.get(conn);
    if (prev !== undefined) edges.add(`${prev}>${e.node}`);
    // `cleanup` ends a connection; a later one between the same pair starts again at `connect`.
    if (e.node === 'cleanup') last.delete(conn);
    else last.set(conn, e.node!);
  }
  return edges;
}

/**
 * A magnet link's metadata fetcher, labelled F, on the bench's network (no tracker peers): what it
 * assembles lands in `got`. Started; puppets it dials are added by the test.
 */
export function benchFetcher(b: Bench, infoHash: Uint8Array): { fetcher: MetadataFetcher; got: Uint8Array[] } {
  const host = b.network.addHost({ label: 'F', address: { host: 'F', port: 6881 }, upload: Infinity, download: Infinity });
  const got: Uint8Array[] = [];
  const fetcher = new MetadataFetcher({
    infoHash,
    peerId: peerIdOf('F'),
    label: 'F',
    clock: b.scheduler,
    network: host,
    tracker: { announce: (_r, done) => done({ ok: true, interval: 1800, peers: [] }) },
    trace: { emit: (e) => b.events.push({ ...e }) },
    labelOf: (a) => a.host,
    onMetadata: (bytes) => got.push(bytes),
  });
  fetcher.start();
  return { fetcher, got };
}

export function peerIdOf(label: string): Uint8Array {
  return new TextEncoder().encode(`-PT0001-${label.padEnd(12, '.')}`.slice(0, 20));
}

export class Puppet {
  conn: Connection | undefined;
  readonly received: Message[] = [];
  handshaken = false;
  closedReason: string | undefined;
  opened = false;
  private decoder = new WireDecoder();

  constructor(
    private readonly bench: Bench,
    readonly label: string,
    readonly host: SimHost,
  ) {}

  get address(): PeerAddress {
    return this.host.address;
  }

  attach(conn: Connection): void {
    // A new connection (the client dialled again) starts a new stream.
    if (this.conn) {
      this.decoder = new WireDecoder();
      this.handshaken = false;
    }
    this.conn = conn;
    conn.setHandler({
      open: () => void (this.opened = true),
      data: (bytes) => {
        for (const item of this.decoder.push(bytes)) {
          if (item.kind === 'handshake') this.handshaken = true;
          else this.received.push(item.message);
        }
      },
      drain: () => {},
      close: (reason) => void (this.closedReason = reason ?? 'closed'),
    });
    if (conn.inbound) this.opened = true;
  }

  handshake(o: { infoHash?: Uint8Array; peerId?: Uint8Array; reserved?: Uint8Array } = {}): this {
    this.conn!.write(
      encodeHandshake({
        infoHash: o.infoHash ?? this.bench.torrent.infoHash,
        peerId: o.peerId ?? peerIdOf(this.label),
        reserved: o.reserved ?? new Uint8Array(8),
      }),
    );
    return this;
  }

  /** The puppet stops reading: what the client writes to it piles up in the client's send queue. */
  stopReading(): this {
    this.bench.gate.stopReading(this.label);
    return this;
  }

  send(m: Message): this {
    this.conn!.write(encodeMessage(m));
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.conn!.write(bytes);
    return this;
  }

  /** A bitfield of the given piece indices. */
  bitfield(pieces: number[]): this {
    const bits = new Uint8Array(Math.ceil(PIECES / 8));
    for (const i of pieces) bits[i >> 3] |= 0x80 >> (i & 7);
    return this.send({ type: 'bitfield', bits });
  }

  close(): void {
    this.conn!.close();
  }

  requests(): Extract<Message, { type: 'request' }>[] {
    return this.received.filter((m): m is Extract<Message, { type: 'request' }> => m.type === 'request');
  }

  has(type: Message['type']): boolean {
    return this.received.some((m) => m.type === type);
  }
}
