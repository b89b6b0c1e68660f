// The other BitTorrent clients of the interop tests, on 127.0.0.1 with DHT, LPD and PEX off: the
// client adapters' own definitions (sim/tcp/clients/: aria2's arguments, lt_client.py, a
// Transmission daemon's settings), run under the tests' bounded processes.

import { execFileSync } from 'node:child_process';
import { aria2Args as adapterAria2Args } from '../../sim/tcp/clients/aria2.ts';
import { PYTHON } from '../../sim/tcp/clients/installed.ts';
import { LT_CLIENT, ltClientArgs } from '../../sim/tcp/clients/libtorrent.ts';
import { percentDone, writeTransmissionConfig } from '../../sim/tcp/clients/transmission.ts';
import { tempDir } from './payloads.ts';
import { freePort, type Proc, type Procs, sleep } from './processes.ts';

export { LT_CLIENT };

/** aria2c on 127.0.0.1, announcing every 2 s; a leecher exits once complete. */
export function aria2Args(o: { port: number; dir: string; torrent: string; seed?: boolean }): string[] {
  return adapterAria2Args({ ...o, trackerInterval: 2 });
}

export function libtorrent(procs: Procs, name: string, mode: 'seed' | 'leech', source: string, save: string, port: number, peers: string[], seconds: number): Proc {
  return procs.spawn(name, PYTHON, ltClientArgs({ mode, source, save, port, peers }), { seconds });
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
  writeTransmissionConfig(conf, { ip: '127.0.0.1', peerPort, rpcPort, downloadDir });
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
  const percent = (id = 1) => percentDone(remote('-t', String(id), '-i'));
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
