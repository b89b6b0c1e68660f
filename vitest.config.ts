import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The simulator's debug invariant check on in every test (sim/debug-checks.ts).
    setupFiles: ['test/setup.ts'],
    // Several tests start the CLI or real clients as child processes: give each room on a loaded
    // 2-core machine. Every test still bounds what it starts by its own time-outs.
    testTimeout: 30_000,
    // One file at a time: the live tests drive real clients on real time, and must not compete
    // for the 2 cores with the CPU-heavy simulator suites running beside them.
    fileParallelism: false,
    hookTimeout: 60_000,
  },
});
