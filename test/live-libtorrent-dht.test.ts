// The DHT with Debian's libtorrent on 127.0.0.1, each way, from magnet links without trackers or
// peers. Ours downloading: our node is the only one (--no-dht-bootstrap); a libtorrent seed
// bootstrapped to it joins (find_node), gets a token (get_peers) and announces (announce_peer); our
// node takes the announce and the downloader fetches the metadata (BEP 9) and every piece. Ours
// seeding: a libtorrent leech bootstrapped to our seed's node; our seed announces to libtorrent's
// node once it has joined, and libtorrent finds the seed there.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTorrent } from '../engine/metainfo.ts';
import { ltClientArgs } from '../sim/tcp/clients/libtorrent.ts';
import { missing, PYTHON } from './helpers/installed.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees, multiPayload } from './helpers/payloads.ts';
import { freePort } from './helpers/processes.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

const skip = missing('libtorrent');
if (skip) console.warn(`live-libtorrent-dht: skipped — ${skip}`);

const { procs, work } = useLiveWorkspace();

describe.skipIf(!!skip)(`the DHT with libtorrent${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a libtorrent seed announces to our node; our magnet download without trackers completes from it', async () => {
    const dir = work('lt-dht');
    const root = multiPayload(join(dir, 'seed'), 'album');
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(root, torrentPath, { pieceLength: 65536 });
    const infoHash = parseTorrent(readFileSync(torrentPath)).infoHashHex;
    const dhtPort = await freePort();
    const out = join(dir, 'out');
    const dl = procs().swarmlab('dl', ['download', `magnet:?xt=urn:btih:${infoHash}`, '-o', out, '--bind', '127.0.0.1', '--dht', '--dht-port', String(dhtPort), '--no-dht-bootstrap', '--trace', join(dir, 'dl.trace'), '--json'], 100);
    await dl.waitFor(/DHT node on UDP port/, 30_000);
    const seed = procs().spawn('lt-seed', PYTHON, ltClientArgs({ mode: 'seed', source: torrentPath, save: join(dir, 'seed'), port: await freePort(), dht: `127.0.0.1:${dhtPort}` }), { seconds: 100, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    await seed.waitFor(/listening \d+/, 30_000);
    expect(await dl.exit(90_000), `${dl.stdout.slice(-3000)}\n${seed.stderr.slice(-2000)}`).toBe(0);
    expect(summaryOf(dl)).toMatchObject({ ok: true, complete: true, infoHash });
    expect(compareTrees(root, join(out, 'album'))).toEqual([]);
    // The way it found the seed: libtorrent's announce_peer, taken by our node (a reply, not an error).
    const krpc = readFileSync(join(dir, 'dl.trace'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'krpc');
    const announce = krpc.find((e) => e.dir === 'in' && e.method === 'announce_peer');
    expect(announce).toBeDefined();
    expect(krpc.find((e) => e.dir === 'out' && e.tid === announce.tid && e.remote === announce.remote)).toMatchObject({ y: 'r' });
  }, 120_000);

  it('a libtorrent leech bootstrapped to the node of our seed finds it through the DHT from a magnet link without trackers', async () => {
    const dir = work('lt-dht-leech');
    const root = multiPayload(join(dir, 'seed'), 'album');
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(root, torrentPath, { pieceLength: 65536 });
    const infoHash = parseTorrent(readFileSync(torrentPath)).infoHashHex;
    const dhtPort = await freePort();
    const seed = procs().swarmlab('seed', ['seed', torrentPath, join(dir, 'seed'), '--bind', '127.0.0.1', '--dht', '--dht-port', String(dhtPort), '--no-dht-bootstrap'], 100);
    await seed.waitFor(/seeding album on port/, 30_000);
    const out = join(dir, 'out');
    const leech = procs().spawn('lt-leech', PYTHON, ltClientArgs({ mode: 'leech', source: `magnet:?xt=urn:btih:${infoHash}`, save: out, port: await freePort(), dht: `127.0.0.1:${dhtPort}` }), { seconds: 100, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    expect(await leech.exit(90_000), `${leech.stderr.slice(-3000)}\n${seed.stderr.slice(-2000)}`).toBe(0);
    expect(leech.stdout).toMatch(/^done /m);
    expect(compareTrees(root, join(out, 'album'))).toEqual([]);
  }, 120_000);
});
