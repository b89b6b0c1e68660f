// `swarmlab download <file.torrent | magnet:…> [-o DIR] [--port N] [--peer HOST:PORT]… [--seed]
// [--trace FILE] [--json] [--dht [--dht-port N] [--dht-bootstrap HOST:PORT]… | --no-dht-bootstrap]`: downloads into DIR, every piece SHA1-verified; exits 0 only when the
// whole torrent is complete. A rerun resumes from what is on disk after re-checking it.

import type { Command } from 'commander';
import type { Torrent } from '../engine/metainfo.ts';
import type { PeerAddress } from '../engine/ports.ts';
import { RealClock } from '../live/clock.ts';
import { parseMagnet } from '../live/magnet.ts';
import { livePeerId } from '../live/random.ts';
import { fetchMetadata, LiveSession } from '../live/session.ts';
import { InputError } from './input-error.ts';
import { addDhtOptions, collectPeer, type DhtFlags, exitWhenStuck, listen, onInterrupt, openDht, openSession, openTrace, prepareOutput, readTorrent, runUntilDone } from './live-common.ts';
import { portNumber } from './option-parsers.ts';
import { formatBytes, Progress, progressMode } from './progress.ts';
import { Reachability } from './reachability.ts';

/** How often a download with no peer connected says which it tried (ms). */
const REACHABILITY_EVERY = 3_000;

interface DownloadFlags extends DhtFlags {
  output: string;
  port: number;
  bind: string;
  peer: PeerAddress[];
  seed?: boolean;
  trace?: string;
  json?: boolean;
}

export function registerDownload(program: Command): void {
  const command = program
    .command('download')
    .description('download a torrent (a .torrent file or a magnet link) and verify every piece')
    .argument('<source>', 'a .torrent file or a magnet: link')
    .option('-o, --output <dir>', 'the folder to download into', '.')
    .option('--port <n>', 'the port to listen on (0: any free port)', portNumber, 0)
    .option('--bind <host>', 'the address to listen on', '0.0.0.0')
    .option('--peer <host:port>', 'a peer to connect to directly (repeatable)', collectPeer, [])
    .option('--seed', 'keep seeding after the download completes, until interrupted')
    .option('--trace <file>', 'write the trace (the simulator format, real time) to this file')
    .option('--json', 'machine-readable progress and summary (JSON Lines on stdout)');
  addDhtOptions(command).action(async (source: string, flags: DownloadFlags) => {
    process.exitCode = await download(source, flags);
  });
}

/** The download; with --dht, its DHT node is closed (its routing table saved in the output folder) however it ends. */
async function download(source: string, flags: DownloadFlags): Promise<number> {
  const dht: DhtHolder = {};
  try {
    return await downloadWith(source, flags, dht);
  } finally {
    await dht.opened?.close();
  }
}

interface DhtHolder {
  opened?: Awaited<ReturnType<typeof openDht>>;
}

