// `npm run build` (and `prepack`): the package in dist/ — JavaScript and declarations from tsc
// (tsconfig.build.json, one file per module, .ts import paths rewritten to .js), the replay page
// bundled with esbuild, and the files the code reads beside itself. The installed package runs
// this output only: no tsx, esbuild or d3 at run time.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_PAGE_CSS, BUILT_PAGE_DIR, BUILT_PAGE_JS } from '../viz/bundle.ts';
import { buildPage } from '../viz/page-build.ts';
import { renderScenarioJsonSchema } from '../sim/scenario/json-schema.ts';
import { SCENARIO_SCHEMA_PATH } from './docs-schema.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** Files the compiled code opens by their path next to its own module. */
const DATA_FILES = ['sim/tcp/clients/lt_client.py'];

rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) {
  console.error('build: tsc failed');
  process.exit(1);
}

const page = await buildPage(true);
const pageDir = join(dist, 'viz', BUILT_PAGE_DIR);
mkdirSync(pageDir, { recursive: true });
writeFileSync(join(pageDir, BUILT_PAGE_JS), page.js);
writeFileSync(join(pageDir, BUILT_PAGE_CSS), page.css);

for (const file of DATA_FILES) {
  mkdirSync(dirname(join(dist, file)), { recursive: true });
  copyFileSync(join(root, file), join(dist, file));
}
// The scenario format's JSON Schema, shipped at the package's root (`files`), generated afresh.
writeFileSync(SCENARIO_SCHEMA_PATH, renderScenarioJsonSchema());
console.log('build: dist/ and scenario.schema.json written');
