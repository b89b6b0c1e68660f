// Bundles the page's code and styles (viz/page/main.ts and what it imports, d3 included) into one
// script and one stylesheet with esbuild, in memory. `npm run build` writes the result into dist/
// (scripts/build.ts); from a clone, viz/bundle.ts calls this at run time instead.

import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface PageAssets {
  js: string;
  css: string;
}

const entry = fileURLToPath(new URL('./page/main.ts', import.meta.url));

export async function buildPage(minify = process.env.SWARMLAB_VIZ_MINIFY !== '0'): Promise<PageAssets> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify,
    legalComments: 'none',
    write: false,
    outdir: 'viz-bundle',
    logLevel: 'silent',
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: text('.js'), css: text('.css') };
}
