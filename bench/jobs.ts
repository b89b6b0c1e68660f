// `npm run bench:jobs`: runs per minute of `swarmlab test --jobs 1` and `--jobs 2` on the scenario
// library (scenarios/*.yaml, in memory; the other clients' scenarios in scenarios/clients/ are TCP
// runs, which stay on one thread) and their ratio; issue 13's target is 2 jobs ≥ 1.8 × 1 job on
// two cores. Each is a fresh `swarmlab test` process, so its time includes the start-up (and, for
// --jobs 2, each worker's); both give the same results (test/sweep-jobs-shards.test.ts).
// `npm run bench:jobs -- --seeds 3` runs 3 more seeds of each; `-- scenarios/churn.yaml …` other
// files instead of the library; `-- --jobs 4` measures 4 jobs as well; `-- --built` runs the
// compiled CLI of dist/ (`npm run build` first), as an installed package does, without tsx.
// The machine's load average is printed before and after: on a shared machine it bounds the figures.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({ allowPositionals: true, options: { seeds: { type: 'string', default: '0' }, jobs: { type: 'string', multiple: true, default: [] }, built: { type: 'boolean', default: false } } });
const library = positionals.length
  ? positionals
  : readdirSync(join(root, 'scenarios'))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join('scenarios', f));
const seeds = Number(values.seeds);
const jobCounts = [1, 2, ...values.jobs.map(Number)];

function measure(jobs: number): { runs: number; failed: number; wallS: number; perMinute: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [values.built ? 'dist/cli/main.js' : 'bin/swarmlab.mjs', 'test', ...library, '--seeds', String(seeds), '--jobs', String(jobs), '--json'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const wallS = (performance.now() - started) / 1000;
  if (r.status !== 0 && r.status !== 1) throw new Error(`swarmlab test --jobs ${jobs} exited ${r.status}: ${r.stderr}`);
  const results = JSON.parse(r.stdout) as { runs: unknown[]; failed: number };
  return { runs: results.runs.length, failed: results.failed, wallS, perMinute: (results.runs.length / wallS) * 60 };
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`${positionals.length ? 'files' : 'library'}: ${library.length} scenarios, --seeds ${seeds}, ${values.built ? 'compiled (dist/)' : 'sources (tsx)'}; load average ${load()}`);
const measured = jobCounts.map((jobs) => {
  const m = measure(jobs);
  console.log(`--jobs ${jobs}: ${m.runs} runs (${m.failed} failed) in ${m.wallS.toFixed(1)} s = ${m.perMinute.toFixed(1)} runs/min`);
  return m;
});
for (const [i, m] of measured.entries()) {
  if (i > 0) console.log(`--jobs ${jobCounts[i]} / --jobs 1: ${(m.perMinute / measured[0].perMinute).toFixed(2)} × (target for 2 jobs on 2 cores: ≥ 1.8 ×)`);
}
console.log(`load average ${load()}`);
