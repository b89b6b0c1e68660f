// The other BitTorrent clients of the interop tests, on 127.0.0.1 with DHT, LPD and PEX off:
// aria2's arguments, libtorrent through test/helpers/lt_client.py, and a Transmission daemon
// driven by transmission-remote.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON } from './installed.ts';
import { tempDir } from './payloads.ts';
import { freePort, type Proc, type Procs, ROOT, sleep } from './processes.ts';

export const LT_CLIENT = join(ROOT, 'test', 'helpers', 'lt_client.py');

export function aria2Args(o: { port: number; dir: string; torrent: string; seed?: boolean }): string[] {
  return [
    `--listen-port=${o.port}`,
    '--interface=127.0.0.1',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--seed-ratio=0.0',
    '--bt-seed-unverified=true',
    '--file-allocation=none',
    '--no-conf=true',
    '--check-integrity=true',
    '--bt-tracker-interval=2',
    '--summary-interval=1',
    '--console-log-level=notice',
    ...(o.seed ? [] : ['--seed-time=0']),
    `--dir=${o.dir}`,
    o.torrent,
  ];
}

export function libtorrent(procs: Procs, name: string, mode: 'seed' | 'leech', source: string, save: string, port: number, peers: string[], seconds: number): Proc {
  return procs.spawn(name, PYTHON, [LT_CLIENT, mode, source, save, String(port), ...peers], { seconds });
}

export interface Transmission {
  peerPort: number;
  rpcPort: number;
  remote(...args: string[]): string;
  /** Percent done of torrent `id` (1, 2, … in the order added), from `transmission-remote -t ID -i`. */
  percent(id?: number): number;
  waitForPercent(n: number, ms: number, id?: number): Promise<void>;
}

export async function startTransmission(procs: Procs, name: string, downloadDir: string, seconds: number): Promise<Transmission> {
  const conf = tempDir('transmission');
  procs.dirs.push(conf);
  const peerPort = await freePort();
  const rpcPort = await freePort();
  mkdirSync(downloadDir, { recursive: true });
  writeFileSync(
    join(conf, 'settings.json'),
    JSON.stringify({
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      'dht-enabled': false,
      'lpd-enabled': false,
      'utp-enabled': false,
      'pex-enabled': false,
      'port-forwarding-enabled': false,
      'peer-port': peerPort,
      'peer-port-random-on-start': false,
      'rpc-port': rpcPort,
      'rpc-bind-address': '127.0.0.1',
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': false,
      'rpc-host-whitelist-enabled': false,
      'download-dir': downloadDir,
      'incomplete-dir-enabled': false,
      'start-added-torrents': true,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      encryption: 0,
      'message-level': 2,
    }),
  );
  const p = procs.spawn(name, 'transmission-daemon', ['-f', '-g', conf], { seconds });
  const remote = (...args: string[]) => execFileSync('transmission-remote', [`127.0.0.1:${rpcPort}`, ...args], { timeout: 10_000 }).toString();
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      remote('-l');
      break;
    } catch {
      if (Date.now() > deadline || p.code !== undefined) throw new Error(`transmission-daemon did not start: ${p.stderr}`);
      await sleep(200);
    }
  }
  const percent = (id = 1) => {
    const m = /Percent Done:\s*([\d.]+)%/.exec(remote('-t', String(id), '-i'));
    return m ? Number(m[1]) : 0;
  };
  return {
    peerPort,
    rpcPort,
    remote,
    percent,
    waitForPercent: async (n, ms, id = 1) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (percent(id) >= n) return;
        await sleep(500);
      }
      throw new Error(`${name}: torrent ${id} not at ${n}% after ${ms} ms:\n${remote('-t', String(id), '-i')}\n${p.stderr.slice(-2000)}`);
    },
  };
}
