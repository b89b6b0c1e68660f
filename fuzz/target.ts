// What a fuzz target is: a fast-check generator of inputs and a check that states the properties
// every input must keep. The runner (run.ts) feeds one to the other; the CLI (main.ts) and
// test/fuzz.test.ts both go through the runner.

import type * as fc from 'fast-check';

export interface FuzzTarget<T> {
  /** Short name, used by `--target` and as the corpus folder. */
  name: string;
  /** What is fuzzed and which properties are checked, for `--list` and the docs. */
  description: string;
  arbitrary: fc.Arbitrary<T>;
  /**
   * Throws when the input breaks a property (a PropertyViolation, or whatever escaped the code
   * under test). Returning means the input was handled as the code's contract says.
   */
  check(input: T): void | Promise<void>;
  /** Inputs for the CI run of test/fuzz.test.ts (a few seconds for all targets together). */
  ciRuns: number;
  /** An input taking longer than this (ms) is reported as slow. */
  slowMs: number;
}

/** A property that an input broke: the error every oracle throws. */
export class PropertyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyViolation';
  }
}

export function expect(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new PropertyViolation(typeof message === 'string' ? message : message());
}

/**
 * Runs `fn`, which may throw only errors of the `allowed` classes (the code's typed errors).
 * Returns the value, or the typed error it threw; any other throw is a violation that carries the
 * original error as its cause (its stack top names the file at fault).
 */
export function typedOutcome<R>(fn: () => R, allowed: readonly (abstract new (...args: never[]) => Error)[], what: string): { value: R } | { error: Error } {
  try {
    return { value: fn() };
  } catch (error) {
    if (allowed.some((type) => error instanceof type)) return { error: error as Error };
    throw escaped(error, what);
  }
}

/** The violation for an error that escaped `what` although it is not one of its typed errors. */
export function escaped(error: unknown, what: string): PropertyViolation {
  const name = error instanceof Error ? error.name : typeof error;
  const violation = new PropertyViolation(`${what} threw ${name}: ${error instanceof Error ? error.message : String(error)}`);
  violation.cause = error;
  if (error instanceof Error && error.stack) violation.stack = `${violation.name}: ${violation.message}\n  caused by ${error.stack}`;
  return violation;
}