async function downloadWith(source: string, flags: DownloadFlags, dht: DhtHolder): Promise<number> {
  const started = Date.now();
  const magnet = source.startsWith('magnet:') ? readMagnet(source) : undefined;
  let torrent: Torrent | undefined = magnet ? undefined : readTorrent(source);
  prepareOutput(flags.output);
  const progress = new Progress(progressMode(flags.json), torrent?.name ?? magnet?.name ?? 'magnet');
  // What the parser ignored (a wrong-typed announce-list or url-list), one line each.
  for (const w of torrent?.warnings ?? []) progress.log(`${source}: warning: ${w}`);
  const network = await listen({ host: flags.bind, port: flags.port, onError: (err, r) => progress.log(`connection ${r.host}:${r.port}: ${String(err)}`) });
  const clock = new RealClock();
  const peerId = livePeerId();
  const trace = openTrace(flags.trace, `download ${source}`, torrent, magnet?.infoHashHex);
  const peers = [...flags.peer, ...(magnet?.peers ?? [])];
  dht.opened = await openDht(flags, flags.bind, flags.output, trace.sink, (l) => progress.log(l)).catch(async (err: unknown) => {
    // A DHT port in use is bad input: the listening socket must not keep the process up after it.
    await network.close();
    trace.close();
    throw err;
  });
  let interrupted = false;
  // Said while no peer is connected and some were tried: which, and why each failed.
  const reach = new Reachability();
  const sink = reach.tee(trace.sink);
  const reachTimer = setInterval(() => {
    const line = reach.report();
    if (line) progress.log(line);
  }, REACHABILITY_EVERY);
  reachTimer.unref();

  if (magnet) {
    const fetch = fetchMetadata({ infoHash: magnet.infoHash, trackers: magnet.trackers, peers, network, clock, peerId, trace: sink, log: (l) => progress.log(l), dht: dht.opened?.dht });
    const stopWaiting = onInterrupt(() => {
      interrupted = true;
      fetch.cancel();
    });
    // Said at once (and once Ctrl-C is handled, so that a script may signal as soon as it reads it):
    // with no tracker, no peer and no DHT, the metadata can only come from a peer that dials us
    // (BEP 9 works both ways), so the run waits for one rather than failing.
    if (magnet.trackers.length === 0 && peers.length === 0 && !dht.opened) {
      progress.log(
        `the magnet link has no trackers (tr=) and no peers (x.pe=), and there is no --peer or --dht: waiting for a peer to connect to us on port ${network.localAddress.port} (add --dht, or --peer HOST:PORT)`,
      );
    }
    progress.log(`fetching metadata for ${magnet.infoHashHex} from ${peers.length} peer(s) and ${magnet.trackers.length} tracker(s)${dht.opened ? ' and the DHT' : ''}`);
    const cancelled = new Promise<undefined>((resolve) => {
      const t = setInterval(() => interrupted && (clearInterval(t), resolve(undefined)), 200);
      void fetch.result.finally(() => clearInterval(t)).catch(() => {});
    });
    try {
      const info = await Promise.race([fetch.result, cancelled]);
      stopWaiting();
      if (!info) {
        await network.close();
        exitWhenStuck();
        trace.close();
        clearInterval(reachTimer);
        progress.finish({ ok: false, complete: false, reason: 'interrupted while fetching metadata' }, ['interrupted while fetching metadata']);
        return 130;
      }
      torrent = { ...info, announce: magnet.trackers.map((t) => [t]), urlList: [], warnings: [] };
      // Seeds that dialled the fetcher are dialled back by the download (their connection closed with the fetch).
      for (const p of fetch.inboundPeers()) if (!peers.some((q) => q.host === p.host && q.port === p.port)) peers.push(p);
      progress.log(`metadata: ${torrent.name}, ${formatBytes(torrent.length)} in ${torrent.pieceCount} pieces`);
    } catch (err) {
      stopWaiting();
      clearInterval(reachTimer);
      await network.close();
      trace.close();
      progress.finish({ ok: false, complete: false, reason: (err as Error).message }, [`error: ${(err as Error).message}`]);
      return 1;
    }
  }
  const t = torrent!;

  let resolveDone: (reason: string) => void = () => {};
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  let storageFailed = false;
  const session = await openSession(() => new LiveSession({
    torrent: t,
    dir: flags.output,
    network,
    clock,
    peerId,
    peers,
    dht: dht.opened?.dht,
    initial: 'auto',
    trace: sink,
    log: (l) => progress.log(l),
    onComplete: () => {
      progress.update(session.stats());
      if (flags.seed) progress.log(`${t.name}: complete and verified; seeding until interrupted`);
      else resolveDone('complete');
    },
  }), { dir: flags.output, network, trace });
  // The session has stopped itself: the download ends now, not after a silent retry loop.
  void session.storageFailure.then((message) => {
    storageFailed = true;
    resolveDone(`storage failed: ${message}`);
  });
  const initialHave = session.client.pieces.have.count;
  if (session.storage.anyOnDisk()) progress.log(`re-checked ${flags.output}: ${initialHave}/${t.pieceCount} pieces good`);
  const { reason, stats, traceHash, seconds } = await runUntilDone({
    session,
    progress,
    trace,
    done,
    started,
    onSignal: (signal) => {
      interrupted = true;
      resolveDone(signal === 'SIGINT' ? 'interrupted' : 'terminated');
    },
    afterStart: () => {
      if (session.client.complete && !flags.seed) resolveDone('complete');
    },
  });
  clearInterval(reachTimer);
  const ok = stats.complete && !storageFailed;
  const summary = {
    ok,
    complete: stats.complete,
    reason,
    name: t.name,
    infoHash: t.infoHashHex,
    dir: flags.output,
    length: t.length,
    pieces: t.pieceCount,
    have: stats.have,
    resumedPieces: initialHave,
    downloaded: stats.downloaded,
    uploaded: stats.uploaded,
    seconds: Math.round(seconds * 1000) / 1000,
    rate: seconds > 0 ? Math.round(stats.downloaded / seconds) : 0,
    ...(flags.trace ? { trace: flags.trace, traceHash } : {}),
  };
  progress.finish(summary, [
    `${t.name}: ${ok ? 'complete, every piece verified' : `incomplete (${stats.have}/${stats.pieces} pieces)`} — ${reason}`,
    `downloaded ${formatBytes(stats.downloaded)}, uploaded ${formatBytes(stats.uploaded)} in ${seconds.toFixed(1)} s (${(stats.downloaded / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s)`,
    ...(flags.trace ? [`trace: ${flags.trace}`, `trace sha256: ${traceHash}`] : []),
  ]);
  if (ok) return 0;
  return interrupted && !storageFailed ? 130 : 1;
}

function readMagnet(link: string): ReturnType<typeof parseMagnet> {
  try {
    return parseMagnet(link);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}
