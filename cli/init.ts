// `swarmlab init [dir]`: a starting point in a user's project — a scenario that points editors at
// the shipped JSON Schema (scenario.schema.json) and a CI workflow that runs `swarmlab test` with
// a JUnit report. It writes over nothing: if either file exists, it writes neither.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import { SCENARIO_JSON_SCHEMA_FILE } from '../sim/scenario/json-schema.ts';
import { InputError } from './input-error.ts';

export const STARTER_SCENARIO = join('scenarios', 'swarm.yaml');
export const CI_WORKFLOW = join('.github', 'workflows', 'swarmlab.yml');

/** The starter scenario; `$schema` is relative to it, where npm installs the package. */
export function starterScenario(): string {
  const schema = relative(dirname(STARTER_SCENARIO), join('node_modules', 'swarmlab', SCENARIO_JSON_SCHEMA_FILE)).split('\\').join('/');
  return `# yaml-language-server: $schema=${schema}
# A swarmlab scenario: a swarm, the faults to inject and what must still hold. Any value may be a
# range drawn from the seed, so one file under many seeds is a family of runs. The format:
# node_modules/swarmlab/docs/scenarios.md
#   npx swarmlab run scenarios/swarm.yaml --seed 7     # one run; exit 1 if a check fails
#   npx swarmlab test scenarios --seeds 20             # every scenario on 20 more seeds
name: swarm
description: One seed and 10-20 leechers arriving within 5 s; everyone completes within a minute.
torrent: { size: 4MiB, pieceLength: 256KiB }
groups:
  - { name: S, role: seed, upload: 2MiB/s }
  - { name: L, count: 10..20, upload: 512KiB/s, download: 2MiB/s, joinSpread: 0s..5s }
network: { latency: 10ms..50ms }
timeLimit: 3min
expect: { completeBy: 1min }
seeds: [1, 2, 3]
`;
}

export function ciWorkflow(): string {
  return `# Runs every scenario under scenarios/ on its seeds and 10 more, checks each is deterministic,
# and keeps the JUnit report and the replay page of each failing run.
name: swarmlab
on: [push, pull_request]
jobs:
  scenarios:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      - run: npx swarmlab test scenarios --seeds 10 --junit out/junit.xml --reports out/reports
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: swarmlab
          path: out/
`;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(`write a starter scenario (${STARTER_SCENARIO}, pointing editors at the JSON Schema) and a CI workflow (${CI_WORKFLOW}); overwrites nothing`)
    .argument('[dir]', 'the project folder', '.')
    .action((dir: string) => {
      const files: [string, string][] = [
        [join(dir, STARTER_SCENARIO), starterScenario()],
        [join(dir, CI_WORKFLOW), ciWorkflow()],
      ];
      const existing = files.filter(([path]) => existsSync(path)).map(([path]) => path);
      if (existing.length) throw new InputError(`${existing.join(', ')}: already there; swarmlab init writes over nothing (move ${existing.length > 1 ? 'them' : 'it'} away, or init another folder)`);
      for (const [path, text] of files) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, text, { flag: 'wx' });
        console.log(`wrote ${path}`);
      }
      console.log(`next: npx swarmlab run ${join(dir, STARTER_SCENARIO)}`);
    });
}
