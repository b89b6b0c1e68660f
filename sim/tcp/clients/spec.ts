// The shapes that join the client adapters to a TCP run (docs/your-client.md): which client, the
// host it is given, and what a running one answers.

import type { Torrent } from '../../../engine/metainfo.ts';

// The scenario format owns which clients there are and how a command is given (a group's
// `client:` key); the adapters take them as they are.
export { CLIENT_NAMES, type ClientName } from '../../scenario/types.ts';
export type { CommandClient as CommandClientSpec, ExternalClient as ClientSpec } from '../../scenario/types.ts';

export interface ClientContext {
  /** A0 */
  label: string;
  role: 'seed' | 'leecher';
  /** Its host IP; it listens on ip:port and dials from ip. */
  ip: string;
  /** PRIVATE_PORT in a run. */
  port: number;
  /** A .torrent whose announce is this host's tracker URL. */
  torrentFile: string;
  trackerUrl: string;
  /** The save folder: the torrent's name goes in it. A seed's holds the payload already; a leecher's is empty. */
  dataDir: string;
  /** The client's own folder (config, logs: stdout.log, stderr.log). */
  workDir: string;
  /** Parsed (engine/metainfo.ts), for the completion check. */
  torrent: Torrent;
  /** What complete means. */
  payload: Uint8Array;
  /** Start-up bound (ms, default CLIENT_LIMITS.startUpTimeout). */
  startUpTimeout?: number;
}

export interface RunningClient {
  readonly label: string;
  readonly pid: number;
  /** The data folder hashed right against the torrent (after the client's own RPC or output says done, where it has one). */
  complete(): Promise<boolean>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM, then SIGKILL by PID (its process group); idempotent. */
  stop(): Promise<void>;
  stderrTail(lines?: number): string;
}

/** A client that is not installed or did not start: one line, then the last lines of its stderr. */
export class ClientStartError extends Error {
  constructor(
    /** The one line: `aria2 for A0: aria2c is not installed (apt-get install aria2)`. */
    readonly line: string,
    readonly stderrLines: string = '',
  ) {
    super(stderrLines ? `${line}\n${stderrLines.replace(/^/gm, '  | ')}` : line);
    this.name = 'ClientStartError';
  }
}

/** The adapters' bounds. Not engine settings: they bound child processes, not a BitTorrent client. */
export const CLIENT_LIMITS = {
  /** A client must be ready (listening, its RPC answering) within this (ms), else a ClientStartError. */
  startUpTimeout: 15_000,
  /** After SIGTERM, how long a client may take to exit before SIGKILL (ms). */
  stopGrace: 2_000,
  /** Lines of stderr a ClientStartError shows. */
  errorTailLines: 10,
  /** Bytes of stderr kept in memory for stderrTail. */
  tailBytes: 16 * 1024,
  /** Bytes of stdout (and of stderr) written to the work folder's log; past it the log says it stopped. */
  logBytes: 64 * 1024 * 1024,
  /** A `command` client that does not listen is taken as started after living this long (ms). */
  commandGrace: 2_000,
  /** Bytes of one stdout line matched against `done.stdout` (a longer line is cut). */
  maxLineBytes: 64 * 1024,
  /** One RPC call (transmission-remote) must answer within this (ms). */
  rpcTimeout: 10_000,
} as const satisfies Record<string, number>;
