// `swarmlab merge <results.json…>`: the results of the shards of one sweep (`swarmlab test
// --shard I/N --results FILE` on each machine) as one: a summary with every failure and the
// command that reproduces it, and optionally one JUnit report and one results file. Exit 0 when
// every run passed, 1 when any failed, 2 when the files are not the shards of one sweep.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { describeFailure, reproduceCommand } from '../sim/scenario/report.ts';
import { InputError } from './input-error.ts';
import { junitXml } from './junit.ts';
import { mergeResults, type ResultsFile } from './merge-results.ts';
import { type ResultsJson, resultsJson, suiteJson, suiteOfJson } from './test-results.ts';

interface MergeFlags {
  junit?: string;
  results?: string;
  json?: boolean;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description("combine the results of a sweep's shards (swarmlab test --shard I/N --results FILE) into one summary, with every failure's reproduce command")
    .argument('<results...>', 'results files, one per shard')
    .option('--junit <file>', 'also write one JUnit XML report of every run')
    .option('--results <file>', 'also write the merged results (the JSON object --json prints)')
    .option('--json', 'print the merged results as one JSON object instead of the summary')
    .action((files: string[], flags: MergeFlags) => merge(files, flags));
}

function readResults(file: string): ResultsFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new InputError(`merge: ${file}: not valid JSON (${e.message})`);
    throw e;
  }
  const parsed = resultsJson.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`merge: ${file}: not the results of swarmlab test --results/--json (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  return { file, results: parsed.data };
}

const write = (file: string, text: string) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
};

function merge(files: string[], flags: MergeFlags): void {
  const merged = mergeResults(files.map(readResults));
  const plantedBug = merged.plantedBug ?? undefined;
  const suite = suiteOfJson(merged);
  // Reproduce commands as this machine starts swarmlab (sim/scenario/report.ts), like every other output.
  const out: ResultsJson = suiteJson(suite, { id: merged.sweep.id, plantedBug });
  if (flags.junit) write(flags.junit, junitXml(suite, plantedBug));
  if (flags.results) write(flags.results, `${JSON.stringify(out)}\n`);
  process.exitCode = merged.failed > 0 ? 1 : 0;
  if (flags.json) {
    console.log(JSON.stringify(out));
    return;
  }
  const failed = suite.runs.filter((r) => !r.ok);
  if (failed.length) console.log(`failures (${failed.length}):`);
  for (const run of failed) {
    console.log(`\n  ${run.name}, ${run.rerun ? `determinism (seed ${run.seed} twice)` : `seed ${run.seed}`} (${run.path})`);
    for (const f of run.failures) console.log(`    ${describeFailure(f)}`);
    if (run.traceHash) console.log(`    trace sha256: ${run.traceHash}`);
    console.log(`    reproduce: ${reproduceCommand(run.path, run.seed, plantedBug, run.transport)}`);
  }
  const written = [flags.junit && `JUnit report in ${flags.junit}`, flags.results && `results in ${flags.results}`].filter(Boolean).join('; ');
  console.log(`${failed.length ? '\n' : ''}swarmlab merge: ${files.length} file${files.length === 1 ? '' : 's'}, ${suite.runs.length} runs (the slowest shard took ${(merged.wallMs / 1000).toFixed(1)} s)${written ? `; ${written}` : ''}`);
  console.log(`${suite.passed} passed, ${suite.failed} failed`);
}
