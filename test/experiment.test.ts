// `swarmlab experiment`'s file format and one small experiment end to end: the CSV, the JSON and
// the HTML report (a tree, one CDF per point), resuming, and runs identical to plain scenario runs.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExperimentText } from '../sim/experiment/load.ts';
import { writeResults } from '../sim/experiment/output.ts';
import { runExperiment } from '../sim/experiment/run.ts';
import { judgeVerdict, summarise } from '../sim/experiment/summary.ts';
import { runScenario, ScenarioFileError } from '../sim/scenario/load.ts';
import { htmlTreeProblem } from './helpers/html-balance.ts';
import { chartsOf } from '../scripts/docs-experiment-figures.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmlab-experiment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `name: tiny
torrent: { size: 256KiB, pieceLength: 16KiB }
groups:
  - { name: S, role: seed, upload: 1MiB/s }
  - { name: L, count: 2, upload: 256KiB/s, download: 1MiB/s }
settings: { piecePicker: rarest-first }
timeLimit: 1min
`;

const EXPERIMENT = `name: tiny-sweep
claim: Small swarms finish.
base: base.yaml
sweep:
  groups[1].count: [2, 3]
  settings.piecePicker: [rarest-first, sequential]
seeds: [1, 2]
sampleEvery: 200ms
verdict: { metric: completed, atLeast: 2 }
`;

/** The lines of the error a text gets (after the heading line). */
function problems(text: string): string[] {
  try {
    parseExperimentText(text, join(dir, 'e.yaml'));
  } catch (e) {
    if (!(e instanceof ScenarioFileError)) throw e;
    return e.message.split('\n').slice(1).map((l) => l.trim().replace(dir + '/', ''));
  }
  return [];
}

writeFileSync(join(dir, 'base.yaml'), BASE);

describe('experiment files', () => {
  it('makes the points in sweep order: the first key varies slowest', () => {
    const e = parseExperimentText(EXPERIMENT, join(dir, 'e.yaml'));
    expect(e.points.map((p) => p.label)).toEqual([
      'groups[1].count=2, settings.piecePicker=rarest-first',
      'groups[1].count=2, settings.piecePicker=sequential',
      'groups[1].count=3, settings.piecePicker=rarest-first',
      'groups[1].count=3, settings.piecePicker=sequential',
    ]);
    expect(e.points[3].scenario.groups[1].count).toBe(3);
    expect(e.points[3].scenario.settings?.piecePicker).toBe('sequential');
  });

  it('names a swept path that is not in the base, at its line and column', () => {
    expect(problems(EXPERIMENT.replace('groups[1].count', 'groups[2].count'))).toEqual([
      'e.yaml:5:3: sweep.groups[2].count: groups[2].count is not in the base scenario (a swept value must be set there first)',
    ]);
  });

  it('refuses unknown keys, unknown metrics and a swept value the scenario refuses', () => {
    expect(problems(EXPERIMENT + 'colour: red\n')[0]).toMatch(/^e\.yaml:10:1: colour: unknown key/);
    expect(problems(EXPERIMENT + 'metrics: [entropy, speed]\n')[0]).toMatch(/^e\.yaml:10:20: metrics\[1\]: expected one of completion, .*got "speed"/);
    expect(problems(EXPERIMENT.replace('[rarest-first, sequential]', '[rarest-first, bogus]'))[0]).toMatch(/^e\.yaml:5:3: sweep \(groups\[1\]\.count=2, settings\.piecePicker=bogus\): the base scenario with these values is not valid: settings\.piecePicker: expected one of rarest-first, sequential/);
  });

  it('has a full version (`--full`): its seeds, its sweep and values set in the base; the small one is the file as written', () => {
    const withFull = EXPERIMENT + 'full:\n  seeds: [1, 2, 3, 4]\n  sweep:\n    groups[1].count: [2, 4, 8]\n  set: { torrent.size: 1MiB, timeLimit: 5min }\n';
    const small = parseExperimentText(withFull, join(dir, 'e.yaml'));
    expect([small.full, small.points.length, small.spec.seeds.length, small.points[0].scenario.torrent.size]).toEqual([false, 4, 2, 256 * 1024]);
    const full = parseExperimentText(withFull, join(dir, 'e.yaml'), { full: true });
    expect(full.full).toBe(true);
    expect(full.spec.seeds).toEqual(['1', '2', '3', '4']);
    expect(full.points.map((p) => p.label)).toEqual(['groups[1].count=2', 'groups[1].count=4', 'groups[1].count=8']);
    expect(full.points.map((p) => [p.scenario.torrent.size, p.scenario.timeLimit])).toEqual(new Array(3).fill([1024 * 1024, 300_000]));
    // A file without `full:` runs as written under --full.
    expect(parseExperimentText(EXPERIMENT, join(dir, 'e.yaml'), { full: true }).points).toHaveLength(4);
    const full2 = (text: string) => {
      try {
        parseExperimentText(text, join(dir, 'e.yaml'), { full: true });
      } catch (e) {
        if (!(e instanceof ScenarioFileError)) throw e;
        return e.message.split('\n').slice(1).map((l) => l.trim().replace(dir + '/', ''));
      }
      return [];
    };
    expect(full2(EXPERIMENT + 'full:\n  set: { torrent.colour: red }\n')).toEqual(['e.yaml:11:10: full.set.torrent.colour: torrent.colour is not in the base scenario (a value must be set there first)']);
    expect(full2(EXPERIMENT + 'full:\n  sweep:\n    groups[5].count: [1]\n')).toEqual(['e.yaml:12:5: full.sweep.groups[5].count: groups[5].count is not in the base scenario (a swept value must be set there first)']);
  });

  it('takes an inline base', () => {
    const inline = EXPERIMENT.replace('base: base.yaml', `base:\n${BASE.replace(/^/gm, '  ')}`);
    expect(parseExperimentText(inline, join(dir, 'e.yaml')).points).toHaveLength(4);
  });
});

describe('an experiment end to end', () => {
  const small = EXPERIMENT.replace('  settings.piecePicker: [rarest-first, sequential]\n', '');
  const experiment = parseExperimentText(small, join(dir, 'e.yaml'));
  const out = join(dir, 'out');
  const lines: string[] = [];
  const records = runExperiment(experiment, out, (l) => lines.push(l));
  const written = writeResults(experiment, records, out);

  it('reports progress and runs the sampled swarm as the plain runner does (same trace hash)', () => {
    expect(lines).toEqual([expect.stringMatching(/^\[1\/4\] groups\[1\]\.count=2 seed 1: 2\/2 complete/), expect.anything(), expect.anything(), expect.stringMatching(/^\[4\/4\] groups\[1\]\.count=3 seed 2: 3\/3 complete/)]);
    expect(records[3].traceHash).toBe(runScenario(experiment.points[1].scenario, '2').traceHash);
  });

  it('writes a CSV row per point × seed with the metrics', () => {
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    const header = csv[0].split(',');
    expect(header.slice(0, 4)).toEqual(['point', 'groups[1].count', 'seed', 'ok']);
    expect(header).toEqual(expect.arrayContaining(['completion.median', 't-last/tmin', 'utilisation.10-90', 'entropy.mean', 'duplicate-bytes', 'median.L', 'share-ratio.mean']));
    expect(csv.slice(1).map((r) => r.split(',').slice(0, 3).join(','))).toEqual(['0,2,1', '0,2,2', '1,3,1', '1,3,2']);
    const tOverTMin = csv.slice(1).map((r) => Number(r.split(',')[header.indexOf('t-last/tmin')]));
    for (const t of tOverTMin) expect(t).toBeGreaterThan(1);
  });

  it('writes every run and the verdict as JSON', () => {
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.runs).toHaveLength(4);
    expect(json.runs[0].completion).toHaveLength(2);
    expect(json.runs[0].series.entropy.length).toBeGreaterThan(1);
    expect(json.verdict).toEqual({ reproduces: true, line: expect.stringMatching(/^reproduces: completed/) });
    expect(written.summaries[1].values.completed).toEqual({ mean: 3, halfWidth: 0, n: 2 });
  });

  it('writes an HTML report that parses, with one CDF per point, the claim and the verdict', () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(htmlTreeProblem(html)).toBeUndefined();
    expect(html.match(/<figure class="cdf"/g)).toHaveLength(2);
    expect(html).toContain('<blockquote class="claim">Small swarms finish.</blockquote>');
    expect(html).toMatch(/<p class="verdict yes">reproduces: /);
    expect(html).toContain('data-series="utilisation"');
    expect(html).not.toMatch(/<script/);
  });

  it("its charts save as standalone SVGs for the docs, titled, each with the charts' style (scripts/docs-experiment-figures.ts)", () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const charts = chartsOf(html);
    expect(charts.length).toBe(html.match(/<svg\b/g)!.length);
    expect(charts.map((c) => c.title)).toContain('every point');
    for (const c of charts) {
      expect(htmlTreeProblem(c.svg)).toBeUndefined();
      expect(c.svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*><style>\.chart \.grid\{/);
    }
  });

  it('resumes: a second run reads every point back instead of running it', () => {
    const again: string[] = [];
    const second = runExperiment(experiment, out, (l) => again.push(l));
    expect(again.every((l) => l.endsWith('already done'))).toBe(true);
    expect(second).toEqual(JSON.parse(JSON.stringify(records)));
  });

  it('runs a point again when the base scenario changed, and only that', () => {
    const edited = parseExperimentText(small.replace('base: base.yaml', `base:\n${BASE.replace('timeLimit: 1min', 'timeLimit: 2min').replace(/^/gm, '  ')}`), join(dir, 'e.yaml'));
    const again: string[] = [];
    runExperiment({ ...edited, points: edited.points.slice(0, 1) }, out, (l) => again.push(l));
    expect(again.map((l) => l.endsWith('already done'))).toEqual([false, false]);
  });
});

describe('the HTML tree check', () => {
  it('finds an unclosed or misclosed element', () => {
    expect(htmlTreeProblem('<div><p>x</div>')).toMatch(/closes <p>/);
    expect(htmlTreeProblem('<div>')).toBe('unclosed: div');
    expect(htmlTreeProblem('<p><br><svg><path d="M0"/></svg></p>')).toBeUndefined();
  });
});

describe('the experiments under experiments/ (their small versions, as CI runs them)', () => {
  const names = readdirSync('experiments').filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();

  it('are the library docs/experiments.md lists', () => {
    expect(names).toEqual(['arrival-rate', 'bittyrant', 'clustering', 'optimistic-unchoke', 'piece-selection', 'seed-leaves-early', 't-min-over-n', 'uplink-utilisation']);
    const doc = readFileSync('docs/experiments.md', 'utf8');
    for (const name of names) expect(doc, name).toContain(`| \`${name}.yaml\` |`);
  });

  // Each runs whole: every point and seed, the summaries and the verdict. A verdict is a finding
  // (some claims do not reproduce on this engine yet, and docs/experiments.md says so), except
  // where the engine's behaviour is the point: a super-seed that leaves early leaves a complete swarm.
  it.each(names)('%s runs every point and seed and reaches a verdict on a measured metric', { timeout: 180_000 }, (name) => {
    const e = parseExperimentText(readFileSync(`experiments/${name}.yaml`, 'utf8'), `experiments/${name}.yaml`);
    expect(e.points.length).toBeGreaterThan(1);
    expect(e.spec.claim).toBeTruthy();
    const records = runExperiment(e, join(dir, `library-${name}`));
    expect(records).toHaveLength(e.points.length * e.spec.seeds.length);
    const summaries = summarise(e.points, records);
    const verdict = judgeVerdict(e.spec.verdict!, summaries);
    for (const s of summaries) expect(Number.isFinite(s.values[e.spec.verdict!.metric]?.mean), `${name} ${s.label}`).toBe(true);
    expect(verdict.line).toMatch(/^(reproduces|does not reproduce): /);
    if (name === 'seed-leaves-early') {
      expect(verdict.reproduces, verdict.line).toBe(true);
      expect(summaries[1].values.completed.mean).toBe(10); // every leecher, with super-seeding
    }
    if (name === 'bittyrant' || name === 'clustering') {
      // The engine's chokers are the point: a tyrant completes sooner than the standard client in
      // its place; tit-for-tat clusters leechers by upload class more than random unchokes do.
      expect(verdict.reproduces, verdict.line).toBe(true);
    }
    if (name === 'optimistic-unchoke') {
      expect(verdict.reproduces, verdict.line).toBe(true);
      // Every leecher had its share: 30 min over 10 or 20 peers, the slot never idle.
      expect(summaries.map((s) => Math.round(s.values['unchoke.mean'].mean))).toEqual([180, 90]);
    }
  });
});
