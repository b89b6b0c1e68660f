// The CI examples of docs/ci/ run what they claim: each swarmlab command in them, as the shell
// would pass it (the workflow's matrix or the pod's JOB_COMPLETION_INDEX filled in), parses as a
// real `swarmlab` command with real flags and valid values; the shards cover 1..N of one N; and
// the merge reads exactly the results files the shards write.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { registerMerge } from '../cli/merge.ts';
import { registerTest } from '../cli/test.ts';

/** The commands the examples may run, registered as main.ts does. */
const COMMANDS: Record<string, (program: Command) => void> = { test: registerTest, merge: registerMerge };

interface Parsed {
  command: string;
  args: string[];
  options: Record<string, unknown>;
}

/** Parses `swarmlab …` arguments with the real command definitions, running nothing. */
function parseSwarmlab(argv: string[]): Parsed {
  const [name, ...rest] = argv;
  if (!Object.hasOwn(COMMANDS, name)) throw new Error(`swarmlab ${name}: no such command in the examples' set (${Object.keys(COMMANDS).join(', ')})`);
  const program = new Command('swarmlab').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  COMMANDS[name](program);
  const command = program.commands.find((c) => c.name() === name)!;
  let parsed: Parsed | undefined;
  command.action((...actionArgs: unknown[]) => {
    parsed = { command: name, args: actionArgs[0] as string[], options: command.opts() };
  });
  program.parse([name, ...rest], { from: 'user' });
  return parsed!;
}

/**
 * The arguments each `npx swarmlab …` line of a shell script gets, as sh expands them. Only those
 * lines run, with npx a shell function that prints its arguments, and no PATH: nothing else of the
 * script (`npm ci`…) can run here.
 */
function swarmlabCalls(script: string, env: Record<string, string> = {}): string[][] {
  const lines = script.split('\n').filter((line) => /\bswarmlab\b/.test(line));
  for (const line of lines) expect(line.trim()).toMatch(/^npx swarmlab /);
  return lines.map((line) => {
    const out = execFileSync('/bin/sh', ['-c', `${NPX_STUB}\n${line}`], { encoding: 'utf8', env: { ...env, PATH: '/nonexistent' } });
    const argv = out.split('\0').slice(0, -1);
    expect(argv[0]).toBe('swarmlab');
    return argv.slice(1);
  });
}

const NPX_STUB = `npx() { printf '%s\\0' "$@"; }`;

function expectShardsAndMerge(shards: Parsed[], merges: Parsed[], count: number): void {
  expect(shards).toHaveLength(count);
  expect(shards.map((s) => s.options.shard)).toEqual(Array.from({ length: count }, (_, i) => ({ index: i + 1, count })));
  for (const s of shards) expect(s.options.results).toEqual(expect.any(String));
  expect(merges).toHaveLength(1);
  expect([...merges[0].args].sort()).toEqual(shards.map((s) => s.options.results as string).sort());
}

describe('docs/ci/', () => {
  it('the parser refuses what swarmlab would: an unknown command, flag or shard', () => {
    expect(() => parseSwarmlab(['tset'])).toThrow(/no such command/);
    expect(() => parseSwarmlab(['test', '--shards', '1/3'])).toThrow(CommanderError);
    expect(() => parseSwarmlab(['test', '--shard', '4/3'])).toThrow(/must be 1\.\.3/);
    expect(() => parseSwarmlab(['merge'])).toThrow(CommanderError); // the results files are required
    expect(parseSwarmlab(['test', 'scenarios', '--jobs', '2']).options).toMatchObject({ jobs: 2, seeds: 0 });
  });

  it('github-actions.yml: a matrix of shards, each a real swarmlab test, and a merge of their results', () => {
    const workflow = parseYaml(readFileSync('docs/ci/github-actions.yml', 'utf8'));
    const { sweep, merge } = workflow.jobs;
    const matrix: number[] = sweep.strategy.matrix.shard;
    const runs = (job: { steps: { run?: string }[] }) => job.steps.flatMap((s) => (s.run ? [s.run] : []));
    // GitHub fills in ${{ matrix.shard }} before the shell runs the step.
    const shards = matrix.flatMap((shard) => runs(sweep).flatMap((r) => swarmlabCalls(r.replaceAll('${{ matrix.shard }}', String(shard))))).map(parseSwarmlab);
    const merges = runs(merge).flatMap((r) => swarmlabCalls(r)).map(parseSwarmlab);
    expect(shards.every((s) => s.command === 'test') && merges.every((m) => m.command === 'merge')).toBe(true);
    expectShardsAndMerge(shards, merges, matrix.length);
    expect(merge.needs).toBe('sweep');
    expect(merges[0].options.junit).toEqual(expect.any(String));
  });

  it('kubernetes-indexed-job.yaml: an Indexed Job whose pods run shard JOB_COMPLETION_INDEX + 1, and a merge job', () => {
    const docs = parseAllDocuments(readFileSync('docs/ci/kubernetes-indexed-job.yaml', 'utf8')).map((d) => d.toJS());
    const jobs = docs.filter((d) => d.kind === 'Job');
    const sweep = jobs.find((j) => j.spec.completionMode === 'Indexed');
    const merge = jobs.find((j) => j !== sweep);
    const calls = (job: { spec: { template: { spec: { containers: { command: string[] }[] } } } }, env: Record<string, string> = {}) =>
      job.spec.template.spec.containers.flatMap(({ command }) =>
        command[0] === 'sh' && command[1] === '-c' ? swarmlabCalls(command[2], env) : command[0] === 'npx' && command[1] === 'swarmlab' ? [command.slice(2)] : [],
      );
    const count: number = sweep.spec.completions;
    const shards = Array.from({ length: count }, (_, i) => calls(sweep, { JOB_COMPLETION_INDEX: String(i) })).flat().map(parseSwarmlab);
    const merges = calls(merge).map(parseSwarmlab);
    expectShardsAndMerge(shards, merges, count);
    // Every shard and the merge share the results volume.
    const claims = [sweep, merge].map((j) => j.spec.template.spec.volumes[0].persistentVolumeClaim.claimName);
    expect(claims[0]).toBe(claims[1]);
    expect(docs.some((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === claims[0])).toBe(true);
    // A shard whose runs fail (exit 1) still completes its pod; bad input (2) does not.
    const script = sweep.spec.template.spec.containers[0].command[2] as string;
    const exitOf = (code: number) => {
      try {
        execFileSync('/bin/sh', ['-c', `npx() { return ${code}; }\n${script}`], { env: { PATH: '/nonexistent', JOB_COMPLETION_INDEX: '0' } });
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    expect([exitOf(0), exitOf(1), exitOf(2)]).toEqual([0, 0, 1]);
  });
});
