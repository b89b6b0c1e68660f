// The swarm of a TCP run: every peer on its own loopback address, every connection through the
// relay (relay.ts), the loopback tracker (tracker-server.ts), real time (real-time.ts). Swarmlab's
// peers are the engine on live mode's TcpNetwork; a group may instead be another client
// (clients/). It offers the fault injector and the judges the same surface as the in-memory
// `Swarm` (sim/swarm.ts), so one scenario file runs on both transports with the same schedule.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../engine/client.ts';
import { MemoryStorage } from '../../engine/memory-storage.ts';
import type { Torrent } from '../../engine/metainfo.ts';
import { makePeerId } from '../../engine/peer-id.ts';
import type { PeerAddress, Storage } from '../../engine/ports.ts';
import type { TraceEvent, TraceSink } from '../../engine/trace.ts';
import { TraceWriter } from '../../engine/trace-writer.ts';
import { LIVE_SETTINGS } from '../../live/session.ts';
import { TcpNetwork } from '../../live/tcp-network.ts';
import type { EngineSettings } from '../../engine/settings.ts';
import { Trackers } from '../../live/trackers.ts';
import { startAdversary, isAdversaryBehaviour } from '../adversary.ts';
import { type Behaviour, behaviourSettings, type EngineBehaviour, isHonest, type Role } from '../behaviours.ts';
import { SeedRoot, type SeededRandom } from '../random.ts';
import type { FaultTarget } from '../scenario/faults.ts';
import type { ExternalClient } from '../scenario/types.ts';
import { FaultyStorage } from '../storage-faults.ts';
import { type PeerGroup, swarmPayload, type SwarmOptions, swarmTrace, torrentOf } from '../swarm.ts';
import { SIM_MIN_ANNOUNCE_INTERVAL } from '../tracker.ts';
import { claimBlock, hostAddress, PRIVATE_PORT, PUBLIC_PORT, trackerAddress } from './addresses.ts';
import { type RunningClient, startClient } from './clients/index.ts';
import { RealTimeScheduler } from './real-time.ts';
import { type RelayConnection, TcpRelay } from './relay.ts';
import { LoopbackTracker } from './tracker-server.ts';

/**
 * What swarmlab's peers on TCP take from live mode, under the scenario's own settings: other
 * clients are real, and aria2 sends a second BITFIELD mid-connection (a BEP 3 fault the wire
 * checker reports) — live mode merges it as HAVEs instead of dropping aria2. Swarmlab's own peers
 * never send one, so a swarm of them runs as in memory.
 */
const TCP_PEER_SETTINGS: Partial<EngineSettings> = { lateBitfield: LIVE_SETTINGS.lateBitfield };

/** The tracker's reply delay on TCP (ms), as the simulated tracker's. */
const TRACKER_DELAY = 50;
/** How often another client is asked whether it has completed (ms). */
const CLIENT_POLL = 500;

export interface TcpSwarmOptions extends SwarmOptions {
  /** The groups another client plays, by group. */
  clients: ReadonlyMap<PeerGroup, ExternalClient>;
  /** The run's folder: each peer's data and each client's logs (`<label>/`). */
  workDir: string;
  /** Told of what a run's parts log (a client's start, a tracker's error). */
  log?: (line: string) => void;
}

export interface TcpPeer {
  readonly label: string;
  readonly role: Role;
  readonly group: PeerGroup;
  readonly behaviour: Behaviour;
  /** Its loopback address: the relay's listener for it, what the tracker hands out. */
  readonly host: { readonly address: PeerAddress };
  readonly ip: string;
  /** Resolves once the relay listens at its address. */
  readonly bound: Promise<void>;
  /** Set for a group another client plays. */
  readonly external?: ExternalClient;
  running?: RunningClient;
  client?: Client;
  network?: TcpNetwork;
  trackers?: Trackers;
  storage?: Storage;
  storageFaults?: FaultyStorage;
  joinedAt: number;
  completedAt?: number;
  leftAt?: number;
  down: boolean;
  traceGate: { open: boolean };
  stopAdversary?: () => void;
  /** Bytes the relay carried from it and to it (another client's up and down). */
  sentBytes: number;
  receivedBytes: number;
  /** Its data folder (another client's download or seed folder). */
  readonly dir: string;
}

