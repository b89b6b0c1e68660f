// The replay page in a real browser: Debian's chromium, headless, driven by playwright-core. It
// opens a report from disk, checks the 30 original flowchart nodes are drawn with their labels,
// moves to a set time and checks the lit node, the edge counts and a peer's progress against a
// naive replay of the trace; it also opens a trace through the file picker, and a hand-written TCP
// trace with another client (marked in the swarm, its messages decoded in the event list); and at
// 1280×720 a failing scenario run, opened at its first failure with its failures panel, and a swarm
// with a corrupt peer (the adversary and its bans marked). The screenshots it saves (out/viz-*.png)
// are CI artifacts.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { flowEdges, flowNodes, ORIGINAL_NODE_IDS } from '../engine/flowchart.ts';
import { runSwarm, swarmOf } from '../sim/swarm.ts';
import { memoryTrace } from '../engine/trace-writer.ts';
import { reportHtml } from '../viz/report.ts';
import { parseLines, referenceStateAt } from './viz-reference.ts';
import type { PlantedBug } from '../engine/test-hooks.ts';
import { loadScenarioFile } from '../sim/scenario/load.ts';
import { resolveScenario } from '../sim/scenario/resolve.ts';
import { runResolvedScenario } from '../sim/scenario/run.ts';
import { NODE_MEANINGS, TERMS } from '../viz/glossary.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`viz-browser: skipped — ${CHROMIUM} is not installed (apt-get install -y chromium)`);

const STEP_TIMEOUT = 20_000;
// Chromium's start is the slowest step on a loaded 2-core machine (seen: over 20 s in CI).
const LAUNCH_TIMEOUT = 60_000;

async function launch(): Promise<{ context: BrowserContext; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'swarmlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: LAUNCH_TIMEOUT,
    viewport: { width: 1600, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  return { context, profile };
}

/** Waits until the page has drawn what the last input changed (it draws on animation frames). */
async function drawn(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

/** A scenario's run and its trace, in memory. */
function scenarioTrace(file: string, seed: string, plantedBug?: PlantedBug) {
  const trace = memoryTrace();
  const result = runResolvedScenario(resolveScenario(loadScenarioFile(file), seed), seed, { traceOut: trace.out, ...(plantedBug ? { plantedBug } : {}) });
  const text = trace.lines.join('\n') + '\n';
  return { result, text, events: parseLines(text).events };
}

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''));
  expect(await page.evaluate(() => document.body.dataset.state), await page.textContent('#load-status') ?? '').toBe('ready');
  await drawn(page);
}

