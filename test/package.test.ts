// The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into a new
// project without the network (test/helpers/offline-project.ts), and there: the CLI through npx,
// a vitest file importing `swarmlab/vitest` run by the project's own vitest, and tsc (strict,
// NodeNext, declarations checked too) on a file importing `swarmlab`.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installOffline } from './helpers/offline-project.ts';
import { ROOT } from './helpers/processes.ts';

/** The project's files: two scenarios (one that fails), a vitest file, a typed use of the library. */
const PROJECT_FILES: Record<string, string> = {
  'small.yaml': ['name: small', 'torrent: { size: 256KiB, pieceLength: 16KiB }', 'groups:', '  - { name: S, role: seed }', '  - { name: L, count: 3 }', 'seeds: [ 1 ]', ''].join('\n'),
  'sweep.yaml': ['name: sweep', 'base:', '  name: tiny', '  torrent: { size: 128KiB, pieceLength: 16KiB }', '  groups:', '    - { name: S, role: seed }', '    - { name: L, count: 2 }', 'sweep:', '  groups[1].count: [1, 2]', 'seeds: [1, 2]', ''].join('\n'),
  'scenarios/too-short.yaml': ['name: too-short', 'torrent: { size: 256KiB, pieceLength: 16KiB }', 'groups:', '  - { name: S, role: seed }', '  - { name: L, count: 3 }', 'timeLimit: 10ms', ''].join('\n'),
  'scenarios.spec.ts': `
import { expect, it } from 'vitest';
import { expectScenario, ScenarioFailedError, scenarioTests } from 'swarmlab/vitest';

scenarioTests(['small.yaml'], { seeds: 1 });

it('fails a scenario that cannot complete, naming the command that replays it', () => {
  let error: unknown;
  try {
    expectScenario('scenarios/too-short.yaml', { seeds: ['5'] });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ScenarioFailedError);
  expect((error as Error).message).toContain('reproduce: npx swarmlab run scenarios/too-short.yaml --seed 5');
});
`,
  'use.ts': `
import { readFileSync } from 'node:fs';
import { createTorrent, parseTorrent, parseTrace, runScenario, runSwarm, swarmOf, type ScenarioResult, type Torrent } from 'swarmlab';

const result: ScenarioResult = runScenario('small.yaml', 1);
const failures: string[] = result.failures.map((f) => \`\${f.check}: \${f.message}\`);
const torrent: Torrent = parseTorrent(createTorrent({ name: 'x', files: new Uint8Array(1024), pieceLength: 16384 }).bytes);
const complete: boolean = runSwarm(swarmOf('1', 1, 2)).complete;
const events: number = parseTrace(new Uint8Array(readFileSync('out/small-4peers-seed1.jsonl'))).count;
console.log(failures, torrent.pieceCount, complete, events);
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
    include: ['*.ts'],
  }),
};

/** The environment without what the vitest and npm running this test set for themselves; no colours. */
function cleanEnv(): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([k]) => !/^(VITEST|FORCE_COLOR)/.test(k) && !(k.startsWith('npm_') && k !== 'npm_config_cache'));
  return { ...Object.fromEntries(inherited), NO_COLOR: '1' };
}

const show = (r: SpawnSyncReturns<string>) => `exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;

describe('the packed package, installed in a new project offline', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlab-package-'));
  const project = join(dir, 'project');
  const env = cleanEnv();
  let tarball = '';
  const inProject = (command: string, args: string[]) => spawnSync(command, args, { cwd: project, env, encoding: 'utf8', timeout: 180_000 });

  beforeAll(() => {
    const packed = spawnSync('npm', ['pack', '--pack-destination', dir], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
    expect(packed.status, show(packed)).toBe(0);
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
    mkdirSync(project);
    const installed = installOffline(project, tarball, ['vitest', '@types/node'], env);
    expect(installed.status, show(installed)).toBe(0);
    for (const [name, text] of Object.entries(PROJECT_FILES)) {
      mkdirSync(join(project, name, '..'), { recursive: true });
      writeFileSync(join(project, name), text);
    }
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the built code and no traces, tests or benches; installs no build tools', () => {
    const listed = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' });
    const files = listed.stdout.trim().split('\n');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/viz/page/page.js');
    expect(files).toContain('package/scenario.schema.json'); // swarmlab init points editors at it
    expect(files.filter((f) => /^package\/(out|test|bench|fuzz|traces)\/|\.jsonl(\.gz)?$|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    for (const tool of ['tsx', 'esbuild', 'd3', 'typescript']) expect(existsSync(join(project, 'node_modules', tool)), tool).toBe(false);
  });

  it('npx swarmlab run --json: the run, its trace, and a reproduce line the user can type', () => {
    const r = inProject('npx', ['swarmlab', 'run', 'small.yaml', '--seed', '1', '--json']);
    expect(r.status, show(r)).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ scenario: 'small', ok: true, reproduce: 'npx swarmlab run small.yaml --seed 1' });
    expect(existsSync(join(project, out.trace))).toBe(true);
  });

  it('npx swarmlab viz: the replay page, bundled at build time', () => {
    const r = inProject('npx', ['swarmlab', 'viz', 'out/small-4peers-seed1.jsonl', '-o', 'out/replay.html']);
    expect(r.status, show(r)).toBe(0);
    expect(readFileSync(join(project, 'out/replay.html'), 'utf8')).toMatch(/<script>/);
  });

  it('npx swarmlab test --junit: every run passes and the report is written', () => {
    const r = inProject('npx', ['swarmlab', 'test', 'small.yaml', '--seeds', '1', '--junit', 'out/junit.xml']);
    expect(r.status, show(r)).toBe(0);
    expect(readFileSync(join(project, 'out/junit.xml'), 'utf8')).toMatch(/<testsuite name="small"[^>]* tests="3" failures="0"/);
  });

  it('npx swarmlab test --jobs 2: the compiled worker processes give --jobs 1 results; shards merge back', () => {
    const sweep = (args: string[]) => {
      const r = inProject('npx', ['swarmlab', 'test', 'small.yaml', '--seeds', '2', ...args]);
      expect(r.status, show(r)).toBe(0);
      return r;
    };
    const hashes = (json: string) => (JSON.parse(json) as { runs: { traceHash: string; ok: boolean }[] }).runs.map((run) => [run.traceHash, run.ok]);
    const one = sweep(['--json']);
    const two = sweep(['--json', '--jobs', '2']);
    expect(hashes(two.stdout)).toEqual(hashes(one.stdout));
    expect(hashes(one.stdout)).toHaveLength(4);
    sweep(['--shard', '1/2', '--results', 'out/shard-1.json', '--jobs', '2']);
    sweep(['--shard', '2/2', '--results', 'out/shard-2.json']);
    const merged = inProject('npx', ['swarmlab', 'merge', 'out/shard-1.json', 'out/shard-2.json', '--json']);
    expect(merged.status, show(merged)).toBe(0);
    expect(hashes(merged.stdout)).toEqual(hashes(one.stdout));
  });

  it('npx swarmlab experiment --jobs 2: the compiled experiment workers write --jobs 1 results', () => {
    for (const jobs of ['1', '2']) {
      const r = inProject('npx', ['swarmlab', 'experiment', 'sweep.yaml', '-o', `out/sweep-${jobs}`, '--jobs', jobs, '--quiet']);
      expect(r.status, show(r)).toBe(0);
    }
    expect(readFileSync(join(project, 'out/sweep-2/results.json'), 'utf8')).toBe(readFileSync(join(project, 'out/sweep-1/results.json'), 'utf8'));
  });

  it("the project's vitest runs a file importing swarmlab/vitest", () => {
    const r = inProject('npx', ['vitest', 'run', '--reporter=verbose']);
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toMatch(/scenario small > seed 1/);
    expect(r.stdout).toMatch(/Tests\s+3 passed/);
  });

  it('tsc (strict, NodeNext) compiles files importing swarmlab and swarmlab/vitest against the shipped types', () => {
    const r = inProject(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
    expect(r.status, show(r)).toBe(0);
  });
});
