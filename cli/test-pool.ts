// `swarmlab test --jobs N` (and `swarmlab experiment --jobs N`, through `workerPool`): in-memory
// runs on N worker processes (tinypool's child_process runtime), each a whole run, so a run's
// result and trace hash are what one thread would give.
// TCP runs, which take real time and loopback addresses, stay in this process, one at a time.
//
// Processes, not threads, and each with V8's single-threaded GC: threads of one process share
// V8's pool of GC helper threads, and two busy isolates on two cores contend for them (a flag V8
// takes only at start-up; set at run time it crashed the GC). The library, --jobs 2 against
// --jobs 1 on this two-core machine: threads 1.38-1.48 ×, processes 1.53-1.60 × (38.7 s against
// threads' 42.6-46.1 s, interleaved). One job alone uses 1.15 cores (its GC helpers take the
// other), which caps the ratio near 1.7 ×.
//
// The worker's module is the compiled test-worker.js in an installed package; in a clone it is
// test-worker.ts, and the worker loads tsx first (bin/tsx-hooks.mjs), as bin/swarmlab.mjs does
// for the main process: a worker does not inherit the loader hooks of its parent.

import Tinypool from 'tinypool';
import { crashedSuiteRun, type PlannedRun, type SuiteRun } from '../sim/scenario/suite.ts';
import type { PlantedBug } from './scenario-args.ts';
import type { WorkerTask } from './test-worker.ts';

export interface TestPool {
  execute(run: PlannedRun): Promise<SuiteRun>;
  close(): Promise<void>;
}

export interface TestPoolOptions {
  jobs: number;
  plantedBug?: PlantedBug;
  /** Whether a run must stay in this process (a TCP run), and how it runs there. */
  inThisThread: (run: PlannedRun) => boolean;
  runHere: (run: PlannedRun) => Promise<SuiteRun>;
}

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** Node options that take the next argument as their value, of those a worker accepts (below). */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);
/** Node options without a separate value that a worker accepts and may need to load its module. */
const ALONE = /^--(import|require|loader|experimental-loader|conditions)=|^--(no-warnings|enable-source-maps|no-deprecation)$/;

/**
 * The parent's options a worker is given: the ones that decide how modules load. A worker thread
 * refused V8 and per-process options in an explicit execArgv (`node --single-threaded-gc swarmlab
 * test --jobs 2` failed with ERR_WORKER_INVALID_EXEC_ARGV); a worker process would take them, but
 * its GC flag is ours to set and the rest (an inspector port, a heap size) are the parent's.
 */
export function workerExecArgv(parent: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    if (WITH_VALUE.has(parent[i]) && i + 1 < parent.length) kept.push(parent[i], parent[++i]);
    else if (ALONE.test(parent[i])) kept.push(parent[i]);
  }
  return kept;
}

/** `jobs` worker processes running the default export of `cli/<worker>.ts` (`.js` when compiled), as above. */
export function workerPool(worker: 'test-worker' | 'experiment-worker', jobs: number): Tinypool {
  return new Tinypool({
    filename: new URL(`./${worker}${FROM_SOURCES ? '.ts' : '.js'}`, import.meta.url).href,
    minThreads: jobs,
    maxThreads: jobs,
    runtime: 'child_process',
    // Results go back as structured clones (undefined and Infinity survive), as from a thread.
    serialization: 'advanced',
    execArgv: ['--single-threaded-gc', ...workerExecArgv(process.execArgv), ...(FROM_SOURCES ? ['--import', new URL('../bin/tsx-hooks.mjs', import.meta.url).href] : [])],
  });
}

export function testPool(o: TestPoolOptions): TestPool {
  const pool = workerPool('test-worker', o.jobs);
  let here: Promise<unknown> = Promise.resolve();
  return {
    async execute(run) {
      if (o.inThisThread(run)) {
        const result = here.then(() => o.runHere(run));
        here = result.catch(() => undefined);
        return result;
      }
      const started = performance.now();
      try {
        const task: WorkerTask = { run, plantedBug: o.plantedBug };
        return (await pool.run(task)) as SuiteRun;
      } catch (e) {
        // The worker itself failed (out of memory, a process that died): that run fails, the suite goes on.
        return crashedSuiteRun(run, e, performance.now() - started);
      }
    },
    close: () => pool.destroy(),
  };
}
