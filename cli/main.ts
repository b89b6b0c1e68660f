// The swarmlab command line.

import { Command } from 'commander';
import { ENGINE_VERSION } from '../engine/version.ts';
import { EXIT_BAD_INPUT, InputError } from './input-error.ts';
import { registerRun } from './run.ts';
import { registerShrink } from './shrink.ts';
import { registerTest } from './test.ts';
import { registerViz } from './viz.ts';
import { registerCreate } from './create.ts';
import { registerDownload } from './download.ts';
import { registerSeed } from './seed.ts';

const program = new Command('swarmlab')
  .description('Deterministic simulation and testing of BitTorrent peers')
  .version(ENGINE_VERSION);
registerRun(program);
registerTest(program);
registerShrink(program);
registerViz(program);
registerCreate(program);
registerDownload(program);
registerSeed(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Bad input (including a file that is not there) is one clear line; anything else is a bug,
  // reported with its stack.
  const file = err as NodeJS.ErrnoException;
  const badInput = err instanceof InputError || (typeof file?.code === 'string' && typeof file.path === 'string');
  if (err instanceof InputError) console.error(`swarmlab: ${err.message}`);
  else if (badInput) console.error(`swarmlab: ${file.path}: ${file.code === 'ENOENT' ? 'no such file or folder' : file.code}`);
  else console.error(`swarmlab: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  process.exitCode = badInput ? EXIT_BAD_INPUT : 1;
}