export class TcpSwarm implements FaultTarget<TcpPeer> {
  readonly root: SeedRoot;
  readonly payload: Uint8Array;
  readonly torrent: Torrent;
  readonly trace: TraceWriter;
  readonly peers: TcpPeer[] = [];
  readonly faultRandom: SeededRandom;
  observer: TraceSink | undefined;
  /** Problems that end the run early (a client that exited, a timer that threw). */
  readonly crashes: { peer?: string; message: string }[] = [];
  private readonly sink: TraceSink;
  private readonly groupSize = new Map<PeerGroup, number>();
  private readonly byIp = new Map<string, TcpPeer>();
  private running = false;
  private polls: NodeJS.Timeout | undefined;

  /** The relay: every connection crosses it, every network fault is its verb. */
  network!: TcpRelay;

  private constructor(
    readonly options: TcpSwarmOptions,
    readonly block: number,
    readonly scheduler: RealTimeScheduler,
    readonly tracker: LoopbackTracker,
  ) {
    const o = options;
    this.root = new SeedRoot(o.seed);
    ({ payload: this.payload, torrent: this.torrent } = swarmPayload(this.root, o));
    this.faultRandom = this.root.stream('faults');
    const settings = { ...o, transport: 'tcp', replayable: false, clients: undefined, workDir: undefined, log: undefined, traceOut: undefined, checkCounters: undefined, trackerInterval: o.trackerInterval / 1_000, groups: o.groups.map((g) => ({ ...g, client: o.clients.get(g) })) };
    ({ trace: this.trace, sink: this.sink } = swarmTrace(o, this.torrent, settings, (e) => this.observer?.emit(e)));
    this.scheduler.onError = (err) => this.crashes.push({ message: `internal error in a timer: ${(err as Error)?.stack ?? String(err)}` });
  }

  /**
   * Claims a loopback block (the seed's, or the next free one: another run may hold it) and binds
   * the tracker's and every host's address in it.
   */
  static async create(options: TcpSwarmOptions): Promise<TcpSwarm> {
    const { value } = await claimBlock(options.seed, (block) => TcpSwarm.bind(options, block));
    return value;
  }

  private static async bind(options: TcpSwarmOptions, block: number): Promise<TcpSwarm> {
    const root = new SeedRoot(options.seed);
    const scheduler = new RealTimeScheduler();
    let swarm: TcpSwarm | undefined;
    // The tracker first: its address claims the block.
    const tracker = await LoopbackTracker.create({
      ip: trackerAddress(block),
      random: root.stream('tracker'),
      announceInterval: options.trackerInterval,
      delay: TRACKER_DELAY,
      addressOf: (label) => {
        const ip = swarm?.ipByLabel.get(label);
        return ip === undefined ? undefined : { host: ip, port: PUBLIC_PORT };
      },
      labelOfIp: (ip) => swarm?.byIp.get(ip)?.label,
      log: options.log,
    });
    let relay: TcpRelay | undefined;
    try {
      // Jitter and loss draw from the `faults` stream, as in memory (one object: the swarm's).
      swarm = new TcpSwarm(options, block, scheduler, tracker);
      relay = await TcpRelay.create({ random: swarm.faultRandom, clock: scheduler, log: options.log });
      swarm.network = relay;
      swarm.watchRelay();
      for (const g of options.groups) for (let i = 0; i < g.count; i++) swarm.addPeer(g);
      await Promise.all(swarm.peers.map((p) => p.bound));
      return swarm;
    } catch (err) {
      await relay?.close();
      await tracker.close();
      throw err;
    }
  }

  get traceSink(): TraceSink {
    return this.sink;
  }

  /**
   * What the relay sees, for what swarmlab cannot ask another client: the bytes it sent and got,
   * and its connections (`connect` and `disconnect` events in its name, as the engine's own).
   */
  private watchRelay(): void {
    const ends = (c: RelayConnection) => [this.byIp.get(c.dialer), this.byIp.get(c.listener)] as const;
    this.network.tap({
      sent: (c, from, bytes) => {
        const [dialer, listener] = ends(c);
        const [sender, receiver] = from === c.dialer ? [dialer, listener] : [listener, dialer];
        if (sender) sender.sentBytes += bytes.length;
        if (receiver) receiver.receivedBytes += bytes.length;
      },
      delivered: () => {},
      opened: (c, t) => {
        const [dialer, listener] = ends(c);
        if (dialer?.external !== undefined) this.sink.emit({ t, peer: dialer.label, remote: listener?.label ?? c.listener, kind: 'connect', inbound: false });
        if (listener?.external !== undefined) this.sink.emit({ t, peer: listener.label, remote: dialer?.label ?? c.dialer, kind: 'connect', inbound: true });
      },
      closed: (c, t, reason) => {
        const [dialer, listener] = ends(c);
        if (dialer?.external !== undefined) this.sink.emit({ t, peer: dialer.label, remote: listener?.label ?? c.listener, kind: 'disconnect', reason });
        if (listener?.external !== undefined) this.sink.emit({ t, peer: listener.label, remote: dialer?.label ?? c.dialer, kind: 'disconnect', reason });
      },
    });
  }

