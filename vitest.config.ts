import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Several tests start the CLI or real clients as child processes: give each room on a loaded
    // 2-core machine. Every test still bounds what it starts by its own time-outs.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
