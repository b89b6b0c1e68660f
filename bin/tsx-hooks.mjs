// Registers tsx's loader hooks, so TypeScript sources import as they are: in a clone, for the
// `swarmlab` command (bin/swarmlab.mjs) and for each worker thread of `swarmlab test --jobs N`
// (cli/test-pool.ts passes this file to `--import`: a worker does not inherit its parent's hooks).
import { register } from 'tsx/esm/api';

register();
