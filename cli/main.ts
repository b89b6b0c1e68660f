// The swarmlab command line.

import { Command, InvalidArgumentError } from 'commander';
import { ENGINE_VERSION } from '../engine/version.ts';
import { registerRun } from './run.ts';
import { registerShrink } from './shrink.ts';
import { registerTest } from './test.ts';
import { registerViz } from './viz.ts';
import { registerCreate } from './create.ts';
import { registerDownload } from './download.ts';
import { registerSeed } from './seed.ts';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

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
await program.parseAsync(process.argv);
