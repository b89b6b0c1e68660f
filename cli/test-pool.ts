// `swarmlab test --jobs N`: in-memory runs on N worker threads (tinypool), each a whole run, so
// a run's result and trace hash are what one thread would give. TCP runs, which take real time
// and loopback addresses, stay in this thread, one at a time.
//
// The worker's module is the compiled test-worker.js in an installed package; in a clone it is
// test-worker.ts, and the worker loads tsx first (bin/tsx-hooks.mjs), as bin/swarmlab.mjs does
// for the main thread: a worker thread does not inherit the loader hooks of its parent.

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
  /** Whether a run must stay in this thread (a TCP run), and how it runs there. */
  inThisThread: (run: PlannedRun) => boolean;
  runHere: (run: PlannedRun) => Promise<SuiteRun>;
}

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** Node options that take the next argument as their value, of those a worker accepts (below). */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);
/** Node options without a separate value that a worker accepts and may need to load its module. */
const ALONE = /^--(import|require|loader|experimental-loader|conditions)=|^--(no-warnings|enable-source-maps|no-deprecation)$/;

/**
 * The parent's options a worker thread can be given: the ones that decide how modules load. A
 * worker refuses V8 and per-process options in an explicit execArgv (`node --single-threaded-gc
 * swarmlab test --jobs 2` failed with ERR_WORKER_INVALID_EXEC_ARGV), and needs none of them:
 * V8's flags are the process's, so its threads have them already.
 */
export function workerExecArgv(parent: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    if (WITH_VALUE.has(parent[i]) && i + 1 < parent.length) kept.push(parent[i], parent[++i]);
    else if (ALONE.test(parent[i])) kept.push(parent[i]);
  }
  return kept;
}

export function testPool(o: TestPoolOptions): TestPool {
  const pool = new Tinypool({
    filename: new URL(FROM_SOURCES ? './test-worker.ts' : './test-worker.js', import.meta.url).href,
    minThreads: o.jobs,
    maxThreads: o.jobs,
    // Compiled, a worker inherits the parent's options (an implicit execArgv takes them all).
    execArgv: FROM_SOURCES ? [...workerExecArgv(process.execArgv), '--import', new URL('../bin/tsx-hooks.mjs', import.meta.url).href] : undefined,
  });
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
        // The worker itself failed (out of memory, a thread that died): that run fails, the suite goes on.
        return crashedSuiteRun(run, e, performance.now() - started);
      }
    },
    close: () => pool.destroy(),
  };
}
