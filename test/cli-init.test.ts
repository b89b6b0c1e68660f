// `swarmlab init`: a starter scenario that points editors at the shipped JSON Schema, and a CI
// workflow; it writes over nothing.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadScenarioFile } from '../sim/scenario/load.ts';

const swarmlab = (args: string[]) => spawnSync(process.execPath, ['bin/swarmlab.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('swarmlab init', () => {
  it('writes a valid starter scenario with a $schema line and a CI workflow that runs swarmlab test', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-init-'));
    const r = swarmlab(['init', dir]);
    expect(r.status, r.stderr).toBe(0);
    const scenario = join(dir, 'scenarios', 'swarm.yaml');
    const text = readFileSync(scenario, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../node_modules/swarmlab/scenario.schema.json');
    // The path resolves in an installed package: its root holds scenario.schema.json (package.json `files`).
    expect(existsSync('scenario.schema.json')).toBe(true);
    expect(loadScenarioFile(scenario).name).toBe('swarm');
    const run = swarmlab(['run', scenario, '--no-trace', '--json']);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const workflow = parse(readFileSync(join(dir, '.github', 'workflows', 'swarmlab.yml'), 'utf8'));
    const steps = workflow.jobs.scenarios.steps.map((s: { run?: string }) => s.run).filter(Boolean);
    expect(steps).toContain('npx swarmlab test scenarios --seeds 10 --junit out/junit.xml --reports out/reports');
  });

  it('refuses to write over a file, and then writes neither, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-init-'));
    mkdirSync(join(dir, 'scenarios'));
    writeFileSync(join(dir, 'scenarios', 'swarm.yaml'), 'mine\n');
    const r = swarmlab(['init', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`swarmlab: ${join(dir, 'scenarios', 'swarm.yaml')}: already there; swarmlab init writes over nothing (move it away, or init another folder)\n`);
    expect(readFileSync(join(dir, 'scenarios', 'swarm.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(dir, '.github'))).toBe(false);
  });
});
