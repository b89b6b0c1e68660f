// Writes an experiment's results: results.csv (one row per point × seed, every scalar metric),
// results.json (every run with its CDF data and series, the summaries, the verdict) and report.html.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from './load.ts';
import { experimentReportHtml } from './report.ts';
import type { RunRecord } from './run.ts';
import { judgeVerdict, type PointSummary, summarise, type VerdictResult } from './summary.ts';

/** A CSV field, quoted when it must be (RFC 4180). */
export function csvField(value: unknown): string {
  const text = value === undefined || (typeof value === 'number' && !Number.isFinite(value)) ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function resultsCsv(experiment: Experiment, records: readonly RunRecord[]): string {
  const sweepKeys = Object.keys(experiment.spec.sweep);
  const columns = [...new Set(records.flatMap((r) => Object.keys(r.values)))];
  const lines = [['point', ...sweepKeys, 'seed', 'ok', ...columns].map(csvField).join(',')];
  for (const r of records) {
    const point = experiment.points[r.point];
    lines.push([r.point, ...point.assignments.map((a) => a.value), r.seed, r.ok, ...columns.map((c) => r.values[c])].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

export interface Written {
  summaries: PointSummary[];
  verdict?: VerdictResult;
}

export function writeResults(experiment: Experiment, records: readonly RunRecord[], out: string): Written {
  const summaries = summarise(experiment.points, records);
  const verdict = experiment.spec.verdict ? judgeVerdict(experiment.spec.verdict, summaries) : undefined;
  writeFileSync(join(out, 'results.csv'), resultsCsv(experiment, records));
  const json = {
    experiment: experiment.spec.name,
    version: experiment.full ? 'full' : 'small',
    claim: experiment.spec.claim,
    verdict,
    points: experiment.points.map((p) => ({ index: p.index, label: p.label, assignments: p.assignments })),
    summaries,
    runs: records,
  };
  writeFileSync(join(out, 'results.json'), JSON.stringify(json, null, 1) + '\n');
  writeFileSync(join(out, 'report.html'), experimentReportHtml(experiment, summaries, verdict));
  return { summaries, verdict };
}
