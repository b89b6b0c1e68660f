// `download --dht` and `seed --dht` on 127.0.0.1, swarmlab with itself: the seed is the first DHT
// node (--no-dht-bootstrap) and the downloader's only bootstrap; given nothing but a magnet link
// without trackers or peers, the downloader finds the seed through the DHT, fetches the metadata
// (BEP 9) and the pieces, and leaves its routing table in the output folder.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTorrent } from '../engine/metainfo.ts';
import { DHT_TABLE_FILE } from '../cli/live-common.ts';
import { UdpDatagrams } from '../live/udp-datagrams.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees, multiPayload } from './helpers/payloads.ts';
import { freePort } from './helpers/processes.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

const { procs, work, addCleanup } = useLiveWorkspace();

describe('swarmlab download --dht', () => {
  it('a magnet link with no trackers and no peers completes from a seed found through the DHT', async () => {
    const dir = work('dht');
    const root = multiPayload(join(dir, 'seed'), 'album');
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(root, torrentPath, { pieceLength: 65536 });
    const infoHash = parseTorrent(readFileSync(torrentPath)).infoHashHex;
    const seedDhtPort = await freePort();
    const seed = procs().swarmlab('seed', ['seed', torrentPath, join(dir, 'seed'), '--bind', '127.0.0.1', '--dht', '--dht-port', String(seedDhtPort), '--no-dht-bootstrap'], 90);
    await seed.waitFor(/seeding album on port/, 30_000);
    expect(seed.stderr).toContain(`DHT node on UDP port ${seedDhtPort}, joining through 0 bootstrap node(s)`);
    const out = join(dir, 'out');
    const dl = procs().swarmlab('dl', ['download', `magnet:?xt=urn:btih:${infoHash}`, '-o', out, '--bind', '127.0.0.1', '--dht', '--dht-bootstrap', `127.0.0.1:${seedDhtPort}`, '--json'], 90);
    expect(await dl.exit(90_000), dl.stdout.slice(-3000)).toBe(0);
    expect(dl.stdout).toContain('from 0 peer(s) and 0 tracker(s) and the DHT');
    expect(summaryOf(dl)).toMatchObject({ ok: true, complete: true, infoHash });
    expect(compareTrees(root, join(out, 'album'))).toEqual([]);
    // The routing table it leaves holds the seed's node, for the next run to join through.
    const table = JSON.parse(readFileSync(join(out, DHT_TABLE_FILE), 'utf8')) as { nodes: { host: string; port: number }[] };
    expect(table.nodes).toContainEqual(expect.objectContaining({ host: '127.0.0.1', port: seedDhtPort }));
  }, 120_000);

  it('a DHT port already in use is one line and exit 2, the TCP listener closed with it', async () => {
    const taken = await UdpDatagrams.create({ host: '127.0.0.1', port: 0 });
    addCleanup(() => taken.close());
    const port = taken.localAddress.port;
    const dl = procs().swarmlab('dl', ['download', `magnet:?xt=urn:btih:${'ab'.repeat(20)}`, '-o', join(work('dht-port'), 'out'), '--bind', '127.0.0.1', '--dht', '--dht-port', String(port), '--no-dht-bootstrap'], 30);
    expect(await dl.exit(30_000)).toBe(2);
    expect(dl.stderr.trim()).toBe(`swarmlab: cannot listen for DHT datagrams on 127.0.0.1:${port}: EADDRINUSE`);
  }, 40_000);
});
