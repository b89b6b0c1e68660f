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
  { file: 'scenarios/default.yaml', seed: '1', traceHash: 'e19b44054727a36bd32640969b24ebd4d4d7b10bc589cb447f2eed5907b86d53' },
  // Loss, latency spikes and resets: the fault injector's random streams too.
  { file: 'scenarios/flaky-links.yaml', seed: '1', traceHash: 'a370b4937d54abe22a880fcafc708098c2974786bdf63bb661397b62fce647df' },
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
