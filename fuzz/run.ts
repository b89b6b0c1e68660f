// Runs one target: first every corpus file of the target (regression inputs), then fast-check's
// generator for a number of inputs or a time budget, under one seed. A failing input is shrunk by
// fast-check and saved as a reproducer; inputs over the target's time bound are counted as slow.

import * as fc from 'fast-check';
import { type CorpusEntry, encodeInput, loadCorpus, saveCorpusEntry } from './corpus.ts';
import type { FuzzTarget } from './target.ts';

export interface RunLimits {
  seed: number;
  /** Stop after this many generated inputs... */
  runs?: number;
  /** ...or after this many seconds (whichever comes first). */
  seconds?: number;
  /** Save reproducers and slow inputs into the corpus (the CLI does; CI does not). */
  save?: boolean;
  corpusDir?: string;
}

export interface Crash {
  /** 'corpus' for a saved reproducer that still fails, 'generated' for a new one. */
  origin: 'corpus' | 'generated';
  error: string;
  /** The first lines of the stack, naming the file at fault. */
  stackTop: string;
  input: unknown;
  /** Where it was saved (or the corpus file it came from). */
  file?: string;
}

export interface TargetReport {
  target: string;
  seed: number;
  corpusInputs: number;
  /** Generated inputs that ran (shrinking steps not counted). */
  inputs: number;
  seconds: number;
  inputsPerSecond: number;
  crashes: Crash[];
  slow: { ms: number; input: unknown; file?: string }[];
}

/** Keeps the few slowest inputs, not every one. */
const SLOW_KEPT = 5;

export async function runTarget<T>(target: FuzzTarget<T>, limits: RunLimits): Promise<TargetReport> {
  const report: TargetReport = { target: target.name, seed: limits.seed, corpusInputs: 0, inputs: 0, seconds: 0, inputsPerSecond: 0, crashes: [], slow: [] };
  const noteSlow = (ms: number, input: unknown, file?: string) => {
    report.slow.push({ ms, input, file });
    report.slow.sort((a, b) => b.ms - a.ms);
    report.slow.length = Math.min(report.slow.length, SLOW_KEPT);
  };

  for (const { file, entry } of loadCorpus(target.name, limits.corpusDir)) {
    report.corpusInputs++;
    const started = performance.now();
    try {
      await target.check(entry.input as T);
    } catch (error) {
      report.crashes.push({ origin: 'corpus', ...describeError(error), input: entry.input, file });
    }
    const ms = performance.now() - started;
    if (ms > target.slowMs) noteSlow(ms, entry.input, file);
  }

  let shrinking = false;
  let inputs = 0;
  const timed = async (input: T) => {
    if (!shrinking) inputs++;
    const started = performance.now();
    try {
      await target.check(input);
    } catch (error) {
      shrinking = true;
      throw error;
    } finally {
      const ms = performance.now() - started;
      if (ms > target.slowMs && !shrinking) noteSlow(ms, input);
    }
  };
  const started = performance.now();
  const budget = limits.seconds !== undefined ? limits.seconds * 1000 : undefined;
  const details = await fc.check(
    fc.asyncProperty(target.arbitrary, timed),
    {
      seed: limits.seed,
      numRuns: limits.runs ?? Number.MAX_SAFE_INTEGER,
      // The budget covers search and shrinking; an interrupted shrink still gives its best input.
      ...(budget !== undefined ? { interruptAfterTimeLimit: budget } : {}),
    },
  );
  const searchEnded = performance.now();
  report.inputs = inputs;
  report.seconds = (searchEnded - started) / 1000;
  report.inputsPerSecond = report.seconds > 0 ? inputs / report.seconds : 0;

  if (details.failed && details.counterexample) {
    const input = details.counterexample[0];
    const crash: Crash = { origin: 'generated', ...describeError(details.errorInstance), input };
    if (limits.save) crash.file = saveCorpusEntry(entry(target.name, 'crash', crash.error, limits.seed, input), limits.corpusDir);
    report.crashes.push(crash);
  }
  if (limits.save) {
    for (const s of report.slow) if (!s.file) s.file = saveCorpusEntry(entry(target.name, 'slow', `took ${Math.round(s.ms)} ms`, limits.seed, s.input), limits.corpusDir);
  }
  return report;
}

function entry(target: string, kind: CorpusEntry['kind'], found: string, seed: number, input: unknown): CorpusEntry {
  return { target, kind, found, seed, input };
}

function describeError(error: unknown): { error: string; stackTop: string } {
  if (!(error instanceof Error)) return { error: String(error), stackTop: '' };
  const stack = (error.stack ?? '').split('\n');
  // The frames after the message, up to the first one of the fuzzer itself.
  const frames = stack.filter((line) => /^\s+at /.test(line) || /caused by/.test(line));
  const top = [];
  for (const f of frames) {
    if (/\/fuzz\/run\.ts/.test(f) || /node_modules\/fast-check/.test(f)) break;
    if (/\/fuzz\/target\.ts/.test(f)) continue;
    top.push(f.trim());
    if (top.length >= 10) break;
  }
  return { error: `${error.name}: ${error.message}`, stackTop: top.join('\n') };
}

/** One kind of failure found by `surveyTarget`: how often, and the smallest input showing it. */
export interface FailureKind {
  kind: string;
  count: number;
  error: string;
  stackTop: string;
  input: unknown;
}

/**
 * Runs `runs` generated inputs without stopping at the first failure (and without shrinking),
 * grouping failures by their message with numbers and quoted text blanked out. For listing the
 * distinct bugs a target finds while a known one would stop a normal run at once.
 */
export async function surveyTarget<T>(target: FuzzTarget<T>, seed: number, runs: number): Promise<FailureKind[]> {
  const kinds = new Map<string, FailureKind & { size: number }>();
  for (const input of fc.sample(target.arbitrary, { seed, numRuns: runs })) {
    try {
      await target.check(input);
    } catch (error) {
      const { error: message, stackTop } = describeError(error);
      // Blank what varies from input to input: quoted text, bracketed file names, numbers.
      const kind = message.replace(/\(\[.*?\]\)/g, '(…)').replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 160);
      const size = encodeInput(input).length;
      const known = kinds.get(kind);
      if (!known) kinds.set(kind, { kind, count: 1, error: message, stackTop, input, size });
      else {
        known.count++;
        if (size < known.size) Object.assign(known, { error: message, stackTop, input, size });
      }
    }
  }
  return [...kinds.values()].sort((a, b) => b.count - a.count).map(({ size: _size, ...k }) => k);
}
