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

export function testPool(o: TestPoolOptions): TestPool {
  const pool = new Tinypool({
    filename: new URL(FROM_SOURCES ? './test-worker.ts' : './test-worker.js', import.meta.url).href,
    minThreads: o.jobs,
    maxThreads: o.jobs,
    execArgv: FROM_SOURCES ? [...process.execArgv, '--import', new URL('../bin/tsx-hooks.mjs', import.meta.url).href] : process.execArgv,
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
