// The swarm runner: builds a payload and its torrent from the seed, starts virtual peers on a
// simulated network and tracker, and runs virtual time until every leecher holds the whole,
// SHA1-verified payload or the time limit passes.

import { Client } from '../engine/client.ts';
import { MemoryStorage } from '../engine/memory-storage.ts';
import type { Storage } from '../engine/ports.ts';
import { createTorrent, type Torrent } from '../engine/metainfo.ts';
import { makePeerId } from '../engine/peer-id.ts';
import type { EngineSettings } from '../engine/settings.ts';
import type { TestHooks } from '../engine/test-hooks.ts';
import { ENGINE_VERSION } from '../engine/version.ts';
import { CounterCheck, debugChecks } from './debug-checks.ts';
import { KiB, MiB, perSecond, SimNetwork, type SimHost } from './network.ts';
import { SeedRoot, type SeededRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';
import { SharedPayloadStorage } from './shared-storage.ts';
import { FaultyStorage } from './storage-faults.ts';
import { SIM_MIN_ANNOUNCE_INTERVAL, SimTracker } from './tracker.ts';
import { TraceWriter } from '../engine/trace-writer.ts';
import { type Behaviour, behaviourSettings, type EngineBehaviour, isHonest, type LeavePolicy, type Role } from './behaviours.ts';
import type { TraceEvent, TraceSink } from '../engine/trace.ts';
import { SimWebSeeds, simWebSeedUrl, type WebSeedHostSpec } from './web-seed-host.ts';
import { type DhtMember, SwarmDht } from './swarm-dht.ts';
import { MetadataFetcher } from '../engine/metadata-fetcher.ts';
import type { TrackerPort } from '../engine/ports.ts';

/** The tracker of a swarm without one: every announce answers, with nobody (as live mode's for a torrent with no tracker). */
const NO_TRACKER: TrackerPort = { announce: (_request, done) => done({ ok: true, interval: 3600, peers: [] }) };

export interface PeerGroup {
  /** Label prefix: peers are named prefix0, prefix1, … */
  prefix: string;
  count: number;
  role: Role;
  /** Bytes per second; Infinity for unlimited. */
  upload: number;
  download: number;
  /** Virtual ms at which the group's peers join; with `joinSpread`, peer i at joinAt + i·spread/count. */
  joinAt?: number;
  joinSpread?: number;
  /** When its peers leave (default: never). */
  leave?: LeavePolicy;
  /** One-way latency of the group's hosts, drawn per host from [lo, hi] ms (default: the swarm's). */
  latency?: [number, number];
  settings?: Partial<EngineSettings>;
  /** Honest (the real engine, default), a free rider (the engine, never uploading), or malicious. */
  behaviour?: Behaviour;
  /** Its peers join the swarm's DHT (sim/swarm-dht.ts): they find peers there and announce themselves. */
  dht?: boolean;
  /** Leechers that start from a magnet link: the info dictionary comes from peers over BEP 9 first. */
  magnet?: boolean;
}

export interface SwarmOptions {
  seed: string;
  groups: PeerGroup[];
  /** Payload size in bytes. */
  size: number;
  pieceLength: number;
  /** 1 (default): a single-file torrent; more: the payload split into that many files. */
  files?: number;
  /** One-way latency per host, drawn from [lo, hi] ms; a link's latency is the mean of its ends. */
  latency: [number, number];
  /** Virtual time limit (ms). */
  timeLimit: number;
  /** Tracker announce interval (ms; the trace header records it in seconds, as trace version 1 always has). */
  trackerInterval: number;
  settings?: Partial<EngineSettings>;
  /** TEST ONLY (engine/test-hooks.ts): given to every honest peer's engine. */
  testHooks?: TestHooks;
  /** Where trace lines go; the hash is computed either way. */
  traceOut?: (text: string) => void;
  /**
   * 'shared' (default): peers share the one payload and keep only blocks that differ from it.
   * 'copy': every peer has a private MemoryStorage, as a real client would (tests use it to
   * compare real bytes).
   */
  storage?: 'shared' | 'copy';
  /**
   * 'steps' (default): every event, the Peer process's steps included. 'peers': peer- and
   * connection-level events only (join, verified, complete, connect, …) — for very large swarms,
   * where a full step trace runs to gigabytes.
   */
  traceLevel?: 'steps' | 'peers';
  /**
   * Recompute every client's hand-kept counters after every event and throw on a difference
   * (sim/debug-checks.ts). Default `debugChecks.counters`: on in tests, off in the CLI and the bench.
   * Not part of the trace header.
   */
  checkCounters?: boolean;
  /** Web seeds (BEP 19): HTTP hosts in the torrent's `url-list` (sim/web-seed-host.ts). None by default. */
  webSeeds?: WebSeedHostSpec[];
  /** false: no tracker at all (peers find each other through the DHT, or not at all). Default true. */
  tracker?: boolean;
  /**
   * DHT-only nodes beside the peers (sim/swarm-dht.ts); a swarm with `dht: true` groups has a DHT
   * even with 0. `bogus`, `sybil`, `flood`: misbehaving nodes of each kind (sim/dht-adversary.ts).
   */
  dht?: { nodes: number; bogus?: number; sybil?: number; flood?: number };
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
  trackerInterval: 1_800_000,
};

/** A swarm of `seeds` seeds and `leechers` leechers, the rest as in the default swarm. */
export function swarmOf(seed: string, seeds: number, leechers: number, overrides: Partial<SwarmOptions> = {}): SwarmOptions {
  const [s, l] = defaultSwarm.groups;
  return { ...defaultSwarm, seed, groups: [{ ...s, count: seeds }, { ...l, count: leechers }], ...overrides };
}

export interface PeerReport {
  label: string;
  role: Role;
  joinedAt: number;
  /** Virtual ms at which it held every piece; undefined if it never did. */
  completedAt?: number;
  uploaded: number;
  downloaded: number;
  /** Bytes of blocks it received that it held already (endgame copies, late answers to a CANCEL); 0 for another client. */
  duplicateBytes: number;
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
  role: Role;
  group: PeerGroup;
  behaviour: Behaviour;
  host: SimHost;
  /** The engine (undefined for a malicious peer, which does not run it). */
  client?: Client;
  /** What it holds (the invariant checker reads it); its engine gets it through `storageFaults`. */
  storage: Storage;
  /** The storage fault verbs (disk full, corrupt reads) over `storage`. */
  storageFaults: FaultyStorage;
  joinedAt: number;
  completedAt?: number;
  /** When it left or crashed for good; undefined while it is in the swarm (or never joined). */
  leftAt?: number;
  /** True while its process is down (crashed, not yet restarted). */
  down: boolean;
  /** Its engine's trace goes through here; muted while it is down. */
  traceGate: { open: boolean };
  /** Stops a malicious peer. */
  stopAdversary?: () => void;
  /** Its part in the swarm's DHT while it runs (a `dht: true` group). */
  dht?: DhtMember;
  /** A magnet leecher's metadata fetch while it runs (BEP 9). */
  fetcher?: MetadataFetcher;
}

/** Starts a malicious peer on its host; supplied by sim/adversary.ts. */
export type AdversaryStarter = (behaviour: Behaviour, peer: SimPeer, swarm: Swarm) => { stop(): void };

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
  /** The run's web seeds, when it has any. */
  readonly webSeeds: SimWebSeeds | undefined;
  /** The run's DHT, when a group has `dht: true` or the swarm has DHT-only nodes. */
  readonly dht: SwarmDht | undefined;
  /** The `faults` stream: the fault injector's choices and the network's jitter and loss, in the order they happen. */
  readonly faultRandom: SeededRandom;
  /** SHA1s of payload pieces, computed once for all the peers' shared storages. */
  private readonly payloadDigests = new Map<string, Uint8Array>();
  /** Sees every trace event as it is emitted (the invariant checker's hook). */
  observer: TraceSink | undefined;
  private readonly sink: TraceSink;
  private readonly groupSize = new Map<PeerGroup, number>();
  private running = false;
  private doneDirty = true;
  private doneCache = false;
  /** The debug counter check (sim/debug-checks.ts), when on. */
  private counterCheck: CounterCheck<SimPeer> | undefined;

  constructor(
    readonly options: SwarmOptions,
    private readonly startAdversary?: AdversaryStarter,
  ) {
    const o = options;
    this.root = new SeedRoot(o.seed);
    ({ payload: this.payload, torrent: this.torrent } = swarmPayload(this.root, o));
    ({ trace: this.trace, sink: this.sink } = swarmTrace(o, this.torrent, headerSettings(o), (e) => this.observer?.emit(e)));
    this.faultRandom = this.root.stream('faults');
    if (o.checkCounters ?? debugChecks.counters) {
      this.counterCheck = new CounterCheck<SimPeer>((p) => (p.down ? undefined : p.client), this.sink.steps !== false ? undefined : () => this.peers);
      this.scheduler.afterEach = this.counterCheck.afterEvent;
    }
    // A connection's latency is the mean of its two hosts' (the network's default).
    this.network = new SimNetwork(this.scheduler, undefined, this.faultRandom);
    this.tracker = new SimTracker(this.scheduler, this.root.stream('tracker'), { announceInterval: o.trackerInterval, delay: 50 });
    this.webSeeds = o.webSeeds?.length ? new SimWebSeeds(this.scheduler, this.payload, this.torrent, o.webSeeds) : undefined;
    this.dht =
      o.dht || o.groups.some((g) => g.dht)
        ? new SwarmDht({
            scheduler: this.scheduler,
            root: this.root,
            network: this.network,
            nodes: o.dht?.nodes ?? 0,
            adversaries: o.dht,
            infoHash: this.torrent.infoHash,
            latency: o.latency,
            interval: o.trackerInterval,
            trace: this.sink,
          })
        : undefined;
    for (const g of o.groups) for (let i = 0; i < g.count; i++) this.addPeer(g);
  }

  /** The trace as every component should emit to it. */
  get traceSink(): TraceSink {
    return this.sink;
  }

  /** Adds one more peer to `group` (at build time, or later for churn); it joins at its time. */
  addPeer(group: PeerGroup, joinAt?: number): SimPeer {
    const o = this.options;
    const index = this.groupSize.get(group) ?? 0;
    this.groupSize.set(group, index + 1);
    const label = `${group.prefix}${index}`;
    const address = { host: label, port: 6881 };
    const [lo, hi] = group.latency ?? o.latency;
    const latency = this.root.stream(`latency/${label}`).range(lo, hi);
    const host = this.network.addHost({ label, address, upload: perSecond(group.upload), download: perSecond(group.download), latency });
    const seedRole = group.role === 'seed';
    const storage =
      o.storage === 'copy'
        ? new MemoryStorage(this.payload.length, seedRole ? this.payload.slice() : undefined)
        : new SharedPayloadStorage(this.payload, seedRole, this.payloadDigests);
    const spread = group.joinSpread && group.count > 1 ? (index * group.joinSpread) / group.count : 0;
    const peer: SimPeer = {
      label,
      role: group.role,
      group,
      behaviour: group.behaviour ?? 'honest',
      host,
      storage,
      storageFaults: new FaultyStorage(storage, this.faultRandom),
      joinedAt: joinAt ?? (group.joinAt ?? 0) + spread,
      down: false,
      traceGate: { open: true },
    };
    this.peers.push(peer);
    // Joins of the peers built with the swarm are scheduled by run(), after anything the caller
    // scheduled first (faults at t = 0 must be in place when the first peer starts).
    if (this.running) this.scheduler.at(peer.joinedAt, () => this.start(peer));
    this.doneDirty = true;
    return peer;
  }

  /** Starts (or, after a crash, restarts) a peer's process. */
  private start(peer: SimPeer): void {
    peer.down = false;
    if (!isHonest(peer.behaviour)) {
      if (!this.startAdversary) throw new Error(`swarm: peer ${peer.label} is '${peer.behaviour}', but no adversaries are available`);
      peer.stopAdversary = this.startAdversary(peer.behaviour, peer, this).stop;
      return;
    }
    const restart = peer.client !== undefined;
    const group = peer.group;
    const gate = (peer.traceGate = { open: true });
    const trace: TraceSink = {
      emit: (e) => {
        this.counterCheck?.touch(peer);
        if (gate.open) this.sink.emit(e);
      },
      steps: this.sink.steps,
    };
    const tracker = this.options.tracker === false ? NO_TRACKER : this.tracker.portFor(peer.host.address);
    // Peers found on the DHT go to whatever runs now: the metadata fetch, then the client.
    peer.dht?.leave();
    peer.dht = group.dht
      ? this.dht!.join(
          peer.label,
          peer.host,
          this.torrent.infoHash,
          peer.host.address.port,
          (found) => (peer.fetcher ? peer.fetcher.addPeers(found) : peer.client?.addPeers(found, 'dht')),
          () => ((peer.fetcher ?? peer.client)?.connectionCount ?? 0) > 0,
        )
      : undefined;
    if (group.magnet && group.role === 'leecher' && !restart && !peer.fetcher) {
      peer.fetcher = new MetadataFetcher({
        infoHash: this.torrent.infoHash,
        peerId: makePeerId(this.root.stream(`peer-id/${peer.label}/magnet`)),
        label: peer.label,
        clock: this.scheduler.clockFor(peer.label),
        network: peer.host,
        tracker,
        trace,
        labelOf: (a) => a.host,
        onMetadata: (info) => {
          peer.fetcher = undefined;
          // The fetcher checked it against the info-hash: it is this torrent's info dictionary.
          if (Buffer.compare(info, this.torrent.infoBytes) !== 0) throw new Error(`swarm: ${peer.label} fetched metadata that is not the torrent's`);
          this.startClient(peer, false, trace, tracker);
          // The peers the DHT found while we fetched, and those that dialled the fetch (they listen).
          peer.client?.addPeers(peer.dht?.known ?? [], 'dht');
          peer.client?.addPeers(inbound(), 'user');
        },
      });
      const fetcher = peer.fetcher;
      const inbound = () => fetcher.inboundPeers;
      fetcher.start();
      return;
    }
    this.startClient(peer, restart, trace, tracker);
  }

  private startClient(peer: SimPeer, restart: boolean, trace: TraceSink, tracker: TrackerPort): void {
    const group = peer.group;
    const byBehaviour = behaviourSettings(peer.behaviour as EngineBehaviour, group.upload);
    const storage = peer.storageFaults;
    peer.client = new Client({
      torrent: this.torrent,
      peerId: makePeerId(this.root.stream(`peer-id/${peer.label}${restart ? `/${this.scheduler.now()}` : ''}`)),
      label: peer.label,
      // A restarted peer re-checks what its storage holds, like a real client after a crash.
      initial: restart ? 'check' : group.role === 'seed' ? 'complete' : 'empty',
      // Scenarios use short tracker intervals on purpose (30 s): the simulated tracker is obeyed
      // down to a second, unless the scenario sets its own floor.
      settings: { minAnnounceInterval: SIM_MIN_ANNOUNCE_INTERVAL, ...this.options.settings, ...group.settings, ...byBehaviour },
      labelOf: (a) => a.host,
      ...(this.options.testHooks ? { testHooks: this.options.testHooks } : {}),
      ports: {
        // Its timers carry its label, for the scheduler's stopped-clock guard.
        clock: this.scheduler.clockFor(peer.label),
        random: this.root.stream(`peer/${peer.label}${restart ? `/${this.scheduler.now()}` : ''}`),
        network: peer.host,
        storage,
        tracker,
        trace,
        webSeeds: this.webSeeds,
      },
      events: {
        complete: () => {
          peer.completedAt ??= this.scheduler.now();
          this.doneDirty = true;
          const leave = group.leave;
          if (leave?.when === 'on-complete') this.scheduler.setTimer(leave.linger ?? 0, () => this.leave(peer, 'left on completion'));
        },
      },
    });
    if (peer.client.complete) peer.completedAt ??= this.scheduler.now();
    peer.client.start();
    const leave = group.leave;
    if (!restart && leave?.when === 'after') this.scheduler.at(leave.time, () => this.leave(peer, 'left on schedule'));
  }

  /** The peer leaves for good, saying goodbye (tracker 'stopped', connections closed). */
  leave(peer: SimPeer, reason: string): void {
    if (peer.leftAt !== undefined) return;
    peer.leftAt = this.scheduler.now();
    this.doneDirty = true;
    peer.client?.stop(reason);
    peer.fetcher?.stop(reason);
    peer.dht?.leave();
    peer.stopAdversary?.();
  }

  /** The peer's process dies: no goodbye, connections break, storage stays. */
  crash(peer: SimPeer, restartAfter?: number): void {
    if (peer.down || peer.leftAt !== undefined || !peer.client) return;
    this.sink.emit({ t: this.scheduler.now(), peer: peer.label, kind: 'fault', fault: 'crash', restartAfter });
    peer.client.crash();
    peer.dht?.leave();
    peer.dht = undefined;
    peer.traceGate.open = false;
    peer.down = true;
    this.network.crash(peer.host.address.host);
    if (restartAfter === undefined) {
      peer.leftAt = this.scheduler.now();
      this.doneDirty = true;
      return;
    }
    this.scheduler.setTimer(restartAfter, () => {
      this.network.restart(peer.host.address.host);
      this.sink.emit({ t: this.scheduler.now(), peer: peer.label, kind: 'fault', fault: 'restart' });
      this.start(peer);
    });
  }

  get leechers(): SimPeer[] {
    return this.peers.filter((p) => p.role === 'leecher');
  }

  /** Honest leechers still expected to finish: not malicious, not gone for good. */
  /**
   * True when every honest leecher still in the swarm holds the whole payload. Checked after
   * every event, so it is cached and recomputed only after a completion, join or departure.
   */
  allLeechersDone(): boolean {
    if (this.doneDirty) {
      this.doneDirty = false;
      this.doneCache = this.activeLeechers.every((p) => p.completedAt !== undefined);
    }
    return this.doneCache;
  }

  get activeLeechers(): SimPeer[] {
    return this.peers.filter((p) => p.role === 'leecher' && isHonest(p.behaviour) && p.leftAt === undefined);
  }

  /**
   * Runs until every active leecher completes (and `until` allows), or the time limit.
   * `beforeTraceEnds` runs once the peers have stopped, while the trace still takes events (the
   * scenario runner traces its verdict there, so the hash covers it).
   */
  run(stopWhen?: () => boolean, beforeTraceEnds?: () => void): SwarmResult {
    const allDone = this.begin(stopWhen);
    if (!allDone()) this.scheduler.run(this.options.timeLimit, allDone);
    return this.end(beforeTraceEnds);
  }

  /**
   * As run(), but gives the event loop a turn every `slice.events` events (calling `slice.onSlice`,
   * a progress line), so that a Ctrl-C handler can set what `slice.interrupted` reads; the run then
   * ends there as it would at its time limit. Stopping and resuming between events changes
   * nothing: same seed, same trace.
   */
  async runInSlices(stopWhen: (() => boolean) | undefined, beforeTraceEnds: (() => void) | undefined, slice: RunSlices): Promise<SwarmResult> {
    const allDone = this.begin(stopWhen);
    const events = slice.events ?? DEFAULT_SLICE_EVENTS;
    while (!allDone() && !slice.interrupted()) {
      const end = this.scheduler.executed + events;
      this.scheduler.run(this.options.timeLimit, () => allDone() || this.scheduler.executed >= end);
      // Fewer events than the slice and not done: out of events, or at the time limit.
      if (this.scheduler.executed < end) break;
      slice.onSlice?.(this);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this.end(beforeTraceEnds);
  }

  /** The peers' joins, scheduled once the caller has scheduled its own events; the stop test. */
  private begin(stopWhen?: () => boolean): () => boolean {
    this.running = true;
    for (const p of this.peers) this.scheduler.at(p.joinedAt, () => this.start(p));
    return stopWhen ?? (() => this.allLeechersDone());
  }

  private end(beforeTraceEnds?: () => void): SwarmResult {
    const simTime = this.scheduler.now();
    // The run is over: every peer still up stops (this is not a departure, so leftAt stays).
    for (const p of this.peers) {
      if (p.down || p.leftAt !== undefined) continue;
      p.client?.stop('run ended');
      p.fetcher?.stop('run ended');
      p.dht?.leave();
      p.stopAdversary?.();
    }
    beforeTraceEnds?.();
    const peers = this.peers.map((p) => ({
      label: p.label,
      role: p.role,
      joinedAt: p.joinedAt,
      completedAt: p.completedAt,
      uploaded: p.client?.uploaded ?? 0,
      downloaded: p.client?.downloaded ?? 0,
      duplicateBytes: p.client?.duplicateBytes ?? 0,
      payloadMatches: Buffer.compare(p.storage.read(0, this.payload.length), this.payload) === 0,
    }));
    const t = this.torrent;
    return {
      seed: this.options.seed,
      complete: this.peers.every((p) => p.role === 'seed' || !isHonest(p.behaviour) || (p.completedAt !== undefined && peers[this.peers.indexOf(p)].payloadMatches)),
      simTime,
      peers,
      events: this.scheduler.executed,
      traceEvents: this.trace.events,
      traceHash: this.trace.finish(),
      torrent: { name: t.name, length: t.length, pieceLength: t.pieceLength, pieceCount: t.pieceCount, infoHashHex: t.infoHashHex },
    };
  }
}



/** How Swarm.runInSlices hands the event loop a turn. */
export interface RunSlices {
  /** Read between slices: true ends the run there. */
  interrupted: () => boolean;
  /** Events per slice (default DEFAULT_SLICE_EVENTS). */
  events?: number;
  /** Between slices: the swarm as it stands (a progress line). */
  onSlice?: (swarm: Swarm) => void;
}

/** About a tenth of a second of a large swarm's events. */
export const DEFAULT_SLICE_EVENTS = 50_000;

/**
 * The run's trace (both transports): the header (`settings` as given), and the sink every
 * component emits to, which drops steps for a peer-level trace and shows each event to `observe`.
 */
export function swarmTrace(o: SwarmOptions, torrent: Torrent, settings: Record<string, unknown>, observe: (e: TraceEvent) => void): { trace: TraceWriter; sink: TraceSink } {
  const trace = new TraceWriter(
    {
      seed: o.seed,
      engine: ENGINE_VERSION,
      settings,
      torrent: { name: torrent.name, length: torrent.length, pieceLength: torrent.pieceLength, pieces: torrent.pieceCount, infoHash: torrent.infoHashHex },
    },
    o.traceOut,
  );
  const stepsToo = (o.traceLevel ?? 'steps') === 'steps';
  const sink: TraceSink = {
    steps: stepsToo,
    emit: (e) => {
      if (stepsToo || (e.kind !== 'step' && e.kind !== 'state')) trace.emit(e);
      observe(e);
    },
  };
  return { trace, sink };
}

/** The run's payload, drawn from the seed's `payload` stream, and its torrent (both transports). */
export function swarmPayload(root: SeedRoot, o: Pick<SwarmOptions, 'size' | 'pieceLength' | 'files' | 'webSeeds'>, announce?: string): { payload: Uint8Array; torrent: Torrent; bytes: Uint8Array } {
  const payload = root.stream('payload').bytes(o.size);
  return { payload, ...torrentOf(payload, o, announce) };
}

/** The run's torrent of `payload`; with `announce`, the .torrent another client is given. */
export function torrentOf(payload: Uint8Array, o: Pick<SwarmOptions, 'pieceLength' | 'files' | 'webSeeds'>, announce?: string): { torrent: Torrent; bytes: Uint8Array } {
  // Web seeds only when the run has some: the torrent (and its info-hash) of every other run stays as it was.
  const urlList = (o.webSeeds ?? []).map((_, i) => simWebSeedUrl(i));
  return createTorrent({ name: 'payload', pieceLength: o.pieceLength, files: splitFiles(payload, o.files ?? 1), ...(announce ? { announce: [[announce]] } : {}), ...(urlList.length ? { urlList } : {}) });
}

/** Splits the payload into `count` files of near-equal size (views, no copies). */
function splitFiles(payload: Uint8Array, count: number): Uint8Array | { path: string[]; data: Uint8Array }[] {
  if (count <= 1) return payload;
  const size = Math.ceil(payload.length / count);
  return Array.from({ length: count }, (_, i) => ({
    path: [`dir${Math.floor(i / 10)}`, `file${i}.bin`],
    data: payload.subarray(i * size, Math.min(payload.length, (i + 1) * size)),
  }));
}

/**
 * The run's options as the trace header records them. Trace version 1 gives the announce interval
 * in seconds (as trackers say it), so it stays so: the same run keeps the same trace and hash.
 */
function headerSettings(o: SwarmOptions): Record<string, unknown> {
  return { ...o, trackerInterval: o.trackerInterval / 1_000, traceOut: undefined, checkCounters: undefined, groups: o.groups.map((g) => ({ ...g })) };
}

export function runSwarm(options: SwarmOptions): SwarmResult {
  return new Swarm(options).run();
}
