// Shared by `swarmlab download` and `swarmlab seed`: option parsers, the trace file, Ctrl-C, the
// run-until-done loop.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { parseTorrent, type Torrent, type TorrentInfo } from '../engine/metainfo.ts';
import type { PeerAddress } from '../engine/ports.ts';
import { nullTrace, type TraceSink } from '../engine/trace.ts';
import { ENGINE_VERSION } from '../engine/version.ts';
import { DEFAULT_DHT_BOOTSTRAP, LiveDht } from '../live/dht.ts';
import { parsePeerAddress } from '../live/magnet.ts';
import { prepareOutputFolder, StorageError } from '../live/file-storage.ts';
import type { LiveSession } from '../live/session.ts';
import { TcpNetwork, type TcpNetworkOptions } from '../live/tcp-network.ts';
import { TraceWriter } from '../engine/trace-writer.ts';
import { InputError, listenError } from './input-error.ts';
import { portNumber } from './option-parsers.ts';
import type { Progress } from './progress.ts';
import { TraceFile } from './trace-file.ts';

export function collectPeer(value: string, previous: PeerAddress[] = []): PeerAddress[] {
  try {
    return [...previous, parsePeerAddress(value)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export interface LiveTrace {
  sink: TraceSink;
  close(): string | undefined;
}

/** The trace of a live run: the simulator's format, real time since start. */
export function openTrace(path: string | undefined, command: string, torrent?: TorrentInfo, infoHashHex?: string): LiveTrace {
  if (!path) return { sink: nullTrace, close: () => undefined };
  const file = new TraceFile(path);
  const header = {
    engine: ENGINE_VERSION,
    settings: { mode: 'live', command },
    ...(torrent
      ? { torrent: { name: torrent.name, length: torrent.length, pieceLength: torrent.pieceLength, pieces: torrent.pieceCount, infoHash: torrent.infoHashHex } }
      : infoHashHex
        ? { infoHash: infoHashHex }
        : {}),
  } as unknown as ConstructorParameters<typeof TraceWriter>[0];
  const writer = new TraceWriter(header, file.write);
  let hash: string | undefined;
  return {
    sink: writer,
    close: () => {
      if (hash === undefined) {
        hash = writer.finish();
        file.close();
      }
      return hash;
    },
  };
}

/** A flag the first Ctrl-C (SIGINT/SIGTERM) sets; a second one exits at once, 130. */
export function interruptFlag(): { interrupted: () => boolean; stop: () => void } {
  let interrupted = false;
  const stop = onInterrupt(() => (interrupted = true));
  return { interrupted: () => interrupted, stop };
}

/** Runs `onStop` on the first SIGINT/SIGTERM; a second one exits at once. */
export function onInterrupt(onStop: (signal: string) => void): () => void {
  let seen = false;
  const handler = (signal: NodeJS.Signals) => {
    if (seen) process.exit(130);
    seen = true;
    onStop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

export interface LiveRunEnd {
  /** What resolved `done`. */
  reason: string;
  /** The session's stats just before it stopped. */
  stats: ReturnType<LiveSession['stats']>;
  traceHash: string | undefined;
  /** Since `started`. */
  seconds: number;
}

/**
 * The pause key of live commands: each SIGUSR1 pauses the torrent (tracker told `stopped`,
 * connections closed, verified pieces kept) or resumes it (`started`, no re-check). A signal, not
 * a key, so that scripts and tests can pause a run in the background (`kill -USR1 <pid>`).
 */
export function onPauseSignal(session: LiveSession, log: (line: string) => void): () => void {
  const handler = () => {
    try {
      log(session.togglePause() ? 'paused (SIGUSR1 again resumes)' : 'resumed');
    } catch (err) {
      log(`internal error while pausing: ${String(err)}`);
    }
  };
  process.on('SIGUSR1', handler);
  return () => void process.off('SIGUSR1', handler);
}

/**
 * Starts `session` and shows its progress every second until `done` resolves (a first
 * SIGINT/SIGTERM goes to `onSignal` meanwhile, SIGUSR1 pauses and resumes: `onPauseSignal`);
 * then stops the session and closes the trace.
 */
export async function runUntilDone(o: {
  session: LiveSession;
  progress: Progress;
  trace: LiveTrace;
  done: Promise<string>;
  onSignal: (signal: string) => void;
  /** Date.now() when the command began. */
  started: number;
  /** Runs right after session.start(). */
  afterStart?: () => void;
}): Promise<LiveRunEnd> {
  const { session, progress } = o;
  const stopWaiting = onInterrupt(o.onSignal);
  const stopPausing = onPauseSignal(session, (line) => progress.log(line));
  session.start();
  o.afterStart?.();
  progress.update(session.stats());
  const ticker = setInterval(() => {
    try {
      progress.update(session.stats());
    } catch {
      // A progress line is not worth the process.
    }
  }, 1_000);
  const reason = await o.done;
  clearInterval(ticker);
  const stats = session.stats();
  // The signal handler stays while the session stops: a second Ctrl-C then exits at once, 130.
  stopPausing();
  await session.stop(reason);
  stopWaiting();
  exitWhenStuck();
  const traceHash = o.trace.close();
  return { reason, stats, traceHash, seconds: (Date.now() - o.started) / 1000 };
}

/** How long a finished live command may linger before it exits anyway (ms). */
const EXIT_BACKSTOP = 1_000;

/**
 * Once a live command is over, nothing should keep the process up; if something still does (a
 * DNS lookup, which cannot be cancelled, or a handle we missed), it exits with `process.exitCode`
 * after EXIT_BACKSTOP ms anyway. The timer is unref'd: it never delays a process that is done.
 */
export function exitWhenStuck(): void {
  setTimeout(() => {
    // Lines still on their way into a pipe (the summary) go out first: process.exit() drops them.
    const hard = setTimeout(() => process.exit(), EXIT_BACKSTOP);
    process.stdout.write('', () => process.stderr.write('', () => (clearTimeout(hard), process.exit())));
  }, EXIT_BACKSTOP).unref();
}

/** Listens on `--bind`:`--port`; a port in use or an address not this machine's is one line, exit 2. */
export async function listen(options: TcpNetworkOptions & { host: string; port: number }): Promise<TcpNetwork> {
  try {
    return await TcpNetwork.create(options);
  } catch (err) {
    throw listenError(err, options.host, options.port);
  }
}

/** Reads and parses a .torrent file; any fault comes back as one line naming the file. */
export function readTorrent(path: string): Torrent {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new InputError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseTorrent(bytes);
  } catch (err) {
    throw new InputError(`${path}: not a valid torrent: ${(err as Error).message}`);
  }
}

/**
 * Builds the session; a torrent that cannot be stored in `dir` (names that collide, a link or a
 * file in the way) is bad input: the network and the trace are closed and one line says why.
 */
export async function openSession(make: () => LiveSession, o: { dir: string; network: TcpNetwork; trace: LiveTrace }): Promise<LiveSession> {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    await o.network.close();
    o.trace.close();
    throw new InputError(`cannot store the torrent in ${o.dir}: ${err.message}`);
  }
}

/** Creates `download -o DIR` if need be; one that cannot be written into is bad input, at start. */
export function prepareOutput(dir: string): void {
  try {
    prepareOutputFolder(dir);
  } catch (err) {
    if (err instanceof StorageError) throw new InputError(err.message);
    throw err;
  }
}

/** What `--dht`, `--dht-port`, `--dht-bootstrap` and `--no-dht-bootstrap` give. */
export interface DhtFlags {
  dht?: boolean;
  dhtPort: number;
  /** Addresses given; `false` for --no-dht-bootstrap; empty for the default list. */
  dhtBootstrap: PeerAddress[] | false;
}

/** The routing table a `--dht` run leaves in its folder, read back by the next run there. */
export const DHT_TABLE_FILE = '.swarmlab-dht.json';

/** Adds the DHT options to `download` and `seed`. */
export function addDhtOptions(command: Command): Command {
  return command
    .option('--dht', 'find peers through the DHT (BEP 5) too, and announce ours there')
    .option('--dht-port <n>', 'the UDP port of the DHT node (0: any free port)', portNumber, 0)
    .option('--dht-bootstrap <host:port>', `a DHT node to join through (repeatable; default: ${DEFAULT_DHT_BOOTSTRAP.join(', ')})`, collectPeer, [])
    .option('--no-dht-bootstrap', 'join through no node: be the first node (others bootstrap to this one)');
}

/**
 * The DHT node of a `--dht` run, bound on `host`, joined through the bootstrap nodes and the table
 * saved in `dir` by the last run; undefined without --dht. A port that cannot be bound is bad input.
 */
export async function openDht(flags: DhtFlags, host: string, dir: string, trace: TraceSink, log: (line: string) => void): Promise<{ dht: LiveDht; close(): Promise<void> } | undefined> {
  if (!flags.dht) return undefined;
  const bootstrap = flags.dhtBootstrap === false ? [] : flags.dhtBootstrap.length > 0 ? flags.dhtBootstrap : DEFAULT_DHT_BOOTSTRAP.map((a) => parsePeerAddress(a));
  const tablePath = join(dir, DHT_TABLE_FILE);
  let dht: LiveDht;
  try {
    dht = await LiveDht.create({ host, port: flags.dhtPort, bootstrap, tablePath, trace, log });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  log(`DHT node on UDP port ${dht.localAddress.port}, joining through ${bootstrap.length} bootstrap node(s)`);
  return {
    dht,
    close: async () => {
      try {
        dht.save(tablePath);
      } catch (err) {
        log(`${tablePath}: cannot save the DHT routing table (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      await dht.close();
    },
  };
}