  /** True when the peer labelled so is another client. */
  isExternal(label: string): boolean {
    return this.peers.some((p) => p.label === label && p.external !== undefined);
  }

  /** The peer at a loopback IP (a connection's end), if it is one of the run's. */
  peerAt(ip: string): TcpPeer | undefined {
    return this.byIp.get(ip);
  }

  /** Peers by label → their IP: what the tracker hands out. */
  private readonly ipByLabel = new Map<string, string>();

  /**
   * One more peer of `group` (at build time, or for churn), joining at `joinAt` or its group's
   * time. The record is made at once (the injector names it); its relay listener is bound in the
   * background and its start waits for that.
   */
  addPeer(group: PeerGroup, joinAt?: number): TcpPeer {
    const o = this.options;
    const index = this.groupSize.get(group) ?? 0;
    this.groupSize.set(group, index + 1);
    const label = `${group.prefix}${index}`;
    const ip = hostAddress(this.block, this.peers.length);
    const [lo, hi] = group.latency ?? o.latency;
    const latency = this.root.stream(`latency/${label}`).range(lo, hi);
    const external = o.clients.get(group);
    const spread = group.joinSpread && group.count > 1 ? (index * group.joinSpread) / group.count : 0;
    const peer: TcpPeer = {
      label,
      role: group.role,
      group,
      behaviour: group.behaviour ?? 'honest',
      host: { address: { host: ip, port: PUBLIC_PORT } },
      ip,
      ...(external !== undefined ? { external } : {}),
      bound: this.network.addHost({ name: ip, upload: group.upload, download: group.download, latency }),
      joinedAt: joinAt ?? (group.joinAt ?? 0) + spread,
      down: false,
      traceGate: { open: true },
      sentBytes: 0,
      receivedBytes: 0,
      dir: join(o.workDir, label),
    };
    // A failed bind is reported by `create` (at build time) or by the peer's start (churn).
    peer.bound.catch(() => {});
    if (external === undefined && isHonest(peer.behaviour)) {
      const storage = new MemoryStorage(this.payload.length, group.role === 'seed' ? this.payload.slice() : undefined);
      peer.storage = storage;
      peer.storageFaults = new FaultyStorage(storage, this.faultRandom);
    }
    this.ipByLabel.set(label, ip);
    this.byIp.set(ip, peer);
    this.peers.push(peer);
    if (this.running) this.scheduler.at(peer.joinedAt, () => void this.start(peer));
    return peer;
  }

  /** Starts (or restarts) a peer's process. */
  private async start(peer: TcpPeer): Promise<void> {
    if (peer.leftAt !== undefined) return;
    peer.down = false;
    try {
      await peer.bound;
      if (peer.external !== undefined) await this.startExternal(peer);
      else if (!isHonest(peer.behaviour)) await this.startMalicious(peer);
      else await this.startEngine(peer);
    } catch (err) {
      this.crashes.push({ peer: peer.label, message: (err as Error).message });
    }
  }

  private async startEngine(peer: TcpPeer): Promise<void> {
    const restart = peer.client !== undefined;
    const group = peer.group;
    const gate = (peer.traceGate = { open: true });
    const network = (peer.network = await TcpNetwork.create({ host: peer.ip, port: PRIVATE_PORT, localAddress: peer.ip, onError: (e) => this.options.log?.(`${peer.label}: ${(e as Error).message}`) }));
    const trackers = (peer.trackers = new Trackers([[this.tracker.urlFor(peer.label)]], { log: (l) => this.options.log?.(`${peer.label}: ${l}`) }));
    const byBehaviour = behaviourSettings(peer.behaviour as EngineBehaviour, group.upload);
    const now = Math.round(this.scheduler.now());
    peer.client = new Client({
      torrent: this.torrent,
      peerId: makePeerId(this.root.stream(`peer-id/${peer.label}${restart ? `/${now}` : ''}`)),
      label: peer.label,
      initial: restart ? 'check' : group.role === 'seed' ? 'complete' : 'empty',
      settings: { minAnnounceInterval: SIM_MIN_ANNOUNCE_INTERVAL, ...TCP_PEER_SETTINGS, ...this.options.settings, ...group.settings, ...byBehaviour },
      // Connections and bans are named by the peer behind the address, as in memory: the relay
      // gives every host one IP, so the IP names the peer.
      labelOf: (a) => this.labelOfAddress(a),
      banKeyOf: (a) => this.labelOfAddress(a),
      ports: {
        clock: this.scheduler,
        random: this.root.stream(`peer/${peer.label}${restart ? `/${now}` : ''}`),
        network,
        storage: peer.storageFaults!,
        tracker: trackers,
        trace: { emit: (e) => gate.open && this.sink.emit(e), steps: this.sink.steps },
      },
      events: {
        complete: () => {
          peer.completedAt ??= this.scheduler.now();
          const leave = group.leave;
          if (leave?.when === 'on-complete') this.scheduler.setTimer(leave.linger ?? 0, () => this.leave(peer, 'left on completion'));
        },
      },
    });
    if (peer.client.complete) peer.completedAt ??= this.scheduler.now();
    peer.client.start();
    this.scheduleLeave(peer, restart);
  }

