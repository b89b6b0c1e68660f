// The `aria2` adapter: aria2c as a peer of a TCP run, bound to its host IP (listening and dialling),
// DHT, LPD and PEX off, seeding without end once complete. aria2 finds peers only through a tracker
// (it neither takes peers on its command line nor keeps incoming peers' addresses): it announces to
// the run's tracker at the tracker's interval. aria2c exits by itself if the run's process is gone.

import { accepts, ClientProcess, waitUntilStarted } from './child.ts';
import { notInstalled } from './installed.ts';
import { type ClientContext, ClientStartError, type RunningClient } from './spec.ts';
import { CompletionCheck } from './verify-files.ts';

export interface Aria2ArgsOptions {
  /** Listen and dial from this IP (default 127.0.0.1). */
  ip?: string;
  port: number;
  /** The save folder. */
  dir: string;
  torrent: string;
  seed?: boolean;
  /** Exit once the download completes (default: a leecher does, a seed does not). */
  exitWhenDone?: boolean;
  /** Announce every this many seconds, whatever the tracker says (default: the tracker's interval). */
  trackerInterval?: number;
  /** aria2 exits when this process is gone. */
  stopWithProcess?: number;
}

/** aria2c's arguments, shared by the adapter and the interop tests. */
export function aria2Args(o: Aria2ArgsOptions): string[] {
  return [
    `--listen-port=${o.port}`,
    `--interface=${o.ip ?? '127.0.0.1'}`,
    '--disable-ipv6=true',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    // 0.0: seed regardless of the share ratio (until --seed-time, when given, or the end of the run).
    '--seed-ratio=0.0',
    '--bt-seed-unverified=true',
    '--file-allocation=none',
    '--no-conf=true',
    '--check-integrity=true',
    ...(o.trackerInterval !== undefined ? [`--bt-tracker-interval=${o.trackerInterval}`] : []),
    '--summary-interval=1',
    '--console-log-level=notice',
    ...((o.exitWhenDone ?? !o.seed) ? ['--seed-time=0'] : []),
    ...(o.stopWithProcess !== undefined ? [`--stop-with-process=${o.stopWithProcess}`] : []),
    `--dir=${o.dir}`,
    o.torrent,
  ];
}

export async function startAria2(ctx: ClientContext): Promise<RunningClient> {
  const what = `aria2 for ${ctx.label}`;
  const absent = await notInstalled('aria2');
  if (absent) throw new ClientStartError(`${what}: ${absent}`);
  const p = new ClientProcess({
    what,
    command: 'aria2c',
    args: aria2Args({ ip: ctx.ip, port: ctx.port, dir: ctx.dataDir, torrent: ctx.torrentFile, seed: ctx.role === 'seed', exitWhenDone: false, stopWithProcess: process.pid }),
    workDir: ctx.workDir,
  });
  // Ready once it listens (a seed listens while it checks its data).
  await waitUntilStarted(p, () => accepts(ctx.ip, ctx.port), ctx.startUpTimeout);
  const files = new CompletionCheck(ctx.dataDir, ctx.torrent);
  return {
    label: ctx.label,
    pid: p.pid,
    complete: () => files.check(),
    exited: p.exited,
    stop: () => p.stop(),
    stderrTail: (lines) => p.stderrTail(lines),
  };
}
