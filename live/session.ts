// One torrent in live mode: the engine's Client wired to real ports (TCP, clock, files, trackers,
// crypto randomness), and the metadata fetch that turns a magnet link into a torrent first.

import { Client } from '../engine/client.ts';
import { MetadataFetcher } from '../engine/metadata-fetcher.ts';
import { parseInfo, type Torrent, type TorrentInfo } from '../engine/metainfo.ts';
import type { PeerAddress } from '../engine/ports.ts';
import { type EngineSettings, resolveSettings } from '../engine/settings.ts';
import { nullTrace, type TraceSink } from '../engine/trace.ts';
import { RealClock } from './clock.ts';
import type { LiveDht, Tracking } from './dht.ts';
import { describeError } from './io-errors.ts';
import { FileStorage } from './file-storage.ts';
import { CryptoRandom, livePeerId } from './random.ts';
import { TcpNetwork } from './tcp-network.ts';
import { Trackers } from './trackers.ts';
import { HttpWebSeeds } from './web-seed-http.ts';

/** Live mode speaks BEP 6 and BEP 10 and keeps a deeper send queue than the simulator. */
export const LIVE_SETTINGS: Partial<EngineSettings> = {
  fastExtension: true,
  extensionProtocol: true,
  maxSendQueue: 16,
  hiWatermark: 160,
  loWatermark: 48,
  // Real peers are few and often named on purpose: dial a failed one again soon (2 s, doubling).
  retryDelay: 1_000,
  // aria2 sends a BITFIELD after HAVE NONE and some HAVEs: take it as HAVEs.
  lateBitfield: 'merge',
  // A step off the flowchart is a `violation` event in the trace, not a dropped real peer.
  offChartSteps: 'record',
  // BEP 11 PEX over BEP 10 (the default, said here for the reader): real swarms exchange peers.
  pex: true,
};

/**
 * How long a stopping session waits for the trackers to take `stopped` (ms): libtorrent's
 * `stop_tracker_timeout`, 1 s, "shorter, to make the client quit faster". It keeps Ctrl-C well
 * inside its 3 s budget, the sockets closing meanwhile.
 */
export const STOP_TRACKER_WAIT = 1_000;

export interface SessionOptions {
  torrent: Torrent;
  dir: string;
  network: TcpNetwork;
  clock?: RealClock;
  peerId?: Uint8Array;
  peers?: PeerAddress[];
  initial?: 'empty' | 'complete' | 'check' | 'auto';
  trace?: TraceSink;
  log?: (line: string) => void;
  settings?: Partial<EngineSettings>;
  label?: string;
  onComplete?: () => void;
  onHashFail?: (index: number) => void;
  /** The session stopped because storage failed; `message` names the file and the cause. Also `storageFailure`. */
  onStorageFailed?: (message: string) => void;
  /** The DHT (BEP 5): peers of the torrent looked up there, and our listening port announced, again every interval. Not closed by the session. */
  dht?: LiveDht;
}

export class LiveSession {
  readonly client: Client;
  readonly storage: FileStorage;
  readonly trackers: Trackers;
  /** HTTP for the torrent's web seeds (BEP 19), when it lists any. */
  readonly webSeeds: HttpWebSeeds | undefined;
  readonly clock: RealClock;
  readonly startedAt = Date.now();
  /**
   * Resolves with the error when a write (or the final trim) fails: the session then stops by
   * itself, as a real disk that is full, read-only or in the way rarely heals, and retrying would
   * stall silently. Never rejects; stays pending while storage works.
   */
  readonly storageFailure: Promise<string>;
  private stopped?: Promise<void>;
  private dhtTracking: Tracking | undefined;
  private failStorage: (message: string) => void = () => {};

  constructor(readonly o: SessionOptions) {
    const log = o.log ?? (() => {});
    this.clock = o.clock ?? new RealClock();
    this.clock.onError ??= (err) => log(`internal error in a timer: ${describeError(err)}`);
    this.storage = new FileStorage(o.dir, o.torrent, { log });
    // A link or a file in the way is an error now, not a stall at the first block.
    this.storage.checkDisk();
    let failed = false;
    this.storageFailure = new Promise<string>((resolve) => {
      this.failStorage = (message) => {
        if (failed) return;
        failed = true;
        resolve(message);
        o.onStorageFailed?.(message);
        // After the engine's handler that reported it has returned.
        queueMicrotask(() => void this.stop(`storage failed: ${message}`));
      };
    });
    this.trackers = new Trackers(o.torrent.announce, { log });
    const settings = { ...LIVE_SETTINGS, ...o.settings };
    const checked = resolveSettings(settings);
    this.webSeeds = o.torrent.urlList?.length ? new HttpWebSeeds({ timeout: checked.webSeedTimeout, maxRedirects: checked.webSeedMaxRedirects }) : undefined;
    const initial = o.initial === 'auto' || o.initial === undefined ? (this.storage.anyOnDisk() ? 'check' : 'empty') : o.initial;
    this.client = new Client({
      torrent: o.torrent,
      peerId: o.peerId ?? livePeerId(),
      label: o.label ?? 'local',
      initial,
      settings,
      // A connection is host:port (labelOf's default); bans, trust and the per-IP limit follow the IP.
      banKeyOf: (address) => address.host,
      ports: {
        clock: this.clock,
        random: new CryptoRandom(),
        network: o.network,
        storage: this.storage,
        tracker: this.trackers,
        trace: o.trace ?? nullTrace,
        webSeeds: this.webSeeds,
      },
      events: {
        complete: () => {
          try {
            this.storage.finish();
          } catch (err) {
            this.failStorage((err as Error).message);
            return;
          }
          o.onComplete?.();
        },
        hashFailed: (index, from) => {
          log(`piece ${index} failed its SHA1 check (from ${from.join(', ')})`);
          o.onHashFail?.(index);
        },
        banned: (remote, reason) => log(`banned ${remote}: ${reason}`),
        storageFailed: (message) => this.failStorage(message),
        webSeedChanged: (url, change) =>
          log(change.state === 'retired' ? `web seed ${url} retired: ${String(change.reason)}` : `web seed ${url} failed (${String(change.error)}); retrying in ${Number(change.retryIn) / 1000} s`),
      },
    });
  }

