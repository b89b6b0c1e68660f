// Scenarios in a user's own vitest files: the package's `swarmlab/vitest` entry (vitest is its
// peer dependency, so these register tests with the user's own vitest).
//
//   import { expectScenario, scenarioTests } from 'swarmlab/vitest';
//
//   it('survives a partition', () => {
//     const [result] = expectScenario('scenarios/partition-heals.yaml', { seeds: ['3'] });
//     expect(result.bans).toEqual([]);
//   });
//
//   scenarioTests('scenarios/flash-crowd.yaml', { seeds: 5 });   // one test per seed
//   scenarioTests(['scenarios/churn.yaml', 'scenarios/free-rider.yaml']);   // …per file and seed
//
// A failing run fails the test with every failure and the one command that reproduces it.

import { describe, it } from 'vitest';
import { loadScenarioFile, runScenario, type ScenarioFile, type ScenarioRunOptions } from './load.ts';
import { describeFailure, reproduceCommand } from './report.ts';
import { seedList } from './seeds.ts';
import type { ScenarioResult } from './types.ts';

export interface ScenarioSeeds {
  /** The seeds to run: a list, or K for the scenario's listed seeds and K more (default 0). */
  seeds?: readonly (string | number)[] | number;
}

export interface ExpectScenarioOptions extends ScenarioSeeds, ScenarioRunOptions {
  /** Also run the first seed a second time and require the same trace hash (default false). */
  determinism?: boolean;
}

export class ScenarioFailedError extends Error {
  constructor(
    readonly scenario: string,
    readonly failed: ScenarioResult[],
    readonly seeds: number,
    how: (r: ScenarioResult) => string,
  ) {
    super(`scenario ${scenario} failed on ${failed.length} of ${seeds} seed${seeds === 1 ? '' : 's'}:\n${failed.map(how).join('\n')}`);
    this.name = 'ScenarioFailedError';
  }
}

/** The seeds a scenario is run on, given what the caller asked for. */
export function seedsOf(file: ScenarioFile, seeds: ScenarioSeeds['seeds']): string[] {
  return typeof seeds === 'object' ? seeds.map(String) : seedList(file.seeds, seeds ?? 0);
}

/**
 * Runs a scenario (a file path, or a file checked with checkScenario) on its seeds and returns the
 * results; throws ScenarioFailedError if any run fails, naming each failure and how to replay it.
 */
export function expectScenario(source: string | ScenarioFile, options: ExpectScenarioOptions = {}): ScenarioResult[] {
  const file = typeof source === 'string' ? loadScenarioFile(source) : source;
  const seeds = seedsOf(file, options.seeds);
  const run = (seed: string) => runScenario(file, seed, { traceOut: options.traceOut, plantedBug: options.plantedBug });
  const results = seeds.map(run);
  if (options.determinism && seeds.length > 0) {
    const again = run(seeds[0]);
    if (again.traceHash !== results[0].traceHash) {
      const failures = [{ check: 'determinism', message: `seed ${seeds[0]} gave trace ${results[0].traceHash} and then ${again.traceHash}` }];
      results.push({ ...again, ok: false, failures });
    }
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    const replay = (seed: string) =>
      typeof source === 'string' ? reproduceCommand(source, seed, options.plantedBug) : `runScenario(<this scenario>, ${JSON.stringify(seed)})`;
    const how = (r: ScenarioResult) => [`  seed ${r.seed}:`, ...r.failures.map((f) => `    ${describeFailure(f)}`), `    reproduce: ${replay(r.seed)}`].join('\n');
    throw new ScenarioFailedError(file.name, failed, seeds.length, how);
  }
  return results;
}

export interface ScenarioTestsOptions extends ScenarioSeeds, ScenarioRunOptions {
  /** Each test's time-out in ms (default 60 s). */
  timeout?: number;
}

/** Registers a `describe` for each scenario file with one test per seed. */
export function scenarioTests(paths: string | readonly string[], options: ScenarioTestsOptions = {}): void {
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const file = loadScenarioFile(path);
    describe(`scenario ${file.name}`, () => {
      for (const seed of seedsOf(file, options.seeds)) {
        it(`seed ${seed}`, { timeout: options.timeout ?? 60_000 }, () => {
          expectScenario(path, { seeds: [seed], plantedBug: options.plantedBug, traceOut: options.traceOut });
        });
      }
    });
  }
}
