// The live DHT on 127.0.0.1: the node:dgram DatagramPort carries datagrams both ways and survives
// sends to nowhere; three live nodes join through one, and a peer announced by one is found by
// another; a saved routing table lets a node rejoin without a bootstrap node.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerAddress } from '../engine/ports.ts';
import { LiveDht } from '../live/dht.ts';
import { UdpDatagrams } from '../live/udp-datagrams.ts';

const open: { close(): Promise<void> }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Resolves when `check()` holds; rejects after `ms` (a bound, not a speed target). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function dht(bootstrap: PeerAddress[], tablePath?: string): Promise<LiveDht> {
  const d = await LiveDht.create({ host: '127.0.0.1', port: 0, bootstrap, tablePath, retry: 100 });
  open.push(d);
  return d;
}

describe('UdpDatagrams', () => {
  it('carries a datagram each way with the sender address, and a send to a closed port is simply lost', async () => {
    const a = await UdpDatagrams.create({ host: '127.0.0.1', port: 0 });
    const b = await UdpDatagrams.create({ host: '127.0.0.1', port: 0 });
    open.push(a, b);
    const got: string[] = [];
    a.onDatagram((from, bytes) => got.push(`a<-${from.port}:${Buffer.from(bytes).toString()}`));
    b.onDatagram((from, bytes) => {
      got.push(`b<-${from.port}:${Buffer.from(bytes).toString()}`);
      b.send(from, Buffer.from('pong'));
    });
    a.send({ host: '127.0.0.1', port: 1 }, Buffer.from('lost'));
    a.send({ host: 'not a host', port: 99999 }, Buffer.from('lost'));
    a.send(b.localAddress, Buffer.from('ping'));
    await until(() => got.length >= 2, 5_000, 'reply');
    expect(got).toEqual([`b<-${a.localAddress.port}:ping`, `a<-${b.localAddress.port}:pong`]);
  });

  it('refuses a port already bound with one line naming it', async () => {
    const a = await UdpDatagrams.create({ host: '127.0.0.1', port: 0 });
    open.push(a);
    await expect(UdpDatagrams.create({ host: '127.0.0.1', port: a.localAddress.port })).rejects.toThrow(`cannot listen for DHT datagrams on 127.0.0.1:${a.localAddress.port}: EADDRINUSE`);
  });
});

describe('LiveDht', () => {
  it('a peer announced through one node is found by another that joined through the same node', async () => {
    const router = await dht([]);
    const seed = await dht([router.localAddress]);
    const leech = await dht([router.localAddress]);
    const infoHash = new Uint8Array(20).fill(7);
    seed.track(infoHash, () => {}, 5555);
    const found: PeerAddress[] = [];
    leech.track(infoHash, (peers) => found.push(...peers));
    await until(() => found.some((p) => p.port === 5555), 15_000, 'peer through the DHT');
    expect(found.find((p) => p.port === 5555)).toEqual({ host: '127.0.0.1', port: 5555 });
    expect(router.node.storedPeers(infoHash)).toEqual([{ host: '127.0.0.1', port: 5555 }]);
  });

  it('a paused tracking sends nothing and looks up again on resume (a paused torrent)', async () => {
    const router = await dht([]);
    const leech = await dht([router.localAddress]);
    // Nobody announced: the lookup finds no peers and is retried every ~100 ms (doubling).
    const t = leech.track(new Uint8Array(20).fill(9), () => {});
    await until(() => leech.node.stats.queriesSent > 2, 5_000, 'first lookups');
    t.pause();
    await new Promise((r) => setTimeout(r, 100)); // what was in flight settles
    const paused = leech.node.stats.queriesSent;
    await new Promise((r) => setTimeout(r, 700));
    expect(leech.node.stats.queriesSent).toBe(paused);
    t.resume();
    await until(() => leech.node.stats.queriesSent > paused, 2_000, 'a lookup after resume');
    t.stop();
  });

  it('rejoins from a saved routing table without any bootstrap node; a garbled table is ignored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dht-table-'));
    dirs.push(dir);
    const router = await dht([]);
    const first = await dht([router.localAddress]);
    await first.joined;
    expect(first.node.table.size).toBe(1);
    const path = join(dir, 'dht.json');
    first.save(path);
    const again = await dht([], path);
    await again.joined;
    // It asked the router (from the file), which named `first` too; the router now knows both.
    expect(again.node.table.size).toBe(2);
    expect(router.node.table.size).toBe(2);
    writeFileSync(path, '{not json');
    const lines: string[] = [];
    const d = await LiveDht.create({ host: '127.0.0.1', port: 0, bootstrap: [], tablePath: path, log: (l) => lines.push(l) });
    open.push(d);
    expect(lines).toEqual([`${path}: not a saved DHT routing table; ignored`]);
  });
});