  start(): void {
    this.client.start();
    for (const p of this.o.peers ?? []) this.client.addPeer(p);
    // Once listening (the network is bound before the session is made): our port goes to the DHT.
    this.dhtTracking = this.o.dht?.track(this.o.torrent.infoHash, (peers) => this.client.addPeers(peers, 'dht'), this.o.network.localAddress.port);
  }

  /**
   * Pauses the torrent (announce `stopped`, connections closed, verified pieces kept, no DHT
   * lookups) or resumes it (announce `started`, a DHT lookup, no re-check). Returns true when it is
   * now paused.
   */
  togglePause(): boolean {
    if (this.client.paused) {
      this.client.resume();
      this.dhtTracking?.resume();
    } else {
      this.client.pause();
      this.dhtTracking?.pause();
    }
    return this.client.paused;
  }

  /**
   * Leaves cleanly and quickly: tells the trackers `stopped` while the sockets close, waits up to
   * `trackerWait` ms for them (then cuts off every tracker request still in flight, so a tracker
   * that never answers cannot hold the process), flushes and closes the files. Once: a second call
   * (the driver's, after a storage failure stopped us) waits for the first.
   */
  stop(reason = 'stopped', trackerWait = STOP_TRACKER_WAIT): Promise<void> {
    this.stopped ??= this.leave(reason, trackerWait);
    return this.stopped;
  }

  private async leave(reason: string, trackerWait: number): Promise<void> {
    this.dhtTracking?.stop();
    try {
      this.client.stop(reason);
    } catch (err) {
      this.o.log?.(`internal error while stopping: ${describeError(err)}`);
    }
    this.webSeeds?.close();
    const closing = this.o.network.close();
    await this.trackers.settle(trackerWait);
    this.trackers.close();
    try {
      this.storage.flush();
    } catch {
      // nothing more to do on the way out
    }
    this.storage.close();
    await closing;
  }

  stats() {
    const c = this.client;
    const pieces = c.pieces;
    let received = 0;
    for (const p of c.connections()) received += p.downloaded;
    return {
      have: pieces.have.count,
      pieces: pieces.layout.pieceCount,
      length: pieces.layout.length,
      left: pieces.left,
      downloaded: c.downloaded,
      uploaded: c.uploaded,
      peers: c.connectionCount,
      complete: c.complete,
      paused: c.paused,
      received,
    };
  }
}

export interface FetchOptions {
  infoHash: Uint8Array;
  trackers: string[];
  peers: PeerAddress[];
  network: TcpNetwork;
  clock: RealClock;
  peerId: Uint8Array;
  trace?: TraceSink;
  log?: (line: string) => void;
  /** Give up after this long (ms, default: never). */
  timeout?: number;
  /** The DHT (BEP 5): the info-hash's peers are looked up there too (a magnet link without trackers needs it). */
  dht?: LiveDht;
}

/**
 * Resolves a magnet link's info dictionary over BEP 9; returns it parsed. The fetcher dials the
 * peers, the trackers' peers and the DHT's (given `dht`), and accepts connections on `network` (a seed that dials us);
 * `inboundPeers()` are the listening addresses of those that dialled us, for the download to dial.
 */
export function fetchMetadata(o: FetchOptions): { result: Promise<TorrentInfo>; cancel(): void; inboundPeers(): PeerAddress[] } {
  let fetcher: MetadataFetcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let dhtTracking: Tracking | undefined;
  const trackers = new Trackers(o.trackers.map((t) => [t]), { log: o.log });
  // Once the fetch is over, the trackers get a moment for `stopped`, then their requests are cut off.
  const closeTrackers = () => {
    dhtTracking?.stop();
    void trackers.settle(STOP_TRACKER_WAIT).then(() => trackers.close());
  };
  const result = new Promise<TorrentInfo>((resolve, reject) => {
    fetcher = new MetadataFetcher({
      infoHash: o.infoHash,
      peerId: o.peerId,
      label: 'local',
      clock: o.clock,
      network: o.network,
      tracker: trackers,
      trace: o.trace ?? nullTrace,
      offChartSteps: LIVE_SETTINGS.offChartSteps,
      onMetadata: (info) => {
        clearTimeout(timer);
        closeTrackers();
        try {
          resolve(parseInfo(info));
        } catch (err) {
          reject(new Error(`the metadata matches the info-hash but is not a valid torrent: ${(err as Error).message}`));
        }
      },
    });
    fetcher.start();
    for (const p of o.peers) fetcher.addPeer(p);
    const f = fetcher;
    dhtTracking = o.dht?.track(o.infoHash, (peers) => f.addPeers(peers));
    if (o.timeout) {
      timer = setTimeout(() => {
        try {
          fetcher?.stop('timed out');
        } catch (err) {
          o.log?.(`internal error while stopping the metadata fetch: ${describeError(err)}`);
        }
        closeTrackers();
        reject(new Error(`no metadata within ${o.timeout} ms`));
      }, o.timeout);
    }
  });
  return {
    result,
    inboundPeers: () => fetcher?.inboundPeers ?? [],
    cancel: () => {
      clearTimeout(timer);
      fetcher?.stop('cancelled');
      closeTrackers();
    },
  };
}
