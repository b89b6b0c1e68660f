// `npm run fuzz -- --seconds N [--target NAME[,NAME…]] [--seed N] [--runs N] [--list]`
//
// Runs each target's corpus, then its generator for N seconds (or N inputs), and prints per
// target: inputs, inputs/s, crashes and slow inputs. A crash is shrunk and saved under
// fuzz/corpus/<target>/; the exit code is 1 when any target crashed.

import { encodeInput } from './corpus.ts';
import { runTarget, surveyTarget, type TargetReport } from './run.ts';
import { targets } from './targets.ts';

interface Args {
  seconds?: number;
  runs?: number;
  seed: number;
  seedGiven: boolean;
  names?: string[];
  list: boolean;
  /** Group the failures of N inputs by kind instead of stopping at the first (no shrinking, nothing saved). */
  survey?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seed: 0, seedGiven: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const number = () => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) usage(`${flag} needs a non-negative number`);
      return v;
    };
    if (flag === '--seconds') args.seconds = number();
    else if (flag === '--runs') args.runs = Math.floor(number());
    else if (flag === '--seed') {
      args.seed = Math.floor(number()) | 0;
      args.seedGiven = true;
    } else if (flag === '--target') args.names = value().split(',');
    else if (flag === '--list') args.list = true;
    else if (flag === '--survey') args.survey = Math.floor(number());
    else usage(`unknown option ${flag}`);
  }
  // The clock only when no seed is given; it is printed, so the run can be repeated.
  if (!args.seedGiven) args.seed = Date.now() % 0x7fff_ffff;
  if (args.seconds === undefined && args.runs === undefined) args.seconds = 10;
  return args;
}

function usage(problem: string): never {
  console.error(`fuzz: ${problem}\nusage: npm run fuzz -- [--seconds N | --runs N] [--target NAME[,NAME…]] [--seed N] [--list] [--survey N]`);
  process.exit(2);
}

function line(r: TargetReport): string {
  const rate = r.inputsPerSecond >= 100 ? Math.round(r.inputsPerSecond).toLocaleString('en') : r.inputsPerSecond.toFixed(1);
  return `${r.target.padEnd(16)} ${String(r.corpusInputs).padStart(6)} ${r.inputs.toLocaleString('en').padStart(11)} ${rate.padStart(9)} ${String(r.crashes.length).padStart(7)} ${String(r.slow.length).padStart(5)}`;
}

async function main(): Promise<void> {
  // Hostile scenario files make the yaml package emit a process warning per input (collection
  // keys); a million of them would bury the report.
  process.removeAllListeners('warning');
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const t of targets) console.log(`${t.name.padEnd(16)} ${t.description}`);
    return;
  }
  const chosen = args.names ? args.names.map((n) => targets.find((t) => t.name === n) ?? usage(`no target "${n}" (try --list)`)) : targets;
  if (args.survey !== undefined) {
    console.log(`fuzz: survey of ${args.survey} inputs per target, seed ${args.seed}`);
    for (const target of chosen) {
      const started = performance.now();
      const kinds = await surveyTarget(target, args.seed, args.survey);
      const rate = args.survey / ((performance.now() - started) / 1000);
      console.log(`${target.name}: ${kinds.length} kind${kinds.length === 1 ? '' : 's'} of failure in ${args.survey.toLocaleString('en')} inputs (${Math.round(rate).toLocaleString('en')} inputs/s)`);
      for (const k of kinds) console.log(`  ${k.count} × ${k.error.slice(0, 300)}\n${k.stackTop.split('\n').map((l) => `      ${l}`).join('\n')}\n    smallest input: ${encodeInput(k.input).replace(/\s+/g, ' ')}`);
    }
    return;
  }
  console.log(`fuzz: seed ${args.seed}, ${args.runs !== undefined ? `${args.runs} inputs` : `${args.seconds} s`} per target${args.runs !== undefined && args.seconds !== undefined ? ` (at most ${args.seconds} s)` : ''}`);
  console.log(`${'target'.padEnd(16)} ${'corpus'.padStart(6)} ${'inputs'.padStart(11)} ${'inputs/s'.padStart(9)} ${'crashes'.padStart(7)} ${'slow'.padStart(5)}`);
  let crashed = false;
  for (const target of chosen) {
    const report = await runTarget(target, { seed: args.seed, runs: args.runs, seconds: args.seconds, save: true });
    console.log(line(report));
    for (const c of report.crashes) {
      crashed = true;
      console.log(`  CRASH (${c.origin}) ${c.error}`);
      if (c.stackTop) console.log(c.stackTop.split('\n').map((l) => `    ${l}`).join('\n'));
      if (c.file) console.log(`    reproducer: ${c.file}`);
    }
    for (const s of report.slow) console.log(`  slow: ${Math.round(s.ms)} ms${s.file ? ` (${s.file})` : ''}`);
  }
  if (crashed) {
    console.log(`fuzz: crashes found (seed ${args.seed}); reproducers are replayed first by every run`);
    process.exitCode = 1;
  }
}

await main();
