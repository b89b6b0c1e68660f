// How far V8 lets the heap grow between two full collections, for every command of the CLI.
//
// A large simulated swarm keeps little alive (about 650 MiB at 1,000 peers) but allocates some
// 300 MB/s of messages that live for a few virtual milliseconds. With its default policy V8 then
// lets the heap reach about 3.5 times its live size before the next full collection: 2.8 GiB of
// RSS for that swarm. Growing by at most 1.6 times bounds it at about 1.6 GiB, for about 5 % more
// time (`npm run bench -- scale`, which runs its cases with the same flag). V8 flags are the
// process's: a library user's own process is left as it is; only the CLI sets this.

import { setFlagsFromString } from 'node:v8';

/** `--heap-growing-percent`: the heap may grow by this much (1 + p/100) between full collections. */
export const HEAP_GROWING_PERCENT = 60;

export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
