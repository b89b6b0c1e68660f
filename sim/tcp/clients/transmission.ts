// The `transmission` adapter: transmission-daemon in the foreground (`-f -g CONF`), its peer port
// and RPC bound to the host's IP (each host has its own IP, so every daemon's RPC is on port 9091),
// DHT, LPD, PEX, uTP and port forwarding off, plain connections preferred (swarmlab speaks no
// MSE), driven by transmission-remote. Complete once its RPC says 100% and the files hash right.
//
// Transmission 3.00 never dials a peer on a 127.x address (it takes them for martians) but accepts
// their connections: the others must dial it, which they do once the tracker has handed them its
// address. Two Transmissions cannot meet on loopback.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientProcess, waitUntilStarted } from './child.ts';
import { notInstalled } from './installed.ts';
import { CLIENT_LIMITS, type ClientContext, ClientStartError, type RunningClient } from './spec.ts';
import { CompletionCheck } from './verify-files.ts';

/** Transmission's default RPC port. */
export const TRANSMISSION_RPC_PORT = 9091;

export interface TransmissionSettingsOptions {
  /** Peer connections and RPC on this IP. */
  ip: string;
  peerPort: number;
  rpcPort: number;
  downloadDir: string;
}

/** settings.json of a daemon, shared by the adapter and the interop tests. */
export function transmissionSettings(o: TransmissionSettingsOptions): Record<string, unknown> {
  return {
    'bind-address-ipv4': o.ip,
    // IPv6 on ::1 would be one port for every daemon of a run: none at all.
    'bind-address-ipv6': '::1',
    'dht-enabled': false,
    'lpd-enabled': false,
    'utp-enabled': false,
    'pex-enabled': false,
    'port-forwarding-enabled': false,
    'peer-port': o.peerPort,
    'peer-port-random-on-start': false,
    'rpc-port': o.rpcPort,
    'rpc-bind-address': o.ip,
    'rpc-authentication-required': false,
    'rpc-whitelist-enabled': false,
    'rpc-host-whitelist-enabled': false,
    'download-dir': o.downloadDir,
    'incomplete-dir-enabled': false,
    'start-added-torrents': true,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    // 0: encryption tolerated, plain preferred.
    encryption: 0,
    'message-level': 2,
  };
}

/** Writes CONF/settings.json for a daemon started with `-f -g CONF`. */
export function writeTransmissionConfig(conf: string, o: TransmissionSettingsOptions): void {
  mkdirSync(conf, { recursive: true });
  mkdirSync(o.downloadDir, { recursive: true });
  writeFileSync(join(conf, 'settings.json'), JSON.stringify(transmissionSettings(o), null, 1));
}

/** Runs transmission-remote against the daemon at `ip:rpcPort`; rejects with its stderr. */
export function transmissionRemote(ip: string, rpcPort: number, args: string[], timeout: number = CLIENT_LIMITS.rpcTimeout): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('transmission-remote', [`${ip}:${rpcPort}`, ...args], { timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`transmission-remote ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** "Percent Done" of torrent `id` from `transmission-remote -t ID -i`, 0 when absent. */
export function percentDone(info: string): number {
  const m = /Percent Done:\s*([\d.]+)%/.exec(info);
  return m ? Number(m[1]) : 0;
}

export async function startTransmission(ctx: ClientContext): Promise<RunningClient> {
  const what = `transmission for ${ctx.label}`;
  const absent = await notInstalled('transmission');
  if (absent) throw new ClientStartError(`${what}: ${absent}`);
  const conf = join(ctx.workDir, 'config');
  writeTransmissionConfig(conf, { ip: ctx.ip, peerPort: ctx.port, rpcPort: TRANSMISSION_RPC_PORT, downloadDir: ctx.dataDir });
  const p = new ClientProcess({ what, command: 'transmission-daemon', args: ['-f', '-g', conf], workDir: ctx.workDir });
  const remote = (...args: string[]) => transmissionRemote(ctx.ip, TRANSMISSION_RPC_PORT, args);
  await waitUntilStarted(
    p,
    () =>
      remote('-l').then(
        () => true,
        () => false,
      ),
    ctx.startUpTimeout,
  );
  try {
    await remote('-a', ctx.torrentFile);
  } catch (err) {
    await p.stop();
    throw new ClientStartError(`${what}: the torrent could not be added: ${(err as Error).message}`, p.stderrTail());
  }
  const info = () => remote('-t', '1', '-i').catch(() => '');
  // A seed is ready once it has checked its data and seeds (it is not done while it verifies).
  if (ctx.role === 'seed') {
    const deadline = Date.now() + (ctx.startUpTimeout ?? CLIENT_LIMITS.startUpTimeout);
    for (;;) {
      const last = await info();
      if (percentDone(last) >= 100) break;
      if (Date.now() > deadline || p.exitStatus) {
        await p.stop();
        const state = /State:\s*(.*)/.exec(last)?.[1] ?? 'unknown';
        throw new ClientStartError(`${what}: its data did not check complete (${percentDone(last)}%, state ${state}): is the payload in ${ctx.dataDir}?`, p.stderrTail());
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const files = new CompletionCheck(ctx.dataDir, ctx.torrent);
  return {
    label: ctx.label,
    pid: p.pid,
    complete: async () => percentDone(await info()) >= 100 && (await files.check()),
    exited: p.exited,
    stop: () => p.stop(),
    stderrTail: (lines) => p.stderrTail(lines),
  };
}