  private async startMalicious(peer: TcpPeer): Promise<void> {
    if (!isAdversaryBehaviour(peer.behaviour)) throw new Error(`${peer.label}: '${peer.behaviour}' is not a malicious behaviour`);
    const network = (peer.network = await TcpNetwork.create({ host: peer.ip, port: PRIVATE_PORT, localAddress: peer.ip }));
    const trackers = (peer.trackers = new Trackers([[this.tracker.urlFor(peer.label)]]));
    const adversary = startAdversary(peer.behaviour, {
      label: peer.label,
      host: network,
      scheduler: this.scheduler,
      random: this.root.stream(`peer/${peer.label}`),
      torrent: this.torrent,
      payload: this.payload,
      tracker: trackers,
      trace: this.sink,
      peerId: makePeerId(this.root.stream(`peer-id/${peer.label}`), 'XX'),
    });
    peer.stopAdversary = () => adversary.stop();
    this.scheduleLeave(peer, false);
  }

  private async startExternal(peer: TcpPeer): Promise<void> {
    const workDir = join(this.options.workDir, `${peer.label}.client`);
    mkdirSync(peer.dir, { recursive: true });
    mkdirSync(workDir, { recursive: true });
    const url = this.tracker.urlFor(peer.label);
    const { bytes } = torrentOf(this.payload, this.options, url);
    const torrentFile = join(workDir, `${peer.label}.torrent`);
    writeFileSync(torrentFile, bytes);
    if (peer.role === 'seed') writePayload(peer.dir, this.torrent, this.payload);
    this.sink.emit({ t: this.scheduler.now(), peer: peer.label, kind: 'join', role: peer.role, pieces: peer.role === 'seed' ? this.torrent.pieceCount : 0, client: clientName(peer.external!) });
    peer.running = await startClient(peer.external!, {
      label: peer.label,
      role: peer.role,
      ip: peer.ip,
      port: PRIVATE_PORT,
      torrentFile,
      trackerUrl: url,
      dataDir: peer.dir,
      workDir,
      torrent: this.torrent,
      payload: this.payload,
    });
    if (peer.role === 'seed') peer.completedAt = this.scheduler.now();
    void peer.running.exited.then(({ code, signal }) => {
      if (peer.leftAt !== undefined || !this.running) return;
      const tail = peer.running?.stderrTail(5).trim();
      this.crashes.push({ peer: peer.label, message: `${peer.label} (${clientName(peer.external!)}) exited with ${signal ?? `code ${code}`} during the run${tail ? `: ${tail.split('\n').pop()}` : ''}` });
    });
    this.scheduleLeave(peer, false);
  }

  private scheduleLeave(peer: TcpPeer, restart: boolean): void {
    const leave = peer.group.leave;
    if (!restart && leave?.when === 'after') this.scheduler.at(leave.time, () => this.leave(peer, 'left on schedule'));
  }

  private labelOfAddress(a: PeerAddress): string {
    return this.byIp.get(a.host)?.label ?? `${a.host}:${a.port}`;
  }

  /** Asks each other client that has not completed whether it has; one question at a time. */
  private pollClients(): void {
    let busy = false;
    this.polls = setInterval(() => {
      if (busy) return;
      busy = true;
      const waiting = this.peers.filter((p) => p.running && p.role === 'leecher' && p.completedAt === undefined && p.leftAt === undefined);
      void Promise.all(
        waiting.map(async (p) => {
          if (await p.running!.complete().catch(() => false)) {
            p.completedAt ??= this.scheduler.now();
            this.sink.emit({ t: p.completedAt, peer: p.label, kind: 'complete' });
          }
        }),
      ).finally(() => (busy = false));
    }, CLIENT_POLL);
  }

