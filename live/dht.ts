// Live mode's DHT (BEP 5): the engine's DhtNode on a real UDP socket, the real clock and crypto
// randomness, and the torrents it tracks (engine/dht/tracking.ts, shared with the simulator). The
// routing table can be saved to a file and read back, so a rerun rejoins without the bootstrap nodes.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DhtNode } from '../engine/dht/node.ts';
import { DhtTracking } from '../engine/dht/tracking.ts';
import { addressKey, type PeerAddress } from '../engine/ports.ts';
import type { TraceSink } from '../engine/trace.ts';
import { RealClock } from './clock.ts';
import { CryptoRandom } from './random.ts';
import { UdpDatagrams } from './udp-datagrams.ts';

/**
 * Where a node joins when none is given: long-running public routers (libtorrent's and
 * Transmission's defaults). Never used by tests, which pass 127.0.0.1 bootstraps.
 */
export const DEFAULT_DHT_BOOTSTRAP: readonly string[] = ['router.bittorrent.com:6881', 'dht.transmissionbt.com:6881', 'router.utorrent.com:6881', 'dht.libtorrent.org:25401'];

export interface LiveDhtOptions {
  host: string;
  port: number;
  bootstrap: readonly PeerAddress[];
  /** A routing table saved by `save()`: its nodes are asked first, with the bootstrap nodes. */
  tablePath?: string;
  interval?: number;
  retry?: number;
  trace?: TraceSink;
  log?: (line: string) => void;
}

/** A torrent tracked on the DHT (engine/dht/tracking.ts): stopped when the torrent stops, paused with it. */
export interface Tracking {
  stop(): void;
  pause(): void;
  resume(): void;
}

interface SavedTable {
  nodes: { id: string; host: string; port: number }[];
}

export class LiveDht {
  readonly node: DhtNode;
  /** Resolves when the bootstrap lookup is over (whatever it found). */
  readonly joined: Promise<void>;
  private readonly clock = new RealClock();
  private readonly tracking = new Set<Tracking>();

  private constructor(
    private readonly socket: UdpDatagrams,
    private readonly o: LiveDhtOptions,
  ) {
    const log = o.log ?? (() => {});
    this.clock.onError = (err) => log(`internal error in a DHT timer: ${String(err)}`);
    const saved = o.tablePath ? readTable(o.tablePath, log) : [];
    this.node = new DhtNode({ clock: this.clock, random: new CryptoRandom(), datagrams: socket, trace: o.trace, label: 'dht' });
    const seen = new Set<string>();
    const first = [...saved, ...o.bootstrap].filter((a) => !seen.has(addressKey(a)) && seen.add(addressKey(a)));
    this.joined = new Promise((resolve) => {
      if (first.length === 0) return resolve();
      this.node.bootstrap(first, (r) => {
        log('error' in r ? `DHT bootstrap: ${r.error}` : `DHT: joined through ${first.length} node(s), ${this.node.table.size} in the routing table`);
        resolve();
      });
    });
  }

  /** Binds the UDP socket and starts joining; rejects with one line when the socket cannot be bound. */
  static async create(o: LiveDhtOptions): Promise<LiveDht> {
    const socket = await UdpDatagrams.create({ host: o.host, port: o.port, onError: (err) => o.log?.(`DHT socket: ${err.message}`) });
    return new LiveDht(socket, o);
  }

  get localAddress(): PeerAddress {
    return this.socket.localAddress;
  }

  /**
   * Looks up `infoHash` once joined and again every interval (engine/dht/tracking.ts); `onPeers`
   * gets the peers of each lookup and those announced to our own node. With `announcePort`, each
   * lookup ends with announce_peer of that port to the closest nodes that gave a token.
   */
  track(infoHash: Uint8Array, onPeers: (peers: PeerAddress[]) => void, announcePort?: number): Tracking {
    const tracking = new DhtTracking(this.node, this.clock, infoHash, onPeers, { announcePort, interval: this.o.interval, retry: this.o.retry });
    void this.joined.then(() => tracking.start());
    const t: Tracking = {
      stop: () => {
        tracking.stop();
        this.tracking.delete(t);
      },
      pause: () => tracking.pause(),
      resume: () => tracking.resume(),
    };
    this.tracking.add(t);
    return t;
  }

  /** Writes the routing table's nodes to `path` (through a temporary file: a crash leaves the old one). */
  save(path: string): void {
    const nodes = this.node.table.closest(this.node.id, 1_000, this.clock.now()).map((c) => ({ id: Buffer.from(c.id).toString('hex'), host: c.address.host, port: c.address.port }));
    const body: SavedTable = { nodes };
    writeFileSync(`${path}.tmp`, JSON.stringify(body) + '\n');
    renameSync(`${path}.tmp`, path);
  }

  async close(): Promise<void> {
    for (const t of [...this.tracking]) t.stop();
    this.node.stop();
    await this.socket.close();
  }
}

/** The nodes of a saved table; a missing file is none, a bad one is none and one log line. */
function readTable(path: string, log: (line: string) => void): PeerAddress[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  try {
    const saved = JSON.parse(text) as SavedTable;
    return saved.nodes.filter((n) => typeof n.host === 'string' && Number.isInteger(n.port) && n.port > 0 && n.port <= 0xffff).map((n) => ({ host: n.host, port: n.port }));
  } catch {
    log(`${path}: not a saved DHT routing table; ignored`);
    return [];
  }
}
