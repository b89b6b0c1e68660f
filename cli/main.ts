// The swarmlab command line.
//
// Each command's module (and the simulator, the live engine, zod, yaml… behind it) is imported
// only when that command runs: `swarmlab run …` loads run.ts alone. `swarmlab --help` and a
// mistyped command load none of them; they list the commands from the table below, whose
// one-line summaries stand in for each command's full description (`swarmlab <command> --help`).
// `npm run bench:startup` measures it.

import { Command, CommanderError } from 'commander';
import { ENGINE_VERSION } from '../engine/version.ts';
import { boundHeapGrowth } from './heap-growth.ts';
import { EXIT_BAD_INPUT, EXIT_FAILED, InputError } from './input-error.ts';

type Register = (program: Command) => void;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Register> }> = {
  run: { summary: 'run a scenario file, or a simulated swarm, and print the result', load: async () => (await import('./run.ts')).registerRun },
  test: { summary: 'run scenario files on many seeds, check determinism, report failures', load: async () => (await import('./test.ts')).registerTest },
  merge: { summary: "combine the results of a sweep's shards into one summary and JUnit report", load: async () => (await import('./merge.ts')).registerMerge },
  shrink: { summary: 'reduce a failing run to a minimal scenario that fails the same way', load: async () => (await import('./shrink.ts')).registerShrink },
  viz: { summary: 'replay a trace in the browser', load: async () => (await import('./viz.ts')).registerViz },
  create: { summary: 'make a .torrent of a file or a folder', load: async () => (await import('./create.ts')).registerCreate },
  download: { summary: 'download a torrent or a magnet link and verify every piece', load: async () => (await import('./download.ts')).registerDownload },
  seed: { summary: 'check a folder against a torrent, then seed it', load: async () => (await import('./seed.ts')).registerSeed },
  init: { summary: 'write a starter scenario and a CI workflow into a project', load: async () => (await import('./init.ts')).registerInit },
  experiment: { summary: 'sweep a scenario over values and seeds; write an HTML report, CSV and JSON', load: async () => (await import('./experiment.ts')).registerExperiment },
};

/** The command the arguments name (`swarmlab run …`, `swarmlab help run`), if any. */
function commandNamed(args: readonly string[]): string | undefined {
  const [first, second] = args;
  const name = first === 'help' ? second : first;
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

// A reader that stops early (`swarmlab test … | head`) closes the pipe, and whatever is printed
// after that has nowhere to go: that is no error, as for cat or grep, but a quiet end (exit code
// as it stands). Unhandled, Node throws EPIPE from the next console.log.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit();
  });
}

// Commander's own errors (an unknown option, a missing argument, a bad value) are usage errors:
// exit 2, not commander's 1, which means a failed check here (docs/cli.md). exitOverride makes
// commander throw instead of exiting; the commands registered below inherit it.
const program = new Command('swarmlab')
  .description('Deterministic simulation and testing of BitTorrent peers')
  .version(ENGINE_VERSION)
  .exitOverride();
boundHeapGrowth();
try {
  const name = commandNamed(process.argv.slice(2));
  if (name) (await COMMANDS[name].load())(program);
  else for (const [command, { summary }] of Object.entries(COMMANDS)) program.command(command).summary(summary);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its message already; help and --version are exit code 0.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else reportError(err);
}

function reportError(err: unknown): void {
  // Bad input (including a file that is not there) is one clear line; anything else is a bug,
  // reported with its stack.
  const file = err as NodeJS.ErrnoException;
  const badInput = err instanceof InputError || (typeof file?.code === 'string' && typeof file.path === 'string');
  if (err instanceof InputError) console.error(`swarmlab: ${err.message}`);
  else if (badInput) console.error(`swarmlab: ${file.path}: ${file.code === 'ENOENT' ? 'no such file or folder' : file.code}`);
  else console.error(`swarmlab: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  process.exitCode = badInput ? EXIT_BAD_INPUT : EXIT_FAILED;
}
