// The `libtorrent` adapter: libtorrent-rasterbar through Debian's python3-libtorrent, driven by
// lt_client.py beside this file: listening on the host's ip:port, every outgoing connection bound
// to that IP (outgoing_interfaces), DHT, LSD, UPnP, NAT-PMP and uTP off, several connections per IP
// allowed (libtorrent's default is one, and every peer of a run is on loopback), SSRF mitigation off
// (it refuses a loopback tracker whose path is not /announce), announcing to the torrent's tracker;
// a seed added in seed_mode. Complete once the script prints `done` and the files hash right.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientProcess, waitUntilStarted } from './child.ts';
import { notInstalled, PYTHON } from './installed.ts';
import { type ClientContext, ClientStartError, type RunningClient } from './spec.ts';
import { CompletionCheck } from './verify-files.ts';

export const LT_CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'lt_client.py');

export interface LtClientArgsOptions {
  mode: 'seed' | 'leech';
  /** A .torrent file or a magnet link. */
  source: string;
  save: string;
  port: number;
  /** Listen and dial from this IP (default 127.0.0.1). */
  ip?: string;
  /** A leech that completes stays, seeding (default: it exits). */
  stay?: boolean;
  /** The script exits when this process is gone. */
  parent?: number;
  /** Peers it dials itself (HOST:PORT). */
  peers?: string[];
  /** DHT on, bootstrapped to this node (HOST:PORT) only. */
  dht?: string;
}

/** lt_client.py's arguments (after the script's path), shared by the adapter and the interop tests. */
export function ltClientArgs(o: LtClientArgsOptions): string[] {
  return [
    LT_CLIENT,
    o.mode,
    o.source,
    o.save,
    String(o.port),
    ...(o.ip ? ['--ip', o.ip] : []),
    ...(o.stay ? ['--stay'] : []),
    ...(o.parent !== undefined ? ['--parent', String(o.parent)] : []),
    ...(o.dht ? ['--dht', o.dht] : []),
    ...(o.peers ?? []),
  ];
}

export async function startLibtorrent(ctx: ClientContext): Promise<RunningClient> {
  const what = `libtorrent for ${ctx.label}`;
  const absent = await notInstalled('libtorrent');
  if (absent) throw new ClientStartError(`${what}: ${absent}`);
  const seed = ctx.role === 'seed';
  const p = new ClientProcess({
    what,
    command: PYTHON,
    args: ltClientArgs({ mode: seed ? 'seed' : 'leech', source: ctx.torrentFile, save: ctx.dataDir, port: ctx.port, ip: ctx.ip, stay: true, parent: process.pid }),
    // Python's output in order and at once, whatever its buffering would do.
    env: { PYTHONUNBUFFERED: '1' },
    workDir: ctx.workDir,
  });
  let listening = false;
  let done = seed;
  p.onStdoutLine((line) => {
    if (/^listening \d+/.test(line)) listening = true;
    if (/^done /.test(line)) done = true;
  });
  await waitUntilStarted(p, async () => listening, ctx.startUpTimeout);
  const files = new CompletionCheck(ctx.dataDir, ctx.torrent);
  return {
    label: ctx.label,
    pid: p.pid,
    complete: async () => done && (await files.check()),
    exited: p.exited,
    stop: () => p.stop(),
    stderrTail: (lines) => p.stderrTail(lines),
  };
}
