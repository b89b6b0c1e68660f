// How long `swarmlab --help` takes to start and print: the median wall time over N runs, as an
// installed package runs it (the compiled dist/cli/main.js) and as a clone runs it (bin/swarmlab.mjs,
// the sources through tsx). The target for the installed package is under 0.5 s.
//
//   npm run bench:startup             # 15 runs each (after `npm run build`, so dist/ is current)
//   npm run bench:startup -- 40       # 40 runs each

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 15);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench:startup: the number of runs must be a whole number of at least 1, not ${process.argv[2]}`);
  process.exit(2);
}

console.log('npm run build …');
if (spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function wallTimes(script: string, args: string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8' });
    times.push(performance.now() - started);
    if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return times;
}

console.log(`swarmlab startup, median of ${runs} runs (wall time, ms)`);
for (const [label, script, args] of [
  ['installed  --help', 'dist/cli/main.js', ['--help']],
  ['installed  run --help', 'dist/cli/main.js', ['run', '--help']],
  ['clone      --help', 'bin/swarmlab.mjs', ['--help']],
  ['node alone', '-e', ['']],
] as const) {
  const times = wallTimes(script, [...args]);
  console.log(`${label.padEnd(24)} ${median(times).toFixed(0).padStart(6)}   (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`);
}
