// One live test's processes and folders, cleaned up after it: processes stopped, cleanups run,
// folders removed.

import { afterEach } from 'vitest';
import { removeDir, tempDir } from './payloads.ts';
import { Procs } from './processes.ts';

export interface LiveWorkspace {
  /** The processes of the running test. */
  procs(): Procs;
  /** A fresh temporary folder, removed after the test. */
  work(tag: string): string;
  /** Runs `fn` after the test, once its processes have stopped and before its folders go. */
  addCleanup(fn: () => Promise<void> | void): void;
}

/** Registers an afterEach that stops the test's processes, runs its cleanups and removes its folders. */
export function useLiveWorkspace(): LiveWorkspace {
  let procs = new Procs();
  const dirs: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    await procs.stopAll();
    procs = new Procs();
    for (const fn of cleanups.splice(0)) await fn();
    for (const d of dirs.splice(0)) removeDir(d);
  });
  return {
    procs: () => procs,
    work: (tag) => {
      const d = tempDir(tag);
      dirs.push(d);
      return d;
    },
    addCleanup: (fn) => void cleanups.push(fn),
  };
}