  leave(peer: TcpPeer, reason: string): void {
    if (peer.leftAt !== undefined) return;
    peer.leftAt = this.scheduler.now();
    this.stopPeer(peer, reason);
  }

  private stopPeer(peer: TcpPeer, reason: string): void {
    try {
      peer.client?.stop(reason);
    } catch (err) {
      this.crashes.push({ peer: peer.label, message: `stopping: ${(err as Error).message}` });
    }
    peer.stopAdversary?.();
    if (peer.running) {
      this.sink.emit({ t: this.scheduler.now(), peer: peer.label, kind: 'leave', reason });
      void peer.running.stop();
    }
    const net = peer.network;
    const trackers = peer.trackers;
    peer.network = undefined;
    peer.trackers = undefined;
    void trackers?.settle(500).then(() => trackers.close());
    void net?.close(200);
  }

  /** The peer's process dies: no goodbye, its connections reset, storage kept (swarmlab peers only). */
  crash(peer: TcpPeer, restartAfter?: number): void {
    if (peer.down || peer.leftAt !== undefined || !peer.client) return;
    this.sink.emit({ t: this.scheduler.now(), peer: peer.label, kind: 'fault', fault: 'crash', restartAfter });
    peer.client.crash();
    peer.traceGate.open = false;
    peer.down = true;
    this.network.crash(peer.ip);
    const net = peer.network;
    peer.network = undefined;
    peer.trackers?.close();
    peer.trackers = undefined;
    void net?.close(0);
    if (restartAfter === undefined) {
      peer.leftAt = this.scheduler.now();
      return;
    }
    this.scheduler.setTimer(restartAfter, () => {
      this.sink.emit({ t: this.scheduler.now(), peer: peer.label, kind: 'fault', fault: 'restart' });
      // Its software listens again before the relay lets the dials held meanwhile through.
      void this.start(peer).then(() => this.network.restart(peer.ip));
    });
  }

  get activeLeechers(): TcpPeer[] {
    return this.peers.filter((p) => p.role === 'leecher' && isHonest(p.behaviour) && p.leftAt === undefined);
  }

  allLeechersDone(): boolean {
    return this.activeLeechers.every((p) => p.completedAt !== undefined);
  }

  /**
   * Runs in real time until `stopWhen` holds (checked every 100 ms), a peer crashes swarmlab, or the
   * time limit passes; then stops every peer, client, socket and timer. `beforeTraceEnds` runs once
   * everything has stopped and before the trace's hash line, so the verdict can be traced.
   */
  async run(stopWhen: () => boolean, beforeTraceEnds?: (simTime: number) => Promise<void>): Promise<{ simTime: number; traceHash: string; traceEvents: number }> {
    this.running = true;
    for (const p of this.peers) this.scheduler.at(p.joinedAt, () => void this.start(p));
    this.pollClients();
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.crashes.length > 0 || this.scheduler.now() >= this.options.timeLimit || stopWhen()) {
          clearInterval(check);
          resolve();
        }
      }, 100);
    });
    const simTime = this.scheduler.now();
    await this.close();
    await beforeTraceEnds?.(simTime);
    return { simTime, traceHash: this.trace.finish(), traceEvents: this.trace.events };
  }

  /** Stops everything the run started; safe to call twice. */
  async close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async closeAll(): Promise<void> {
    this.running = false;
    clearInterval(this.polls);
    for (const p of this.peers) if (!p.down && p.leftAt === undefined) this.stopPeer(p, 'run ended');
    this.scheduler.stop();
    await Promise.all(this.peers.map((p) => p.running?.stop()));
    await Promise.all(this.peers.map((p) => p.network?.close(200)));
    await this.network.close();
    await this.tracker.close();
  }
}

/** A client's name for messages and the trace. */
export function clientName(c: ExternalClient): string {
  return typeof c === 'string' ? c : (c.command[0] ?? 'command');
}

/** Writes the payload as the torrent's files under `dir` (another client's seed data). */
function writePayload(dir: string, torrent: Torrent, payload: Uint8Array): void {
  for (const f of torrent.files) {
    const path = join(dir, ...(torrent.multiFile ? [torrent.name, ...f.path] : [torrent.name]));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, payload.subarray(f.offset, f.offset + f.length));
  }
}

export type { TraceEvent };
