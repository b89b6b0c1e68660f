// The results of `swarmlab test` as one JSON object: what `--json` prints and `--results FILE`
// writes, and what `swarmlab merge` reads back (checked with a schema: a file that is not such
// results is one error line) and writes again for the shards together.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { reproduceCommand } from '../sim/scenario/report.ts';
import { formatShard, type Shard } from '../sim/scenario/shard.ts';
import type { SuiteResult, SuiteRun, SweepRun } from '../sim/scenario/suite.ts';

const failure = z.object({ check: z.string(), message: z.string(), t: z.number().optional(), peer: z.string().optional() });
const violation = z.object({ t: z.number(), peer: z.string(), remote: z.string(), rule: z.string(), message: z.string(), bytes: z.string() });

const runJson = z.object({
  scenario: z.string(),
  file: z.string(),
  seed: z.string(),
  determinism: z.boolean(),
  ok: z.boolean(),
  failures: z.array(failure),
  traceHash: z.string().nullable(),
  violations: z.array(violation),
  violationCount: z.number(),
  wallMs: z.number(),
  transport: z.enum(['memory', 'tcp']),
  /** 1-based position in the whole sweep. */
  sweepIndex: z.number().int().positive(),
  reproduce: z.string(),
});

export const resultsJson = z.object({
  runs: z.array(runJson),
  passed: z.number(),
  failed: z.number(),
  wallMs: z.number(),
  sweep: z.object({
    /** Names the sweep (its files, seeds and reruns), so `merge` can tell shards of another apart. */
    id: z.string(),
    runs: z.number().int().nonnegative(),
    /** `I/N`, or null for the whole sweep. */
    shard: z.string().nullable(),
  }),
  plantedBug: z.string().nullable(),
});

export type ResultsJson = z.infer<typeof resultsJson>;

/** A short digest of which runs the sweep has: the same on every shard of it. */
export function sweepId(sweep: readonly SweepRun[]): string {
  const keys = sweep.map((r) => [r.path, r.seed, r.rerun]);
  return createHash('sha256').update(JSON.stringify(keys)).digest('hex').slice(0, 16);
}

export interface SweepInfo {
  id: string;
  shard?: Shard;
  plantedBug?: string;
}

export function suiteJson(suite: SuiteResult, sweep: SweepInfo): ResultsJson {
  return {
    runs: suite.runs.map((r) => ({
      scenario: r.name,
      file: r.path,
      seed: r.seed,
      determinism: r.rerun,
      ok: r.ok,
      failures: r.failures,
      traceHash: r.traceHash ?? null,
      violations: r.violations,
      violationCount: r.violationCount,
      wallMs: Math.round(r.wallMs),
      transport: r.transport ?? 'memory',
      sweepIndex: r.sweepIndex,
      reproduce: reproduceCommand(r.path, r.seed, sweep.plantedBug, r.transport),
    })),
    passed: suite.passed,
    failed: suite.failed,
    wallMs: Math.round(suite.wallMs),
    sweep: { id: sweep.id, runs: suite.sweepRuns, shard: sweep.shard ? formatShard(sweep.shard) : null },
    plantedBug: sweep.plantedBug ?? null,
  };
}

/** The suite a results object tells of, as `junitXml` and the summary take it. */
export function suiteOfJson(json: ResultsJson): SuiteResult {
  const runs: SuiteRun[] = json.runs.map((r, i) => ({
    path: r.file,
    name: r.scenario,
    seed: r.seed,
    rerun: r.determinism,
    index: i + 1,
    total: json.runs.length,
    sweepIndex: r.sweepIndex,
    ok: r.ok,
    failures: r.failures,
    ...(r.traceHash === null ? {} : { traceHash: r.traceHash }),
    wallMs: r.wallMs,
    violations: r.violations as SuiteRun['violations'],
    violationCount: r.violationCount,
    ...(r.transport === 'tcp' ? { transport: 'tcp' as const } : {}),
  }));
  return { runs, interrupted: false, planned: runs.length, passed: json.passed, failed: json.failed, wallMs: json.wallMs, sweepRuns: json.sweep.runs };
}
