// Makes docs/screenshot-flowchart.png: the default swarm (seed 1), replayed in Debian's chromium
// and stopped mid-run on a connection storing a block — the edge just taken and the dotted
// synchronisation with the Piece Manager lit.
//
//   npx tsx scripts/screenshot-flowchart.ts [out.png]
//
// A script, not part of viz/: it runs the simulator and drives a browser, which the visualizer's
// own code never does.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { runSwarm, swarmOf } from '../sim/swarm.ts';
import { memoryTrace } from '../engine/trace-writer.ts';
import { writeReport } from '../viz/report.ts';

const out = process.argv[2] ?? 'docs/screenshot-flowchart.png';
const PEER = 'L3';
const REMOTE = 'S0';
const SECONDS = '4.2';

const trace = memoryTrace();
runSwarm(swarmOf('1', 1, 20, { traceOut: trace.out }));
const dir = mkdtempSync(join(tmpdir(), 'swarmlab-screenshot-'));
const report = await writeReport(trace.lines, join(dir, 'report.html'), { name: 'trace-seed1.jsonl' });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1900, height: 1300 } });
  page.setDefaultTimeout(30_000);
  await page.goto(pathToFileURL(report).href);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  await page.locator(`[data-peer="${PEER}"]`).click();
  await page.locator('#connection-select').selectOption(REMOTE);
  await page.locator('#time-input').fill(SECONDS);
  await page.locator('#time-input').press('Enter');
  // Step back to the moment the block is stored.
  const lit = () => page.locator('svg.flowchart .node.lit').first().getAttribute('data-node');
  for (let i = 0; i < 12 && (await lit()) !== 'pieceStore'; i++) await page.locator('#step-back').click();
  await page.locator('#flowchart').screenshot({ path: out, animations: 'disabled' });
  console.log(`${out}: ${PEER} -> ${REMOTE} at ${await lit()}`);
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
