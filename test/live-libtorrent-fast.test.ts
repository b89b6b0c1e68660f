// BEP 6 and BEP 9 against libtorrent-rasterbar (python3-libtorrent) on 127.0.0.1: a libtorrent
// leecher that swarmlab chokes gets swarmlab's allowed-fast set and its requests for those pieces
// are served (swarmlab never unchokes it); and a magnet link is resolved from a libtorrent seed that
// dials swarmlab (the fetcher's inbound connection), then downloaded from it (dialled back at the
// listening port its BEP 10 handshake gave).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedFastAddress, allowedFastSet } from '../engine/allowed-fast.ts';
import { parseTorrent } from '../engine/metainfo.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { libtorrent } from './helpers/clients.ts';
import { missing } from './helpers/installed.ts';
import { makeCases } from './helpers/interop-cases.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees } from './helpers/payloads.ts';
import { freePort, sleep } from './helpers/processes.ts';
import { summaryOf } from './helpers/swarmlab-cli.ts';

const skip = missing('libtorrent');
if (skip) console.warn(`live-libtorrent-fast: skipped — ${skip}`);

describe.skipIf(!!skip)(`BEP 6 and BEP 9 with libtorrent${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { procs, work, addCleanup } = useLiveWorkspace();

  it('a libtorrent leecher that swarmlab chokes gets the allowed-fast set and is served those pieces', async () => {
    const dir = work('lt-fast');
    const [single] = makeCases(dir);
    const torrent = parseTorrent(readFileSync(single.torrent));
    const network = await TcpNetwork.create({ host: '127.0.0.1' });
    const events: TraceEvent[] = [];
    // No upload slot and no optimistic unchoke: the leecher is choked for good.
    const session = new LiveSession({
      torrent,
      dir: single.payloadDir,
      network,
      initial: 'check',
      trace: { emit: (e) => events.push({ ...e }) },
      settings: { uploadSlots: 0, optimisticUnchoke: false, allowedFastWhileSeeding: true },
    });
    addCleanup(() => session.stop('test over', 0));
    session.start();
    const leech = libtorrent(procs(), 'lt-leech', 'leech', single.torrent, join(dir, 'out'), await freePort(), [`127.0.0.1:${network.localAddress.port}`], 60);
    const set = new Set(allowedFastSet(allowedFastAddress('127.0.0.1'), torrent.infoHash, torrent.pieceCount, 5, true));
    const served = () => events.filter((e) => e.node === 'requestChoked' && e.allowedFast === true).length;
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && served() < 8 && leech.code === undefined) await sleep(200);
    const granted = events.find((e) => e.node === 'oallowedFast');
    expect(granted, `no allowed-fast set sent; libtorrent: ${leech.stderr.slice(-1500)}`).toBeDefined();
    expect(new Set(granted!.pieces as number[])).toEqual(set);
    // libtorrent asked for allowed-fast pieces while choked, and they were queued and sent.
    expect(served(), leech.stderr.slice(-1500)).toBeGreaterThanOrEqual(8);
    const asked = events.filter((e) => e.node === 'request' && events[events.indexOf(e) + 1]?.allowedFast === true).map((e) => e.piece as number);
    expect(asked.every((p) => set.has(p))).toBe(true);
    expect(session.client.connections().reduce((n, c) => n + c.uploaded, 0)).toBeGreaterThan(0);
    expect(events.some((e) => e.node === 'ounchoke')).toBe(false);
  }, 90_000);

  it("a libtorrent seed grants swarmlab the allowed-fast set BEP 6's algorithm gives for 127.0.0.1 (unmasked, as for a local address)", async () => {
    const dir = work('lt-fast-granted');
    const [single] = makeCases(dir);
    const torrent = parseTorrent(readFileSync(single.torrent));
    const ltPort = await freePort();
    const seed = libtorrent(procs(), 'lt-seed', 'seed', single.torrent, single.payloadDir, ltPort, [], 60);
    await seed.waitFor(/listening \d+/, 20_000);
    const network = await TcpNetwork.create({ host: '127.0.0.1' });
    const events: TraceEvent[] = [];
    const session = new LiveSession({ torrent, dir: join(dir, 'out'), network, initial: 'empty', trace: { emit: (e) => events.push({ ...e }) }, peers: [{ host: '127.0.0.1', port: ltPort }] });
    addCleanup(() => session.stop('test over', 0));
    session.start();
    // libtorrent sends its set (allowed_fast_set_size 5) once it knows we have no pieces.
    const allowed = () => events.filter((e) => e.node === 'allowedFast' && e.ignored === undefined).map((e) => e.piece as number);
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && allowed().length < 5 && seed.code === undefined) await sleep(200);
    expect(allowed(), `ALLOWED FAST from libtorrent: ${seed.stderr.slice(-1500)}`).toEqual(allowedFastSet(allowedFastAddress('127.0.0.1'), torrent.infoHash, torrent.pieceCount, 5, true));
    // Requesting them while choked is tested with scripted peers (test/extension-paths.test.ts): libtorrent unchokes us at once.
  }, 90_000);

  it('resolves a magnet link from a libtorrent seed that dials swarmlab, then downloads it', async () => {
    const dir = work('lt-magnet-inbound');
    const [, multi] = makeCases(dir);
    const port = await freePort();
    const trace = join(dir, 'magnet.trace');
    const magnet = `magnet:?xt=urn:btih:${multi.hash}&dn=album`;
    // No --peer and no tracker: the only way in is the seed dialling our listening port.
    const dl = procs().swarmlab('swarmlab', ['download', magnet, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--port', String(port), '--json', '--trace', trace], 90);
    // Listening once it says so: a refused dial would put libtorrent's redial a minute away.
    await dl.waitFor(/fetching metadata/, 30_000);
    const seed = libtorrent(procs(), 'lt-seed', 'seed', multi.torrent, multi.payloadDir, await freePort(), [`127.0.0.1:${port}`], 90);
    expect(await dl.exit(90_000), `${dl.stderr}${dl.stdout}\nlibtorrent: ${seed.stderr.slice(-1500)}`).toBe(0);
    expect(summaryOf(dl)).toMatchObject({ ok: true, complete: true, infoHash: multi.hash });
    expect(compareTrees(multi.source, join(dir, 'out', 'album'))).toEqual([]);
    const events = readFileSync(trace, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as TraceEvent);
    // The metadata came over a connection the seed opened.
    const check = events.find((e) => e.node === 'metadataCheck' && e.ok === true);
    expect(check).toBeDefined();
    expect(events.some((e) => e.node === 'connect' && e.remote === check!.remote && e.inbound === true)).toBe(true);
    // The download dialled the seed back at the port its BEP 10 handshake gave.
    expect(events.some((e) => e.kind === 'connect' && e.inbound === false)).toBe(true);
  }, 120_000);
});
