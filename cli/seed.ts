// `swarmlab seed <file.torrent> <DIR> [--port N] [--peer HOST:PORT]… [--dht …]`: re-checks DIR against
// the torrent, says what is missing or wrong, then seeds (and dials the --peers) until interrupted.

import type { Command } from 'commander';
import type { PeerAddress } from '../engine/ports.ts';
import type { LiveDht } from '../live/dht.ts';
import { LiveSession } from '../live/session.ts';
import type { TcpNetwork } from '../live/tcp-network.ts';
import { addDhtOptions, collectPeer, type DhtFlags, listen, openDht, openSession, openTrace, readTorrent, runUntilDone } from './live-common.ts';
import { portNumber } from './option-parsers.ts';
import { formatBytes, Progress, progressMode } from './progress.ts';

interface SeedFlags extends DhtFlags {
  port: number;
  bind: string;
  peer: PeerAddress[];
  trace?: string;
  json?: boolean;
}

export function registerSeed(program: Command): void {
  const command = program
    .command('seed')
    .description('check a folder against a torrent, report what is missing or wrong, then seed it')
    .argument('<torrent>', 'the .torrent file')
    .argument('<dir>', 'the folder that holds the data (as given to download -o)')
    .option('--port <n>', 'the port to listen on (0: any free port)', portNumber, 0)
    .option('--bind <host>', 'the address to listen on', '0.0.0.0')
    .option('--peer <host:port>', 'a peer to dial (repeatable)', collectPeer, [])
    .option('--trace <file>', 'write the trace (the simulator format, real time) to this file')
    .option('--json', 'machine-readable progress and summary (JSON Lines on stdout)');
  addDhtOptions(command).action(async (torrentPath: string, dir: string, flags: SeedFlags) => {
    process.exitCode = await seed(torrentPath, dir, flags);
  });
}

async function seed(torrentPath: string, dir: string, flags: SeedFlags): Promise<number> {
  const started = Date.now();
  const t = readTorrent(torrentPath);
  const progress = new Progress(progressMode(flags.json), t.name);
  for (const w of t.warnings) progress.log(`${torrentPath}: warning: ${w}`);
  const network = await listen({ host: flags.bind, port: flags.port, onError: (err, r) => progress.log(`connection ${r.host}:${r.port}: ${String(err)}`) });
  const trace = openTrace(flags.trace, `seed ${torrentPath} ${dir}`, t);
  const dht = await openDht(flags, flags.bind, dir, trace.sink, (l) => progress.log(l)).catch(async (err: unknown) => {
    // A DHT port in use is bad input: the listening socket must not keep the process up after it.
    await network.close();
    trace.close();
    throw err;
  });
  try {
    return await seedWith(t, torrentPath, dir, flags, { started, progress, network, trace, dht: dht?.dht });
  } finally {
    await dht?.close();
  }
}

async function seedWith(
  t: ReturnType<typeof readTorrent>,
  torrentPath: string,
  dir: string,
  flags: SeedFlags,
  o: { started: number; progress: Progress; network: TcpNetwork; trace: ReturnType<typeof openTrace>; dht: LiveDht | undefined },
): Promise<number> {
  const { started, progress, network, trace } = o;
  const session = await openSession(() => new LiveSession({ torrent: t, dir, network, peers: flags.peer, initial: 'check', trace: trace.sink, log: (l) => progress.log(l), dht: o.dht }), { dir, network, trace });

  // The report: files missing or of the wrong size, then pieces that failed the check, by file.
  const have = session.client.pieces.have;
  const files = session.storage.survey();
  const report: Record<string, unknown> = { type: 'check', pieces: t.pieceCount, good: have.count, missing: [] as string[], wrongSize: [] as unknown[], incomplete: [] as string[] };
  for (const f of files) {
    if (f.size === undefined && f.length > 0) (report.missing as string[]).push(f.display);
    else if (f.size !== undefined && f.size !== f.length) (report.wrongSize as unknown[]).push({ file: f.display, size: f.size, expected: f.length });
  }
  for (const f of session.storage.files()) {
    if (f.length === 0) continue;
    const first = Math.floor(f.offset / t.pieceLength);
    const last = Math.floor((f.offset + f.length - 1) / t.pieceLength);
    for (let i = first; i <= last; i++) {
      if (!have.has(i)) {
        (report.incomplete as string[]).push(f.display);
        break;
      }
    }
  }
  if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');
  progress.log(`checked ${dir}: ${have.count}/${t.pieceCount} pieces good (${formatBytes(t.length - session.client.pieces.left)} of ${formatBytes(t.length)})`);
  for (const m of report.missing as string[]) progress.log(`  missing: ${m}`);
  for (const w of report.wrongSize as { file: string; size: number; expected: number }[]) progress.log(`  wrong size: ${w.file} is ${w.size} bytes, expected ${w.expected}`);
  for (const i of report.incomplete as string[]) progress.log(`  has missing or corrupt pieces: ${i}`);
  const lacking = t.pieceCount - have.count;

  // Said once Ctrl-C is handled (runUntilDone's afterStart): a script that waits for this line may
  // signal at once.
  const announceReady = () =>
    progress.log(
      session.client.complete
        ? `seeding ${t.name} on port ${network.localAddress.port}`
        : `${dir} lacks ${lacking} of ${t.pieceCount} pieces: fetching them from peers${flags.peer.length || t.announce.length || t.urlList.length ? '' : ' (none known yet: no tracker, web seed or --peer; peers that connect to us count)'}, and seeding what is good meanwhile, on port ${network.localAddress.port}`,
    );
  let resolveDone: (reason: string) => void = () => {};
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  let interrupted = false;
  const onSignal = (signal: string) => {
    interrupted = true;
    resolveDone(signal === 'SIGINT' ? 'interrupted' : 'terminated');
  };
  let storageFailed = false;
  void session.storageFailure.then((message) => {
    storageFailed = true;
    resolveDone(`storage failed: ${message}`);
  });
  const { reason, stats, traceHash, seconds } = await runUntilDone({ session, progress, trace, done, started, onSignal, afterStart: announceReady });
  progress.finish(
    { ok: !storageFailed, complete: stats.complete, reason, name: t.name, infoHash: t.infoHashHex, uploaded: stats.uploaded, downloaded: stats.downloaded, seconds, ...(flags.trace ? { trace: flags.trace, traceHash } : {}) },
    [`${t.name}: stopped (${reason}); uploaded ${formatBytes(stats.uploaded)} in ${seconds.toFixed(1)} s`, ...(flags.trace ? [`trace: ${flags.trace}`, `trace sha256: ${traceHash}`] : [])],
  );
  // A storage failure is 1; a signal 130, as `download` and shells report an interrupted command.
  return storageFailed ? 1 : interrupted ? 130 : 0;
}
