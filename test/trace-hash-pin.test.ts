// Pinned trace hashes: the same scenario and seed give the same trace, byte for byte, on any
// machine and Node version. Determinism tests elsewhere compare two runs in one process; only a
// pinned value catches a change across machines (an iteration order, a float, a library upgrade).
//
// When behaviour changes on purpose, these change with it: run
//   node bin/swarmlab.mjs run scenarios/<name>.yaml --seed <seed> --json
// paste the new `traceHash` here, and say in the commit message why the trace changed.

import { describe, expect, it } from 'vitest';
import { loadScenario, runResolved } from '../sim/scenario/load.ts';

const PINNED = [
  // One seed, twenty leechers, 4 MiB: the README's quick start.
  { file: 'scenarios/default.yaml', seed: '1', traceHash: '677161d15ec145a659a1e6cae2f7376216555042e18a52b8cf64fdf63ce3865f' },
  // Loss, latency spikes and resets: the fault injector's random streams too.
  { file: 'scenarios/flaky-links.yaml', seed: '1', traceHash: 'd6b0783c997697aab6edde25b49c7c18b8a5ca1fb4df503fbef737952820c796' },
];

describe('pinned trace hashes', () => {
  for (const { file, seed, traceHash } of PINNED) {
    it(`${file} on seed ${seed} gives the pinned trace`, { timeout: 60_000 }, () => {
      const result = runResolved(loadScenario(file, seed), seed);
      expect(result.ok).toBe(true);
      expect(result.traceHash, `the trace of ${file} seed ${seed} changed; if on purpose, update the pin (see the top of this file)`).toBe(traceHash);
    });
  }
});
