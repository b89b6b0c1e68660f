// A resolved Scenario written back as a scenario file: units a person reads (`4MiB`, `30s`),
// defaults left out, and exact — the file loads back to the same Scenario under any seed.

import { Document, isMap, isSeq, visit } from 'yaml';
import { DEFAULTS, settingQuantity } from './schema.ts';
import type { Amount, FaultSpec, GroupSpec, Scenario } from './types.ts';
import { formatDuration, formatFrequency, formatRate, formatSize } from './units.ts';

type Plain = { [key: string]: unknown };

/** How each numeric field of a fault is written, by its key. */
const FAULT_FIELDS: Record<string, (n: number) => string | number> = {
  at: formatDuration,
  until: formatDuration,
  duration: formatDuration,
  restartAfter: formatDuration,
  latency: formatDuration,
  jitter: formatDuration,
  delay: formatDuration,
  from: formatDuration,
  upload: formatRate,
  download: formatRate,
  rate: formatFrequency,
};

const spread = ([lo, hi]: [number, number]) => (lo === hi ? formatDuration(lo) : `${formatDuration(lo)}..${formatDuration(hi)}`);

function settingsOf(settings: Plain): Plain {
  const out: Plain = {};
  for (const [key, v] of Object.entries(settings)) {
    if (v === undefined) continue;
    if (typeof v !== 'number') out[key] = v;
    else out[key] = { duration: formatDuration, size: formatSize, count: (n: number) => n }[settingQuantity(key) as 'duration' | 'size' | 'count'](v);
  }
  return out;
}

function groupOf(g: GroupSpec): Plain {
  const out: Plain = { name: g.name, count: g.count, role: g.role };
  if (g.behaviour !== 'honest') out.behaviour = g.behaviour;
  if (g.upload !== DEFAULTS[g.role].upload) out.upload = formatRate(g.upload);
  if (g.download !== DEFAULTS[g.role].download) out.download = formatRate(g.download);
  if (g.joinAt !== 0) out.joinAt = formatDuration(g.joinAt);
  if (g.joinSpread !== undefined) out.joinSpread = formatDuration(g.joinSpread);
  const leave = g.leave;
  if (leave.when === 'after') out.leave = { when: 'after', time: formatDuration(leave.time) };
  else if (leave.when === 'on-complete') out.leave = leave.linger === undefined ? 'on-complete' : { when: 'on-complete', linger: formatDuration(leave.linger) };
  if (g.latency) out.latency = spread(g.latency);
  if (g.settings && Object.keys(g.settings).length > 0) out.settings = settingsOf(g.settings);
  return out;
}

function faultOf(f: FaultSpec | Plain): Plain {
  const out: Plain = {};
  for (const [key, v] of Object.entries(f)) {
    if (v === undefined || (key === 'from' && v === 0)) continue;
    if (key === 'fault') out.fault = faultOf(v as Plain);
    else if (typeof v === 'number' && FAULT_FIELDS[key]) out[key] = FAULT_FIELDS[key](v);
    else out[key] = v;
  }
  return out;
}

/** A share as a file writes it: the shortest `20%` that parses back to the same number. */
function percentOf(fraction: number): string {
  for (let digits = 1; digits <= 17; digits++) {
    const percent = Number((fraction * 100).toPrecision(digits));
    if (percent / 100 === fraction) return `${percent}%`;
  }
  return `${fraction * 100}%`;
}

const amountOf = (a: Amount) => ('bytes' in a ? formatSize(a.bytes) : percentOf(a.fraction));

/** The scenario as the plain data of a file. */
export function scenarioToData(s: Scenario, description?: string): Plain {
  const out: Plain = { name: s.name };
  if (description) out.description = description;
  const torrent: Plain = { size: formatSize(s.torrent.size) };
  if (s.torrent.pieceLength !== DEFAULTS.pieceLength) torrent.pieceLength = formatSize(s.torrent.pieceLength);
  if (s.torrent.files !== DEFAULTS.files) torrent.files = s.torrent.files;
  out.torrent = torrent;
  out.groups = s.groups.map(groupOf);
  const [lo, hi] = s.network.latency;
  if (lo !== DEFAULTS.latency[0] || hi !== DEFAULTS.latency[1]) out.network = { latency: spread(s.network.latency) };
  if (s.faults.length > 0) out.faults = s.faults.map(faultOf);
  if (s.timeLimit !== DEFAULTS.timeLimit) out.timeLimit = formatDuration(s.timeLimit);
  if (s.trackerInterval !== DEFAULTS.trackerInterval) out.trackerInterval = formatDuration(s.trackerInterval);
  if (s.settings && Object.keys(s.settings).length > 0) out.settings = settingsOf(s.settings);
  if (s.webSeeds?.length) out.webSeeds = s.webSeeds.map((w) => ({ upload: formatRate(w.upload), latency: formatDuration(w.latency) }));
  const expect: Plain = {};
  for (const [key, v] of Object.entries(s.expect)) {
    if (v === undefined || (key === 'allComplete' && v === true)) continue;
    if (key === 'maxDuplicateBytes') expect[key] = amountOf(v as Amount);
    else if (key === 'firstCopy') expect[key] = { by: (v as { by: string }).by, maxUpload: amountOf((v as { maxUpload: Amount }).maxUpload) };
    else if (key === 'faster') expect[key] = (v as { group: string; than: string; by: number }[]).map((f) => ({ ...f, by: percentOf(f.by) }));
    else expect[key] = typeof v === 'number' && (key === 'completeBy' || key === 'settleWithin') ? formatDuration(v) : v;
  }
  if (Object.keys(expect).length > 0) out.expect = expect;
  out.seeds = s.seeds.map((seed) => (/^(0|[1-9]\d{0,14})$/.test(seed) ? Number(seed) : seed));
  return out;
}

/** Collections short enough for one line are written on one line: `{ name: L, count: 4 }`. */
const ONE_LINE = 100;

/** The scenario as YAML, with an optional comment at the top (each line gets its `#`). */
export function scenarioToYaml(s: Scenario, options: { comment?: string; description?: string } = {}): string {
  const doc = new Document(scenarioToData(s, options.description));
  visit(doc, {
    Map(_, node) {
      if (node !== doc.contents && JSON.stringify(node.toJSON()).length <= ONE_LINE) node.flow = true;
    },
    Seq(_, node) {
      if (node.items.every((item) => !isMap(item) && !isSeq(item))) node.flow = true;
    },
  });
  const head = options.comment ? options.comment.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' : '';
  return head + doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
