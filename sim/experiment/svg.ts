// A tiny DOM-free SVG builder for the report's charts: line charts on linear axes, drawn as
// strings on the Node side so the report is one offline file without a script.

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
  /** Draw as steps (a CDF) instead of straight segments. */
  step?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Fixed ranges (e.g. [0, 1]); else from the data (from 0). */
  xDomain?: [number, number];
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const linear = (d0: number, d1: number, r0: number, r1: number) => (v: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0));

/** One line chart as an `<svg>` element, with a legend when there are several series. */
export function lineChart(series: readonly LineSeries[], o: ChartOptions): string {
  const width = o.width ?? 560;
  const height = o.height ?? 300;
  const m = { top: 28, right: 16, bottom: 42, left: 56 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const [x0, x1] = o.xDomain ?? (xs.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1]);
  const [y0, y1] = o.yDomain ?? (ys.length ? [Math.min(0, ...ys), Math.max(...ys)] : [0, 1]);
  const x = linear(x0, x1, m.left, width - m.right);
  const y = linear(y0, y1, height - m.bottom, m.top);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`];
  parts.push(`<title>${escapeXml(o.title)}</title>`, `<text x="${m.left}" y="16" class="title">${escapeXml(o.title)}</text>`);
  for (const t of niceTicks(x0, x1)) parts.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${m.top}" y2="${height - m.bottom}"/><text class="tick" x="${x(t)}" y="${height - m.bottom + 14}" text-anchor="middle">${t}</text>`);
  for (const t of niceTicks(y0, y1)) parts.push(`<line class="grid" x1="${m.left}" x2="${width - m.right}" y1="${y(t)}" y2="${y(t)}"/><text class="tick" x="${m.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(`<text class="axis" x="${(m.left + width - m.right) / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text class="axis" transform="translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 0) return;
    let d = '';
    pts.forEach((p, j) => {
      const px = x(p.x).toFixed(1);
      const py = y(p.y).toFixed(1);
      if (j === 0) d += `M${px},${s.step ? y(0).toFixed(1) : py}${s.step ? `V${py}` : ''}`;
      else d += s.step ? `H${px}V${py}` : `L${px},${py}`;
    });
    parts.push(`<path class="series" d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.6"><title>${escapeXml(s.name)}</title></path>`);
  });
  if (series.length > 1) {
    series.forEach((s, i) => parts.push(`<g class="legend"><rect x="${m.left + 8}" y="${m.top + 4 + i * 15}" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${m.left + 22}" y="${m.top + 13 + i * 15}">${escapeXml(s.name)}</text></g>`));
  }
  parts.push('</svg>');
  return parts.join('');
}
