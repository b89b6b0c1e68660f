// The swarm runner: builds a payload and its torrent from the seed, starts virtual peers on a
// simulated network and tracker, and runs virtual time until every leecher holds the whole,
// SHA1-verified payload or the time limit passes.

import { Client } from '../engine/client.ts';
import { MemoryStorage } from '../engine/memory-storage.ts';
import type { Storage } from '../engine/ports.ts';
import { createTorrent, type Torrent } from '../engine/metainfo.ts';
import type { EngineSettings } from '../engine/settings.ts';
import { ENGINE_VERSION } from '../engine/version.ts';
import { KiB, MiB, perSecond, SimNetwork, type SimHost } from './network.ts';
import { SeedRoot, type SeededRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';
import { SharedPayloadStorage } from './shared-storage.ts';
import { SimTracker } from './tracker.ts';
import { TraceWriter } from './trace-writer.ts';

export interface PeerGroup {
  /** Label prefix: peers are named prefix0, prefix1, … */
  prefix: string;
  count: number;
  role: 'seed' | 'leecher';
  /** Bytes per second; Infinity for unlimited. */
  upload: number;
  download: number;
  /** Virtual ms at which the group's peers join (all at once). */
  joinAt?: number;
  settings?: Partial<EngineSettings>;
}

export interface SwarmOptions {
  seed: string;
  groups: PeerGroup[];
  /** Payload size in bytes. */
  size: number;
  pieceLength: number;
  /** One-way latency per host, drawn from [lo, hi] ms; a link's latency is the mean of its ends. */
  latency: [number, number];
  /** Virtual time limit (ms). */
  timeLimit: number;
  /** Tracker announce interval (s). */
  trackerInterval: number;
  settings?: Partial<EngineSettings>;
  /** Where trace lines go; the hash is computed either way. */
  traceOut?: (text: string) => void;
  /**
   * 'shared' (default): peers share the one payload and keep only blocks that differ from it.
   * 'copy': every peer has a private MemoryStorage, as a real client would (tests use it to
   * compare real bytes).
   */
  storage?: 'shared' | 'copy';
}

export const defaultSwarm: SwarmOptions = {
  seed: '1',
  groups: [
    { prefix: 'S', count: 1, role: 'seed', upload: 2 * MiB, download: 2 * MiB },
    { prefix: 'L', count: 20, role: 'leecher', upload: 512 * KiB, download: 2 * MiB },
  ],
  size: 8 * MiB,
  pieceLength: 256 * KiB,
  latency: [10, 60],
  timeLimit: 3_600_000,
  trackerInterval: 1800,
};

/** A swarm of `seeds` seeds and `leechers` leechers, the rest as in the default swarm. */
export function swarmOf(seed: string, seeds: number, leechers: number, overrides: Partial<SwarmOptions> = {}): SwarmOptions {
  const [s, l] = defaultSwarm.groups;
  return { ...defaultSwarm, seed, groups: [{ ...s, count: seeds }, { ...l, count: leechers }], ...overrides };
}

export interface PeerReport {
  label: string;
  role: 'seed' | 'leecher';
  joinedAt: number;
  /** Virtual ms at which it held every piece; undefined if it never did. */
  completedAt?: number;
  uploaded: number;
  downloaded: number;
  /** Its storage, read back, equals the payload byte for byte. */
  payloadMatches: boolean;
}

export interface SwarmResult {
  seed: string;
  complete: boolean;
  /** Virtual time when the last leecher completed, or when the run stopped. */
  simTime: number;
  peers: PeerReport[];
  events: number;
  traceEvents: number;
  traceHash: string;
  torrent: Pick<Torrent, 'name' | 'length' | 'pieceLength' | 'pieceCount' | 'infoHashHex'>;
}

export interface SimPeer {
  label: string;
  role: 'seed' | 'leecher';
  group: PeerGroup;
  host: SimHost;
  client: Client;
  storage: Storage;
  joinedAt: number;
  completedAt?: number;
}

/** A built, not yet run, swarm: the runner's parts, for callers that want to reach in. */
export class Swarm {
  readonly scheduler = new Scheduler();
  readonly root: SeedRoot;
  readonly payload: Uint8Array;
  readonly torrent: Torrent;
  readonly network: SimNetwork;
  readonly tracker: SimTracker;
  readonly trace: TraceWriter;
  readonly peers: SimPeer[] = [];
  private readonly baseLatency = new Map<SimHost, number>();

  constructor(readonly options: SwarmOptions) {
    const o = options;
    this.root = new SeedRoot(o.seed);
    this.payload = this.root.stream('payload').bytes(o.size);
    this.torrent = createTorrent({ name: 'payload.bin', pieceLength: o.pieceLength, files: this.payload }).torrent;
    this.trace = new TraceWriter(
      {
        seed: o.seed,
        engine: ENGINE_VERSION,
        settings: { ...o, traceOut: undefined, groups: o.groups.map((g) => ({ ...g })) },
        torrent: {
          name: this.torrent.name,
          length: this.torrent.length,
          pieceLength: this.torrent.pieceLength,
          pieces: this.torrent.pieceCount,
          infoHash: this.torrent.infoHashHex,
        },
      },
      o.traceOut,
    );
    this.network = new SimNetwork(this.scheduler, (a, b) => ((this.baseLatency.get(a) ?? 0) + (this.baseLatency.get(b) ?? 0)) / 2);
    this.tracker = new SimTracker(this.scheduler, this.root.stream('tracker'), { interval: o.trackerInterval, delay: 50 });
    for (const g of o.groups) for (let i = 0; i < g.count; i++) this.addPeer(g, `${g.prefix}${i}`);
  }

  private addPeer(group: PeerGroup, label: string): SimPeer {
    const o = this.options;
    const random = this.root.stream(`peer/${label}`);
    const address = { host: label, port: 6881 };
    const host = this.network.addHost({ label, address, upload: perSecond(group.upload), download: perSecond(group.download) });
    this.baseLatency.set(host, this.root.stream(`latency/${label}`).range(o.latency[0], o.latency[1]));
    const storage =
      o.storage === 'copy'
        ? new MemoryStorage(this.payload.length, group.role === 'seed' ? this.payload.slice() : undefined)
        : new SharedPayloadStorage(this.payload, group.role === 'seed');
    const peerId = simPeerId(this.root.stream(`peer-id/${label}`));
    const record = { label, role: group.role, group, host, storage, joinedAt: group.joinAt ?? 0, completedAt: undefined as number | undefined };
    const client = new Client({
      torrent: this.torrent,
      peerId,
      label,
      initial: group.role === 'seed' ? 'complete' : 'empty',
      settings: { ...o.settings, ...group.settings },
      labelOf: (a) => a.host,
      ports: { clock: this.scheduler, random, network: host, storage, tracker: this.tracker.portFor(address), trace: this.trace },
      events: {
        complete: () => {
          record.completedAt = this.scheduler.now();
        },
      },
    });
    const peer: SimPeer = Object.assign(record, { client });
    this.scheduler.at(peer.joinedAt, () => peer.client.start());
    this.peers.push(peer);
    return peer;
  }

  get leechers(): SimPeer[] {
    return this.peers.filter((p) => p.role === 'leecher');
  }

  run(): SwarmResult {
    const leechers = this.leechers;
    let done = leechers.length === 0;
    const allDone = () => (done ||= leechers.every((p) => p.completedAt !== undefined));
    this.scheduler.run(this.options.timeLimit, allDone);
    const simTime = this.scheduler.now();
    for (const p of this.peers) p.client.stop('run ended');
    const peers = this.peers.map((p) => ({
      label: p.label,
      role: p.role,
      joinedAt: p.joinedAt,
      completedAt: p.completedAt,
      uploaded: p.client.uploaded,
      downloaded: p.client.downloaded,
      payloadMatches: Buffer.compare(p.storage.read(0, this.payload.length), this.payload) === 0,
    }));
    const t = this.torrent;
    return {
      seed: this.options.seed,
      complete: peers.every((p) => p.role === 'seed' || (p.completedAt !== undefined && p.payloadMatches)),
      simTime,
      peers,
      events: this.scheduler.executed,
      traceEvents: this.trace.events,
      traceHash: this.trace.finish(),
      torrent: { name: t.name, length: t.length, pieceLength: t.pieceLength, pieceCount: t.pieceCount, infoHashHex: t.infoHashHex },
    };
  }
}

/** An Azureus-style peer id ("-SL0100-" and 12 random alphanumerics) drawn from `random`. */
function simPeerId(random: SeededRandom): Uint8Array {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let id = '-SL0100-';
  for (let i = 0; i < 12; i++) id += alphabet[Math.floor(random.next() * alphabet.length)];
  return new TextEncoder().encode(id);
}

export function runSwarm(options: SwarmOptions): SwarmResult {
  return new Swarm(options).run();
}

