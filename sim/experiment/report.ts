// The experiment's one-file HTML report: the claim beside the measured figure and the verdict, a
// completion-time CDF per sweep point, the series over time with a line per point, and a table of
// every scalar metric as mean ± 95 % CI over seeds. Plain HTML and inline SVG: opens offline.

import type { Experiment } from './load.ts';
import type { PointSummary, VerdictResult } from './summary.ts';
import { round } from './summary.ts';
import { escapeXml, lineChart } from './svg.ts';

/** The charts' own style: in the report's head, and inside each chart saved on its own (scripts/docs-experiment-figures.ts). */
export const CHART_STYLE = '.chart .grid{stroke:#e4e4e4}.chart .tick{font-size:10px;fill:#555}.chart .axis{font-size:11px;fill:#333}.chart .title{font-size:12px;font-weight:600}.chart .legend text{font-size:11px}';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}.claim{border-left:4px solid #888;padding:4px 12px;background:#f5f5f5}
.verdict{font-weight:600}.verdict.yes{color:#17702a}.verdict.no{color:#a21c1c}.charts{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
${CHART_STYLE}figure{margin:0}.wide{overflow-x:auto}`;

const SERIES_LABELS: Record<string, { title: string; y: string; domain?: [number, number] }> = {
  utilisation: { title: 'Uplink utilisation over time', y: 'uploaded ÷ upload capacity' },
  entropy: { title: 'Piece-availability entropy over time', y: 'normalised entropy', domain: [0, 1] },
};

export function experimentReportHtml(experiment: Experiment, summaries: readonly PointSummary[], verdict: VerdictResult | undefined): string {
  const { spec } = experiment;
  const html: string[] = [`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(spec.name)}</title><style>${STYLE}</style></head><body>`];
  html.push(`<h1>${escapeXml(spec.name)}</h1>`);
  if (spec.description) html.push(`<p>${escapeXml(spec.description)}</p>`);
  html.push(`<p>${experiment.full ? 'The full version: ' : ''}${summaries.length} sweep point${summaries.length === 1 ? '' : 's'} × ${spec.seeds.length} seed${spec.seeds.length === 1 ? '' : 's'} (${spec.seeds.map(escapeXml).join(', ')}).</p>`);
  if (spec.claim || verdict) {
    html.push('<h2>Claim and measurement</h2>');
    if (spec.claim) html.push(`<blockquote class="claim">${escapeXml(spec.claim)}</blockquote>`);
    if (verdict) html.push(`<p class="verdict ${verdict.reproduces ? 'yes' : 'no'}">${escapeXml(verdict.line)}</p>`);
  }
  html.push('<h2>Metrics (mean ± 95 % CI over seeds)</h2>', `<div class="wide">${metricTable(summaries)}</div>`);
  // One x range for every CDF, so that they compare at a glance; and all of them in one chart.
  const cdfs = summaries.map((s) => ({ name: s.label, points: s.cdf.map((c) => ({ x: c.x, y: c.p })), step: true }));
  const cdfAxes = { xLabel: 'completion time after joining (s)', yLabel: 'fraction of leechers', xDomain: [0, Math.max(1, ...summaries.flatMap((s) => s.cdf.map((c) => c.x)))] as [number, number], yDomain: [0, 1] as [number, number] };
  html.push('<h2>Completion time (CDF per sweep point, every seed pooled)</h2><div class="charts">');
  if (cdfs.length > 1) html.push('<figure class="cdf-all">', lineChart(cdfs, { title: 'every point', ...cdfAxes }), '</figure>');
  cdfs.forEach((cdf, i) => html.push(`<figure class="cdf" data-point="${summaries[i].index}">`, lineChart([cdf], { title: cdf.name, ...cdfAxes }), '</figure>'));
  html.push('</div>');
  const names = [...new Set(summaries.flatMap((s) => Object.keys(s.series)))];
  if (names.length) {
    html.push('<h2>Over time (mean over seeds)</h2><div class="charts">');
    for (const name of names) {
      const label = SERIES_LABELS[name] ?? { title: name, y: name };
      const lines = summaries.map((s) => ({ name: s.label, points: (s.series[name] ?? []).map((y, i) => ({ x: ((i + 1) * s.intervalMs) / 1000, y })) }));
      html.push(`<figure class="series" data-series="${escapeXml(name)}">`, lineChart(lines, { title: label.title, xLabel: 'virtual time (s)', yLabel: label.y, yDomain: label.domain }), '</figure>');
    }
    html.push('</div>');
  }
  html.push('<p>Data: <a href="results.csv">results.csv</a>, <a href="results.json">results.json</a>.</p></body></html>\n');
  return html.join('\n');
}

function metricTable(summaries: readonly PointSummary[]): string {
  const columns = [...new Set(summaries.flatMap((s) => Object.keys(s.values)))];
  const head = `<tr><th>point</th><th>runs</th>${columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`;
  const rows = summaries.map((s) => {
    const cells = columns.map((c) => {
      const v = s.values[c];
      return `<td>${v && v.n > 0 ? `${round(v.mean)}${v.n > 1 ? ` ± ${round(v.halfWidth)}` : ''}` : '–'}</td>`;
    });
    return `<tr><td>${escapeXml(s.label)}</td><td>${s.runs}</td>${cells.join('')}</tr>`;
  });
  return `<table>${head}${rows.join('')}</table>`;
}
