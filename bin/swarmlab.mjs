#!/usr/bin/env node
// The `swarmlab` command. An installed package runs the compiled CLI in dist/ (`npm run build`,
// which `prepack` runs). A clone — the TypeScript sources beside this file — runs them through
// tsx, a dev dependency, so an edit needs no build and `npm start` works right after `npm install`.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../cli/main.ts', import.meta.url))) {
  await import('./tsx-hooks.mjs');
  await import('../cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
