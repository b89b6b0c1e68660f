// The replay page's script and stylesheet, once per process. An installed package has them
// prebuilt beside this module (dist/viz/page/, written by `npm run build`), so it needs neither
// esbuild nor d3 at run time; a clone has only the sources and bundles them now (viz/page-build.ts).

import { existsSync, readFileSync } from 'node:fs';
import type { PageAssets } from './page-build.ts';

export type { PageAssets };

/** Where `npm run build` puts the bundled page, relative to this module in dist/. */
export const BUILT_PAGE_DIR = 'page';
export const BUILT_PAGE_JS = 'page.js';
export const BUILT_PAGE_CSS = 'page.css';

let built: Promise<PageAssets> | undefined;

export function pageAssets(): Promise<PageAssets> {
  built ??= loadPage();
  return built;
}

async function loadPage(): Promise<PageAssets> {
  const js = new URL(`./${BUILT_PAGE_DIR}/${BUILT_PAGE_JS}`, import.meta.url);
  const css = new URL(`./${BUILT_PAGE_DIR}/${BUILT_PAGE_CSS}`, import.meta.url);
  if (existsSync(js) && existsSync(css)) return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
  const { buildPage } = await import('./page-build.ts');
  return buildPage();
}
