// A JUnit XML report of a `swarmlab test` run, for CI systems: one <testsuite> per scenario file,
// one <testcase> per seed, and one for the determinism rerun. A failing case's <system-out> names
// its replay page when one was written; its failure text is capped (MAX_FAILURE_TEXT).

import { describeFailure, reproduceCommand } from '../sim/scenario/report.ts';
import type { SuiteResult, SuiteRun } from '../sim/scenario/suite.ts';

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** Characters of a failure's text at most (a run with thousands of violations would make CI choke). */
export const MAX_FAILURE_TEXT = 64 * 1024;

/** The failures, one a line, cut to MAX_FAILURE_TEXT with a line saying so; the reproduce line always last. */
function failureText(run: SuiteRun, plantedBug?: string): string {
  const reproduce = `reproduce: ${reproduceCommand(run.path, run.seed, plantedBug, run.transport)}`;
  const lines = run.failures.map(describeFailure);
  let text = lines.join('\n');
  if (text.length > MAX_FAILURE_TEXT) {
    const kept = text.slice(0, MAX_FAILURE_TEXT);
    const whole = kept.lastIndexOf('\n') + 1;
    const shown = kept.slice(0, whole).split('\n').length - 1;
    text = `${kept.slice(0, whole)}… cut at ${MAX_FAILURE_TEXT / 1024} KiB: ${lines.length - shown} more failure${lines.length - shown === 1 ? '' : 's'} (the reproduce command shows them all)`;
  }
  return `${text}\n${reproduce}`;
}

function testcase(run: SuiteRun, plantedBug?: string, replay?: string): string {
  const name = run.rerun ? `determinism (seed ${run.seed} twice)` : `seed ${run.seed}`;
  const head = `    <testcase classname="${escape(run.name)}" name="${escape(name)}" file="${escape(run.path)}" time="${seconds(run.wallMs)}"`;
  if (run.ok) return `${head}/>`;
  const message = run.failures[0] ? describeFailure(run.failures[0]) : 'failed';
  const out = replay ? `\n      <system-out>${escape(`replay: ${replay}`)}</system-out>` : '';
  return `${head}>\n      <failure message="${escape(message.slice(0, 1024))}" type="${escape(run.failures[0]?.check ?? 'failure')}">${escape(failureText(run, plantedBug))}</failure>${out}\n    </testcase>`;
}

/** `replays`: the replay page written for a failing run, if any. */
export function junitXml(suite: SuiteResult, plantedBug?: string, replays: ReadonlyMap<SuiteRun, string> = new Map()): string {
  const byFile = new Map<string, SuiteRun[]>();
  for (const run of suite.runs) byFile.set(run.path, [...(byFile.get(run.path) ?? []), run]);
  const suites = [...byFile.entries()].map(([path, runs]) => {
    const failures = runs.filter((r) => !r.ok).length;
    const time = runs.reduce((t, r) => t + r.wallMs, 0);
    return [
      `  <testsuite name="${escape(runs[0].name)}" file="${escape(path)}" tests="${runs.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(time)}">`,
      ...runs.map((r) => testcase(r, plantedBug, replays.get(r))),
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
