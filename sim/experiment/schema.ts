// The experiment FILE format, checked with zod (unknown keys are errors, as in a scenario file):
// a base scenario (a path relative to the experiment file, or inline), the values to sweep (a
// scenario value path → the values it takes), the seeds run at every point, the metrics, and the
// published claim with the check that says whether the run reproduces it.

import { z } from 'zod';
import { strict } from '../scenario/schema.ts';
import { DEFAULT_METRICS, METRIC_NAMES } from './metrics.ts';
import { parseQuantity, UnitError } from '../scenario/units.ts';

const seed = z.union([z.string().min(1), z.number().int()]).transform(String);

const verdictSchema = strict({
  /** A scalar metric column (`t-last/tmin`, `entropy.mean`, …), its mean over seeds at each point. */
  metric: z.string().min(1),
  /** Every point's mean is at most / at least this (with `boundsOn: first`, the first point's). */
  atMost: z.number().optional(),
  atLeast: z.number().optional(),
  /**
   * Which points `atMost`/`atLeast` hold for: `every` (the default), or `first`, the baseline a
   * claim is about when the other points show what lowers it ("near-optimal with a fast seed; a
   * slow seed lowers it": `atLeast` on the first, `order` over all).
   */
  boundsOn: z.enum(['every', 'first']).optional(),
  /** The means rise or fall (not strictly) from point to point, in sweep order. */
  order: z.enum(['increasing', 'decreasing']).optional(),
  /** The metric does not depend on the sweep: (largest mean − smallest) ÷ smallest is at most this. */
  spreadAtMost: z.number().positive().optional(),
}).refine((v) => v.atMost !== undefined || v.atLeast !== undefined || v.order !== undefined || v.spreadAtMost !== undefined, { message: 'give at least one of atMost, atLeast, order, spreadAtMost' });

const sweepSchema = z.record(z.string(), z.array(z.unknown()).min(1, 'a swept value needs at least one value'));

/**
 * The full version (`swarmlab experiment --full`): the file as written is the small one CI runs;
 * this replaces its seeds and sweep and sets values in the base (value paths, as the sweep's).
 */
const fullSchema = strict({
  seeds: z.array(seed).min(1, 'expected at least one seed').optional(),
  sweep: sweepSchema.optional(),
  set: z.record(z.string(), z.unknown()).optional(),
});

export const experimentFileSchema = strict({
  name: z.string().min(1),
  description: z.string().optional(),
  /** The published result this experiment reproduces, shown beside the measured figure. */
  claim: z.string().optional(),
  base: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  sweep: sweepSchema.default({}),
  seeds: z.array(seed).min(1, 'expected at least one seed').default(['1']),
  metrics: z.array(z.enum(METRIC_NAMES)).min(1, 'expected at least one metric').default([...DEFAULT_METRICS]),
  /** How often the swarm is sampled for the series over time (`500ms`, `1s`). */
  sampleEvery: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      try {
        const ms = parseQuantity('duration', v);
        if (ms > 0) return ms;
      } catch (e) {
        if (!(e instanceof UnitError)) throw e;
      }
      ctx.addIssue({ code: 'custom', message: `expected a duration above 0, such as 500ms or 1s, got ${JSON.stringify(v)}` });
      return z.NEVER;
    })
    .default(1000),
  verdict: verdictSchema.optional(),
  full: fullSchema.optional(),
});

export type ExperimentFile = z.output<typeof experimentFileSchema>;
export type Verdict = NonNullable<ExperimentFile['verdict']>;
