// Pause and resume in live mode (SIGUSR1 on `swarmlab download`), on 127.0.0.1: the pause tells
// the tracker `stopped` and closes every connection; the resume announces `started` again, keeps
// the pieces verified before the pause and fetches only the rest.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { compareTrees, singlePayload } from './helpers/payloads.ts';
import { freePort, type Proc, sleep } from './helpers/processes.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

const { procs, work, addCleanup } = useLiveWorkspace();

const PIECE = 65536;
const PIECES = 40;
const GOOD = 25;

/** An HTTP tracker that records each announce's event by port and hands out whichever peers it is told. */
async function scriptedTracker(): Promise<{ url: string; events: (port: number) => string[]; setPeers: (ports: number[]) => void }> {
  const announces: { port: number; event: string }[] = [];
  let peers = new Uint8Array(0);
  const server = createServer((req, res) => {
    const query = new URL(req.url!, 'http://x').searchParams;
    announces.push({ port: Number(query.get('port')), event: query.get('event') ?? 'periodic' });
    res.end(Buffer.from(bencodeValue({ interval: 1800, peers })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  addCleanup(() => new Promise<void>((r) => server.close(() => r())));
  const setPeers = (ports: number[]) => {
    peers = new Uint8Array(ports.length * 6);
    ports.forEach((port, i) => {
      peers.set([127, 0, 0, 1, port >> 8, port & 0xff], i * 6);
    });
  };
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`,
    events: (port) => announces.filter((a) => a.port === port).map((a) => a.event),
    setPeers,
  };
}

/** The last `progress` line of `download --json` so far. */
function lastProgress(stdout: string): { have: number; peers: number; downloaded: number } | undefined {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('"type":"progress"'));
  return line ? JSON.parse(line) : undefined;
}

/** SIGUSR1 to the swarmlab process itself: `Procs` runs it under `timeout`, which would die of it. */
function pauseKey(p: Proc): void {
  const child = execFileSync('pgrep', ['-P', String(p.pid)]).toString().trim().split('\n')[0];
  process.kill(Number(child), 'SIGUSR1');
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

describe('swarmlab download: pause and resume (SIGUSR1)', () => {
  it('pause: stopped announced, peers dropped, verified pieces kept; resume: started, only the rest fetched', async () => {
    const dir = work('pause');
    const file = singlePayload(join(dir, 'full'), 'payload.bin', PIECES * PIECE);
    const tracker = await scriptedTracker();
    const torrentPath = join(dir, 'x.torrent');
    createTorrentFile(file, torrentPath, { trackers: [tracker.url], pieceLength: PIECE });

    // A partial seed: the first GOOD pieces right, the rest garbage, so the leecher gets exactly
    // GOOD pieces before the pause, whatever the speed of the machine.
    const original = readFileSync(file);
    const partial = Buffer.alloc(original.length, 0x5a);
    original.copy(partial, 0, 0, GOOD * PIECE);
    mkdirSync(join(dir, 'partial'), { recursive: true });
    writeFileSync(join(dir, 'partial', 'payload.bin'), partial);
    const partialPort = await freePort();
    const partialSeed = procs().swarmlab('partial-seed', ['seed', torrentPath, join(dir, 'partial'), '--bind', '127.0.0.1', '--port', String(partialPort)], 90);
    await partialSeed.waitFor(/seeding what is good/, 30_000);
    tracker.setPeers([partialPort]);

    const leecherPort = await freePort();
    const leecher = procs().swarmlab('download', ['download', torrentPath, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--port', String(leecherPort), '--json'], 90);
    await until(`the leecher holds the ${GOOD} good pieces`, () => lastProgress(leecher.stdout)?.have === GOOD, 30_000);

    pauseKey(leecher);
    await leecher.waitFor(/paused/, 10_000);
    await until('the tracker hears stopped', () => tracker.events(leecherPort).includes('stopped'), 10_000);
    await until('the paused leecher has no peer', () => lastProgress(leecher.stdout.slice(leecher.stdout.lastIndexOf('paused')))?.peers === 0, 10_000);
    expect(tracker.events(leecherPort)).toEqual(['started', 'stopped']);
    partialSeed.child.kill('SIGTERM');
    expect(await partialSeed.exit(15_000)).not.toBeNull();

    // The whole payload elsewhere; the tracker now hands out only this seed.
    const fullPort = await freePort();
    const fullSeed = procs().swarmlab('full-seed', ['seed', torrentPath, join(dir, 'full'), '--bind', '127.0.0.1', '--port', String(fullPort)], 90);
    await fullSeed.waitFor(/seeding payload.bin on port/, 30_000);
    tracker.setPeers([fullPort]);

    pauseKey(leecher);
    await leecher.waitFor(/resumed/, 10_000);
    expect(await leecher.exit(60_000), leecher.stderr).toBe(0);
    expect(tracker.events(leecherPort)).toEqual(['started', 'stopped', 'started', 'completed', 'stopped']); // the last: download exits when done
    const summary = summaryOf(leecher)!;
    expect(summary).toMatchObject({ ok: true, complete: true, have: PIECES });
    // The pieces verified before the pause were kept: nothing was fetched twice.
    expect(summary.downloaded).toBe(PIECES * PIECE);
    expect(compareTrees(file, join(dir, 'out', 'payload.bin'))).toEqual([]);
  }, 150_000);
});
