// A JUnit XML report of a `swarmlab test` run, for CI systems: one <testsuite> per scenario file,
// one <testcase> per seed, and one for the determinism rerun.

import { describeFailure, reproduceCommand } from '../sim/scenario/report.ts';
import type { SuiteResult, SuiteRun } from '../sim/scenario/suite.ts';

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function testcase(run: SuiteRun, plantedBug?: string): string {
  const name = run.rerun ? `determinism (seed ${run.seed} twice)` : `seed ${run.seed}`;
  const head = `    <testcase classname="${escape(run.name)}" name="${escape(name)}" file="${escape(run.path)}" time="${seconds(run.wallMs)}"`;
  if (run.ok) return `${head}/>`;
  const body = [...run.failures.map(describeFailure), `reproduce: ${reproduceCommand(run.path, run.seed, plantedBug, run.transport)}`].join('\n');
  const message = run.failures[0] ? describeFailure(run.failures[0]) : 'failed';
  return `${head}>\n      <failure message="${escape(message)}" type="${escape(run.failures[0]?.check ?? 'failure')}">${escape(body)}</failure>\n    </testcase>`;
}

export function junitXml(suite: SuiteResult, plantedBug?: string): string {
  const byFile = new Map<string, SuiteRun[]>();
  for (const run of suite.runs) byFile.set(run.path, [...(byFile.get(run.path) ?? []), run]);
  const suites = [...byFile.entries()].map(([path, runs]) => {
    const failures = runs.filter((r) => !r.ok).length;
    const time = runs.reduce((t, r) => t + r.wallMs, 0);
    return [
      `  <testsuite name="${escape(runs[0].name)}" file="${escape(path)}" tests="${runs.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(time)}">`,
      ...runs.map((r) => testcase(r, plantedBug)),
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="swarmlab" tests="${suite.runs.length}" failures="${suite.failed}" errors="0" time="${seconds(suite.wallMs)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
