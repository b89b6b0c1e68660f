// The ports: everything the engine needs from the outside world, defined once.
//
// The engine never reaches for a clock, timers, randomness, sockets or files itself. A driver —
// the simulator (sim/) or live mode's real adapters — hands it these. All callbacks are invoked by
// the driver; the engine never blocks and never awaits.

/** Time in milliseconds. Virtual in the simulator, wall-clock in live mode. */
export type Millis = number;

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): Millis;
  /** Calls `fn` once, `delay` ms from now. Timers due at the same instant fire in the order set. */
  setTimer(delay: Millis, fn: () => void): TimerHandle;
}

/** A uniform source of randomness, already seeded by the driver. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/** Where a peer can be reached. `host` is an IP or, in the simulator, a virtual address. */
export interface PeerAddress {
  host: string;
  port: number;
}

export function addressKey(a: PeerAddress): string {
  return `${a.host}:${a.port}`;
}

/** What a connection tells its owner. The engine installs one with `Connection.setHandler`. */
export interface ConnectionHandler {
  /** The connection is established (only for connections we dialled). */
  open(): void;
  /** Bytes arrived, in order. The array may be a view the engine may keep but must not modify. */
  data(bytes: Uint8Array): void;
  /** The send buffer has fallen to zero: a good moment to write more. */
  drain(): void;
  /**
   * False when a `drain` now would do nothing (nothing waits to be written). A driver may then
   * skip it: the simulator does, one event less for every batch it sends. Absent: always wanted.
   */
  wantsDrain?(): boolean;
  /** The connection is gone; `reason` says why (undefined for a clean close by the remote). */
  close(reason?: string): void;
}

/** A reliable, ordered byte stream (TCP's guarantees). */
export interface Connection {
  readonly remote: PeerAddress;
  readonly inbound: boolean;
  setHandler(handler: ConnectionHandler): void;
  /** Queues bytes for sending; never blocks. Passing several chunks avoids copying them. */
  write(chunks: Uint8Array | readonly Uint8Array[]): void;
  /** Bytes written but not yet taken by the network. */
  bufferedBytes(): number;
  /** Closes the connection; the handler's `close` is not called for a close we asked for. */
  close(): void;
}

export interface Network {
  /** Our own listening address, as announced to the tracker. */
  readonly localAddress: PeerAddress;
  /** Starts dialling; the returned connection reports `open` or `close`. */
  connect(remote: PeerAddress): Connection;
  /** Accepts incoming connections until `stop` is called. */
  listen(onConnection: (conn: Connection) => void): { stop(): void };
}

/**
 * Storage of the torrent's bytes, addressed as one contiguous space (the concatenation of the
 * files). Synchronous: a failure is thrown as an Error and handled by the engine.
 */
export interface Storage {
  /** Returns `length` bytes from `offset`. Bytes never written may read as zeros. */
  read(offset: number, length: number): Uint8Array;
  write(offset: number, bytes: Uint8Array): void;
  /** Makes written bytes durable (a no-op in memory). */
  flush(): void;
  /**
   * Optional: the SHA1 of the bytes at [offset, offset+length), when the storage already knows it
   * without hashing again — a store that deduplicates by content and has proved, byte for byte,
   * that these bytes equal bytes it hashed before. Undefined means: hash them yourself.
   */
  knownDigest?(offset: number, length: number): Uint8Array | undefined;
}

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'periodic';

export interface AnnounceRequest {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  numWant: number;
}

export interface AnnouncePeer extends PeerAddress {
  peerId?: Uint8Array;
}

export type AnnounceResult =
  /**
   * `interval` is in seconds, as trackers send it, absent when the reply had none (the tracker
   * client then uses `trackerDefaultInterval`); `minInterval` is the tracker's optional
   * `min interval` (s): no announce but started/completed/stopped may come sooner than that.
   * `warning` is the tracker's `warning message` (the announce still succeeded); `trackerId` its
   * `tracker id`, which an HTTP tracker is sent back as `trackerid` (live/http-tracker.ts).
   */
  | { ok: true; interval?: number; minInterval?: number; peers: AnnouncePeer[]; complete?: number; incomplete?: number; warning?: string; trackerId?: Uint8Array }
  | { ok: false; error: string };

/** Talks to the tracker(s); the engine's tracker client decides when. */
export interface TrackerPort {
  announce(request: AnnounceRequest, done: (result: AnnounceResult) => void): void;
}

/** What one web seed request gave: exactly the bytes asked for, or why not. */
export type WebSeedResult = { ok: true; body: Uint8Array } | { ok: false; error: string };

/**
 * Fetches byte ranges from web seeds (BEP 19): HTTP in live mode, a modelled host in the
 * simulator. The engine builds each file's URL and decides what, when and how many; `done` is
 * called once, never after `cancel()`. A body must be exactly `rangeEnd - rangeStart + 1` bytes
 * (the range is inclusive, as HTTP's Range header); anything else is an error.
 */
export interface WebSeedPort {
  get(url: string, rangeStart: number, rangeEnd: number, done: (result: WebSeedResult) => void): { cancel(): void };
}

/**
 * Datagrams (UDP's guarantees: none): what the DHT (BEP 5) speaks. A datagram may be lost,
 * duplicated or reordered; each arrives whole or not at all. `send` never blocks and never throws
 * for an unreachable address (the datagram is simply lost). The port calls the handler installed
 * by `onDatagram` (one at a time: a later call replaces it) for each datagram that arrives; the
 * bytes are the receiver's to keep. `send` takes its bytes: the sender does not change them after
 * (the simulator hands the same array over, as it does with connections' chunks).
 */
export interface DatagramPort {
  /** Where others reach us. */
  readonly localAddress: PeerAddress;
  send(to: PeerAddress, bytes: Uint8Array): void;
  onDatagram(handler: (from: PeerAddress, bytes: Uint8Array) => void): void;
}

/** Everything a client needs, bundled. */
export interface Ports {
  clock: Clock;
  random: Random;
  network: Network;
  storage: Storage;
  tracker: TrackerPort;
  trace: import('./trace.ts').TraceSink;
  /** Web seeds (BEP 19); without it the torrent's `url-list` is not used. */
  webSeeds?: WebSeedPort;
}
