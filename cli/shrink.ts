// `swarmlab shrink <scenario> --seed N`: a failing run brought down to a minimal scenario that
// fails the same way, written as a scenario file (the algorithm is sim/scenario/shrink.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { runFileStem } from '../sim/scenario/file-names.ts';
import { SCENARIO_LIMITS } from '../sim/scenario/limits.ts';
import { loadScenario } from '../sim/scenario/load.ts';
import { describeFailure, reproduceCommand } from '../sim/scenario/report.ts';
import { countRanges } from '../sim/scenario/resolve.ts';
import { scenarioSize, ShrinkError, shrinkScenario } from '../sim/scenario/shrink.ts';
import { runCatchingCrash } from '../sim/scenario/suite.ts';
import { formatDuration, formatSize } from '../sim/scenario/units.ts';
import { scenarioToYaml } from '../sim/scenario/write.ts';
import { positiveInt } from './option-parsers.ts';
import { loadAll, type PlantedBug, plantedBugOption } from './scenario-args.ts';

interface ShrinkFlags {
  seed: string;
  out?: string;
  check?: string;
  maxRuns: number;
  plantedBug?: string;
}

export function registerShrink(program: Command): void {
  program
    .command('shrink')
    .description('reduce a failing run to a minimal scenario that fails the same way, and write it as a scenario file')
    .argument('<scenario>', 'the scenario file (YAML or JSON)')
    .requiredOption('--seed <n>', 'the seed under which it fails')
    .option('-o, --out <file>', 'where to write the shrunk scenario (default: out/<name>-seed<N>.min.yaml)')
    .option('--check <name>', 'the failure to keep, by its check (default: the first failure)')
    .option('--max-runs <n>', 'give up shrinking after this many candidate runs', positiveInt, 400)
    .addOption(plantedBugOption())
    .action((path: string, flags: ShrinkFlags) => shrink(path, flags));
}

function shrink(path: string, flags: ShrinkFlags): void {
  const loaded = loadAll([path]);
  if (!loaded) return;
  const seed = String(flags.seed);
  const plantedBug = flags.plantedBug as PlantedBug;
  const original = loadScenario(loaded[0].file, seed);
  const started = performance.now();
  console.log(`shrinking ${original.name} (${path}) under seed ${seed}`);
  const ranges = countRanges(loaded[0].file);
  if (ranges > 0) console.log(`  fixed ${ranges} range${ranges === 1 ? '' : 's'} to the values drawn under seed ${seed}`);

  let result;
  try {
    result = shrinkScenario(original, {
      seed,
      check: flags.check,
      maxRuns: flags.maxRuns,
      run: (s, sd) => runCatchingCrash(s, sd, { plantedBug }),
      onStep: (step) => console.log(`  ✓ ${step.what}  (run ${step.runs})`),
    });
  } catch (e) {
    if (!(e instanceof ShrinkError)) throw e;
    console.error(`swarmlab shrink: ${e.message}`);
    process.exitCode = 1;
    return;
  }

  const out = flags.out ?? join('out', `${runFileStem(original.name, seed)}.min.yaml`);
  // `-min` appended within the name length limit, so the file written loads back.
  const name = `${original.name.slice(0, SCENARIO_LIMITS.nameLength.value - '-min'.length)}-min`;
  const shrunk = { ...result.shrunk, name, seeds: [seed] };
  delete shrunk.source;
  const command = reproduceCommand(out, seed, flags.plantedBug);
  const yaml = scenarioToYaml(shrunk, {
    comment: [
      `Shrunk by swarmlab shrink from ${path} under seed ${seed}, in ${result.runs} runs.`,
      `It fails with ${describeFailure(result.failure)}`,
      `Reproduce: ${command}`,
    ].join('\n'),
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, yaml);

  // The file written must fail exactly as the last candidate did: same check, same trace.
  const again = runCatchingCrash(loadScenario(out, seed), seed, { plantedBug });
  if (again.traceHash !== result.result.traceHash) {
    throw new Error(`swarmlab shrink: ${out} does not replay the shrunk run (trace ${again.traceHash} ≠ ${result.result.traceHash}); please report this`);
  }

  const before = scenarioSize(original);
  const after = scenarioSize(result.shrunk);
  const row = (what: string, a: string | number, b: string | number) => console.log(`  ${what.padEnd(11)} ${a} → ${b}`);
  console.log(`shrunk in ${result.runs} runs, ${((performance.now() - started) / 1000).toFixed(1)} s${result.exhausted ? ' (stopped at --max-runs; it may shrink further)' : ''}:`);
  row('peers', before.peers, after.peers);
  row('groups', before.groups, after.groups);
  row('faults', before.faults, after.faults);
  row('torrent', formatSize(before.bytes), formatSize(after.bytes));
  row('time limit', formatDuration(before.timeLimit), formatDuration(after.timeLimit));
  console.log(`still fails: ${describeFailure(result.failure)}`);
  console.log(`wrote ${out}`);
  console.log(`reproduce: ${command}`);
}
