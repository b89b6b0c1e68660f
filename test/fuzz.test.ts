// The CI run of the fuzz targets (fuzz/): each target's corpus (saved reproducers) and then a
// fixed number of generated inputs under a fixed seed, so the run is the same every time and
// bounded in time. `npm run fuzz -- --seconds N` runs the same targets for longer.

import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { runTarget } from '../fuzz/run.ts';
import { fakeTrackerPort, trackerUdpTarget, type UdpInput } from '../fuzz/targets/tracker-udp.ts';
import { targets } from '../fuzz/targets.ts';

const SEED = 20_261_202;
/** A cap on the wall clock (shrinking a failure included) that a count-bounded run never reaches when all is well. */
const CAP_SECONDS = 20;

describe('fuzz targets (CI budget)', () => {
  for (const target of targets) {
    it(`${target.name}: ${target.ciRuns} inputs and the corpus keep every property`, { timeout: 60_000 }, async () => {
      const report = await runTarget(target, { seed: SEED, runs: target.ciRuns, seconds: CAP_SECONDS });
      const crashes = report.crashes.map((c) => `${c.origin}${c.file ? ` ${c.file}` : ''}: ${c.error}\n${c.stackTop}`);
      expect(crashes).toEqual([]);
      expect(report.inputs).toBe(target.ciRuns);
    });
  }

  it('every target has a unique name and a CI budget', () => {
    const names = targets.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of targets) expect(t.ciRuns).toBeGreaterThan(0);
  });
});

describe('tracker-udp target', () => {
  it('a connect an earlier input\'s socket sent, read late, is not taken for the next input\'s', { timeout: 30_000 }, async () => {
    // A valid exchange: the fake tracker must answer it, not the stray socket.
    const valid: UdpInput = {
      connect: { action: 0, echoTid: true, cut: 0, extra: 0, body: new Uint8Array(0), connectionId: new Uint8Array(8).fill(9) },
      announce: { action: 1, echoTid: true, cut: 0, extra: 0, body: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1]), interval: 60, leechers: 1, seeders: 2 },
    };
    const port = await fakeTrackerPort();
    const stray = createSocket('udp4');
    const connect = Buffer.alloc(16);
    connect.writeBigUInt64BE(0x41727101980n, 0);
    // Sent and waiting in the fake tracker's socket when the next input starts.
    await new Promise<void>((resolve, reject) => stray.send(connect, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    stray.close();
    await trackerUdpTarget.check(valid);
  });
});
