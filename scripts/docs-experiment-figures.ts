// `npm run docs:experiment-figures -- <results folder>…`: saves the charts of each experiment
// report (a folder `swarmlab experiment --full` wrote) as SVG files of their own under
// docs/experiments/, `<experiment>-<chart title>.svg`, with the charts' style inside, so that
// docs/experiments.md shows the full versions' pictures: the CDF of every point and the series
// over time (the one-point CDFs stay in the report).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHART_STYLE } from '../sim/experiment/report.ts';

const OUT = fileURLToPath(new URL('../docs/experiments/', import.meta.url));

/** `Completion time, every point` → `completion-time-every-point`. */
const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** The report's charts, each made a standalone SVG with its title. */
export function chartsOf(reportHtml: string): { title: string; svg: string }[] {
  return [...reportHtml.matchAll(/<svg\b[^>]*>[\s\S]*?<\/svg>/g)].map(([svg]) => {
    const title = /<title>([^<]*)<\/title>/.exec(svg)?.[1] ?? 'chart';
    // A white background and the style the report's head gives the charts.
    const standalone = svg.replace(/^<svg\b([^>]*)>/, `<svg$1><style>${CHART_STYLE}text{font-family:system-ui,sans-serif}</style><rect width="100%" height="100%" fill="#fff"/>`);
    return { title, svg: `${standalone}\n` };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const folders = process.argv.slice(2);
  if (folders.length === 0) {
    console.error('usage: npm run docs:experiment-figures -- <results folder>…');
    process.exit(2);
  }
  mkdirSync(OUT, { recursive: true });
  for (const folder of folders) {
    const { experiment, points } = JSON.parse(readFileSync(join(folder, 'results.json'), 'utf8')) as { experiment: string; points: { label: string }[] };
    const onePoint = new Set(points.map((p) => p.label));
    const seen = new Map<string, number>();
    for (const { title, svg } of chartsOf(readFileSync(join(folder, 'report.html'), 'utf8'))) {
      if (onePoint.has(title)) continue;
      const base = `${experiment}-${slug(title)}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const name = `${n === 1 ? base : `${base}-${n}`}.svg`;
      writeFileSync(join(OUT, name), svg);
      console.log(`wrote docs/experiments/${name}`);
    }
  }
}