describe.skipIf(!hasChromium)('the replay page in chromium', () => {
  // A small real run: 1 seed, 4 leechers, 16 pieces.
  const trace = memoryTrace();
  runSwarm(swarmOf('viz-browser', 1, 4, { size: 512 * 1024, pieceLength: 32 * 1024, traceOut: trace.out }));
  const text = trace.lines.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  const { header, events } = parseLines(text);

  it('draws the flowchart and replays a connection at a set time', async () => {
    const dir = resolve('out');
    mkdirSync(dir, { recursive: true });
    const reportPath = join(dir, 'viz-browser-report.html');
    writeFileSync(reportPath, await reportHtml(new TextEncoder().encode(text), { name: 'viz-browser.jsonl' }));

    // The moment to look at: L1's 60th step on its first connection to S0.
    const steps = events.filter((e) => e.kind === 'step' && e.peer === 'L1' && e.remote === 'S0');
    expect(steps.length).toBeGreaterThan(60);
    const t = steps[59].t;
    const ref = referenceStateAt(events, header.torrent.pieces, t);
    const conn = 'L1>S0#0';
    expect(ref.node.get(conn)).toBeDefined();

    const { context, profile } = await launch();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(reportPath).href);
      await ready(page);

      // All 30 original nodes, with their labels.
      for (const id of ORIGINAL_NODE_IDS) {
        const node = page.locator(`svg.flowchart [data-node="${id}"]`);
        await expect(node.count(), id).resolves.toBe(1);
        expect(await node.isVisible(), id).toBe(true);
        const label = (await node.locator('.node-label').textContent())!;
        expect(label.replace(/\s+/g, ''), id).toBe(flowNodes.find((n) => n.id === id)!.label.replace(/\s+/g, ''));
      }
      expect(await page.locator('svg.flowchart [data-cluster="fill"]').textContent()).toContain('Unchoke checked fill blocks');

      // Select L1 in the swarm view, its connection to S0, and go to time t.
      await page.locator('[data-peer="L1"]').click();
      await drawn(page);
      expect(await page.locator('#peer-select').inputValue()).not.toBe('-1');
      await page.locator('#connection-select').selectOption('S0');
      // Scrub: first to the end with the time field, then back to t with the scrubber.
      await page.locator('#time-input').fill('1e6');
      await page.locator('#time-input').press('Enter');
      await drawn(page);
      await page.locator('#scrubber').evaluate((el, value) => {
        (el as HTMLInputElement).value = value;
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, String(t));
      await drawn(page);
      expect(Number(await page.locator('#time-input').inputValue())).toBeCloseTo(t / 1000, 3);

      // The lit node is where the trace says the connection is.
      const lit = await page.locator('svg.flowchart .node.lit').evaluateAll((els) => els.map((e) => (e as SVGElement).dataset.node));
      expect(lit).toEqual([ref.node.get(conn)]);

      // Every drawn control edge shows how often the connection took it by t.
      const shown = await page
        .locator('svg.flowchart g.edge.control')
        .evaluateAll((els) => Object.fromEntries(els.map((e) => [(e as SVGElement).dataset.edge, Number((e as SVGElement).dataset.count)])));
      const expected = ref.edges.get(conn)!;
      for (const e of flowEdges.filter((x) => x.type === 'control')) {
        const key = `${e.from}>${e.to}`;
        expect(shown[key], key).toBe(expected.get(key) ?? 0);
      }
      expect([...expected.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
      // The numbers are on the diagram, not only in attributes.
      const loopToCase = await page.locator('svg.flowchart .edge-label[data-edge="loop>caseMsg"] .edge-count').textContent();
      expect(loopToCase).toBe(String(expected.get('loop>caseMsg')));

      // Each peer's progress at t.
      for (const peer of ['S0', 'L0', 'L1', 'L2', 'L3']) {
        expect(await page.locator(`[data-peer="${peer}"]`).getAttribute('data-progress'), peer).toBe(String(ref.progress.get(peer)));
      }
      // And the piece availability map.
      const availability = await page.locator('#piece-grid .piece').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.availability)));
      expect(availability).toEqual(ref.availability);

      await page.screenshot({ path: join(dir, 'viz-screenshot.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 150_000);

  it('opens a failing run at its first failure, lists every failed check, marks adversaries and bans; readable at 1280×720', async () => {
    // flaky-disk with the planted bug fails on seed 15: three peers mark a bad piece verified.
    const failing = scenarioTrace('test/fixtures/scenarios/flaky-disk.yaml', '15', 'trust-single-source');
    expect(failing.result.ok).toBe(false);
    expect(failing.result.failures.length).toBeGreaterThanOrEqual(2);
    // The culprit connection, read naively: the last remote that stored a block of the piece for the peer before the failure.
    const culprit = (f: { peer?: string; t?: number; message: string }) => {
      const piece = Number(/piece (\d+)/.exec(f.message)![1]);
      const stores = failing.events.filter((e) => e.kind === 'step' && e.node === 'pieceStore' && e.result === 'stored' && e.peer === f.peer && e.piece === piece && e.t <= f.t!);
      return stores.at(-1)!.remote!;
    };
    const byTime = [...failing.result.failures].sort((x, y) => x.t! - y.t!);
    const [first, second] = byTime;
    // A swarm with a corrupt peer: it is banned by the honest ones as the run goes.
    const hostile = scenarioTrace('scenarios/corrupt-peer.yaml', '1');
    const bans = hostile.events.filter((e) => e.kind === 'ban');
    expect(bans.length).toBeGreaterThan(2);

    const dir = resolve('out');
    mkdirSync(dir, { recursive: true });
    const failingPath = join(dir, 'viz-failing-report.html');
    writeFileSync(failingPath, await reportHtml(new TextEncoder().encode(failing.text), { name: 'flaky-disk.jsonl' }));
    const hostilePath = join(dir, 'viz-hostile-report.html');
    writeFileSync(hostilePath, await reportHtml(new TextEncoder().encode(hostile.text), { name: 'corrupt-peer.jsonl' }));

    const { context, profile } = await launch();
    try {
      const page = await context.newPage();
      await page.setViewportSize({ width: 1280, height: 720 });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(failingPath).href);
      await ready(page);

      // Opened at the first failure: its peer and the connection that brought the bad piece, at its time.
      const at = async () => ({
        peer: await page.locator('#peer-select option:checked').textContent(),
        conn: await page.locator('#connection-select').inputValue(),
        time: Number(await page.locator('#time-input').inputValue()),
      });
      expect(await at()).toEqual({ peer: first.peer, conn: culprit(first), time: Math.round(first.t!) / 1000 });

      // The failures panel lists each failed check, in the run's order; the first is the current one.
      const rows = page.locator('#failure-list .failure-row');
      const listed = await rows.evaluateAll((els) => els.map((e) => [e.querySelector('.failure-check')!.textContent, e.querySelector('.failure-where')!.textContent, e.querySelector('.failure-message')!.textContent]));
      expect(listed).toEqual(failing.result.failures.map((f) => [f.check, expect.stringContaining(f.peer!), f.message]));
      expect(await page.locator('#failure-list .failure-row.current .failure-message').allTextContents()).toEqual([first.message]);

      // Readable at 1280×720: no main panel wider than its box or the window; the failures panel in view.
      await page.screenshot({ path: join(dir, 'viz-failing-1280x720.png') });
      const overflow = (ids: string[]) =>
        page.evaluate((panels) => {
          const out: string[] = [];
          if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
          for (const id of panels) {
            const e = document.getElementById(id);
            if (!e) out.push(`${id} missing`);
            else if (e.scrollWidth > e.clientWidth + 1) out.push(`${id} scrolls: ${e.scrollWidth} > ${e.clientWidth}`);
            else if (e.getBoundingClientRect().right > window.innerWidth) out.push(`${id} ends at ${e.getBoundingClientRect().right}`);
          }
          return out;
        }, ids);
      const panels = ['controls', 'failures', 'flowchart', 'events', 'glossary', 'swarm', 'pieces', 'rates'];
      expect(await overflow(panels)).toEqual([]);
      const box = (await page.locator('#failures').boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(720);
      expect(await page.locator('#failures').isVisible()).toBe(true);

      // Jump to the second failure: its peer and connection, its moment.
      await page.locator(`#failure-list .failure-row[data-failure="${failing.result.failures.indexOf(second)}"]`).click();
      await drawn(page);
      expect(await at()).toEqual({ peer: second.peer, conn: culprit(second), time: Math.round(second.t!) / 1000 });

      // Tooltips from the glossary: on the flowchart's nodes and the event list's steps; the glossary panel lists them.
      expect(await page.locator('svg.flowchart [data-node="casePMMsg"] > title').textContent()).toContain(NODE_MEANINGS.casePMMsg);
      const step = page.locator('#event-list .event-row .ev-what', { hasText: /^pieceStore$/ }).first();
      expect(await step.getAttribute('title')).toBe(NODE_MEANINGS.pieceStore);
      await page.locator('#glossary summary').click();
      expect(await page.locator('#glossary dt[data-term="watermarks"] + dd').textContent()).toBe(TERMS.watermarks);
      expect(await page.locator('#glossary dt[data-node="ohave"]').isVisible()).toBe(true);
      expect(await overflow(panels)).toEqual([]); // the glossary open too

      // The hostile swarm: the adversary marked with its behaviour; banned from the first ban on, by as many as banned it.
      await page.goto(pathToFileURL(hostilePath).href);
      await ready(page);
      expect(await page.locator('#failures').count()).toBe(0); // it passed
      const x0 = page.locator('[data-peer="X0"]');
      expect(await x0.getAttribute('class')).toContain('adversary');
      expect(await x0.getAttribute('data-behaviour')).toBe('corrupt');
      expect(await x0.locator('.peer-behaviour').textContent()).toBe('corrupt');
      const seek = async (ms: number) => {
        await page.locator('#time-input').fill(String(ms / 1000));
        await page.locator('#time-input').press('Enter');
        await drawn(page);
      };
      await seek(bans[0].t - 0.01);
      expect(await x0.getAttribute('class')).not.toContain('banned');
      await seek(bans[1].t);
      expect(await x0.getAttribute('class')).toContain('banned');
      expect(await x0.getAttribute('data-banned-by')).toBe('2');
      expect(await x0.locator('.ban-mark').isVisible()).toBe(true);
      await seek(1e9);
      expect(await x0.getAttribute('data-banned-by')).toBe(String(bans.length));
      expect(await x0.locator('title').textContent()).toContain(`X0 (adversary: corrupt): claims`);
      expect(await x0.locator('title').textContent()).toContain(`banned by ${bans.length} peers`);
      await page.screenshot({ path: join(dir, 'viz-hostile-1280x720.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 150_000);

  it('opens a trace chosen with the file picker, then one dropped on the page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-viz-'));
    const page0 = join(dir, 'empty.html');
    writeFileSync(page0, await reportHtml());
    const tracePath = join(dir, 'picked.jsonl');
    writeFileSync(tracePath, text);
    const { context, profile } = await launch();
    try {
      const page = await context.newPage();
      await page.goto(pathToFileURL(page0).href);
      expect(await page.locator('.welcome').textContent()).toContain('drop');
      await page.locator('#file-picker').setInputFiles(tracePath);
      await ready(page);
      expect(await page.locator('#trace-title').textContent()).toContain('picked.jsonl');
      expect(await page.locator('svg.flowchart [data-node="loop"]').count()).toBe(1);

      // Drop another trace (the first event only) on the page: it replaces the first.
      const firstEvents = text.split('\n').slice(0, 40).join('\n') + '\n';
      await page.evaluate((content) => {
        const data = new DataTransfer();
        data.items.add(new File([content], 'dropped.jsonl'));
        document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      }, firstEvents);
      await page.waitForFunction(() => document.getElementById('trace-title')?.textContent?.includes('dropped.jsonl'));
      await ready(page);
      expect(await page.locator('#trace-title').textContent()).toContain('39 events');
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 120_000);

  it('shows another client of a TCP run: marked in the swarm, its messages decoded, no flowchart steps', async () => {
    // A hand-written TCP trace: swarmlab's seed S0 and libtorrent as C0 (no steps: the relay's
    // connect and its decoded messages), C0 complete at the end.
    const tcpHeader = { format: 'swarmlab-trace', version: 1, seed: '1', engine: 'test', torrent: { name: 'x', length: 4096, pieceLength: 1024, pieces: 4, infoHash: '00' }, settings: { transport: 'tcp', replayable: false } };
    const C0S0 = { peer: 'C0', remote: 'S0' };
    const tcpEvents = [
      { t: 1, peer: 'S0', kind: 'join', role: 'seed', pieces: 4 },
      { t: 2, peer: 'C0', kind: 'join', role: 'leecher', pieces: 0, client: 'libtorrent' },
      { t: 3, peer: 'S0', remote: 'C0', kind: 'step', node: 'connect', inbound: true },
      { t: 3, ...C0S0, kind: 'connect', inbound: false },
      { t: 4, peer: 'S0', remote: 'C0', kind: 'step', node: 'handshake', ok: true },
      { t: 4, peer: 'S0', remote: 'C0', kind: 'connect', inbound: true },
      { t: 5, ...C0S0, kind: 'message', type: 'interested' },
      { t: 6, ...C0S0, kind: 'message', type: 'request', index: 3, begin: 0, length: 16384 },
      { t: 7, ...C0S0, kind: 'message', type: 'have', index: 3 },
      { t: 8, peer: 'C0', kind: 'complete' },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-viz-tcp-'));
    const reportPath = join(dir, 'tcp.html');
    const tcpText = [tcpHeader, ...tcpEvents].map((e) => JSON.stringify(e)).join('\n') + '\n';
    writeFileSync(reportPath, await reportHtml(new TextEncoder().encode(tcpText), { name: 'tcp.jsonl' }));
    const { context, profile } = await launch();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(reportPath).href);
      await ready(page);
      expect(await page.locator('#trace-title').textContent()).toContain('TCP run (real time, not replayable)');

      // The swarm view marks C0 as another client, with its name; its progress is unknown at first.
      const c0 = page.locator('[data-peer="C0"]');
      expect(await c0.getAttribute('class')).toContain('other-client');
      expect(await c0.getAttribute('data-client')).toBe('libtorrent');
      expect(await c0.locator('.peer-label').allTextContents()).toEqual(['C0', 'libtorrent']);
      expect(await c0.locator('.peer-client').textContent()).toBe('libtorrent');
      expect(await c0.locator('rect.peer-dot').count()).toBe(1);
      expect(await page.locator('[data-peer="S0"] circle.peer-dot').count()).toBe(1);
      await page.locator('#time-input').fill('0.006');
      await page.locator('#time-input').press('Enter');
      await drawn(page);
      expect(await c0.getAttribute('data-progress')).toBe('unknown');
      expect(await c0.locator('title').textContent()).toBe('C0 (other client: libtorrent): progress unknown until it completes');

      // Select C0: the event list is its events, the request decoded; the flowchart says it has no steps.
      await c0.locator('.peer-dot').click();
      await drawn(page);
      const rows = async () =>
        page.locator('#event-list .event-row').evaluateAll((els) => els.map((e) => Array.from(e.querySelectorAll('.ev-who, .ev-what, .ev-detail'), (s) => s.textContent).join(' ').trim()));
      const shown = await rows();
      expect(shown).toContain('C0 → S0 REQUEST 3:0+16384');
      expect(shown).toContain('C0 → S0 HAVE 3');
      expect(shown.every((r) => r.startsWith('C0'))).toBe(true);
      expect(await page.locator('#event-list .event-row.kind-message').count()).toBe(3);
      expect(await page.locator('#flow-no-engine').isVisible()).toBe(true);
      expect(await page.locator('#flow-no-engine').textContent()).toBe('libtorrent runs no swarmlab engine: its messages are listed, no flowchart steps');
      await page.locator('#connection-select').selectOption('S0');
      await drawn(page);
      expect(await rows()).toContain('C0 → S0 REQUEST 3:0+16384');
      expect(await page.locator('#flow-no-engine').isVisible()).toBe(true);

      // S0, swarmlab's own peer: its flowchart is shown, with no note; at the end C0 holds every piece.
      await page.locator('[data-peer="S0"]').click();
      await page.locator('#time-input').fill('1e6');
      await page.locator('#time-input').press('Enter');
      await drawn(page);
      expect(await page.locator('#flow-no-engine').isVisible()).toBe(false);
      expect(await c0.getAttribute('data-progress')).toBe('4');
      await page.screenshot({ path: join(dir, 'tcp.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
