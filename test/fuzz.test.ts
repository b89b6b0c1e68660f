// The CI run of the fuzz targets (fuzz/): each target's corpus (saved reproducers) and then a
// fixed number of generated inputs under a fixed seed, so the run is the same every time and
// bounded in time. `npm run fuzz -- --seconds N` runs the same targets for longer.

import { describe, expect, it } from 'vitest';
import { runTarget } from '../fuzz/run.ts';
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
