// The visualizer's replay model on a large trace: how long it takes to load (read, parse, index)
// and to jump to an arbitrary time (median of many jumps, in a scrambled order). With --browser,
// also the report in headless chromium: time until the page is ready, and a seek plus redraw.
//
//   npm run bench:viz                         # the 200-peer trace of seed 1 (made if missing)
//   npm run bench:viz -- my-trace.jsonl       # another trace
//   npm run bench:viz -- --browser            # also in /usr/bin/chromium

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TraceFile } from '../cli/trace-file.ts';
import { runSwarm, swarmOf } from '../sim/swarm.ts';
import { ReplayModel } from '../viz/model.ts';
import { writeReport } from '../viz/report.ts';
import { parseTrace } from '../viz/trace-table.ts';

const args = process.argv.slice(2);
const browser = args.includes('--browser');
const tracePath = args.find((a) => !a.startsWith('--')) ?? 'out/trace-seed1-peers199.jsonl';

if (!existsSync(tracePath)) {
  console.log(`${tracePath} is missing: running seed 1 with 199 leechers to make it (node bin/swarmlab.mjs run --seed 1 --peers 199) …`);
  const file = new TraceFile(tracePath);
  runSwarm(swarmOf('1', 1, 199, { traceOut: file.write }));
  file.close();
}

const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = <T>(f: () => T): [T, number] => {
  const s = performance.now();
  const r = f();
  return [r, performance.now() - s];
};

const [bytes, readMs] = time(() => readFileSync(tracePath));
const [table, parseMs] = time(() => parseTrace(bytes));
const [model, indexMs] = time(() => new ReplayModel(table));
console.log(`trace: ${tracePath}, ${(bytes.length / 1048576).toFixed(1)} MiB, ${table.count.toLocaleString('en')} events, ${model.peers.length} peers, ${table.connections.length.toLocaleString('en')} connections`);
console.log(`load: read ${ms(readMs)} + parse ${ms(parseMs)} + index ${ms(indexMs)} = ${ms(readMs + parseMs + indexMs)} (snapshot every ${model.snapshotEvery} events)`);

// Jumps to arbitrary times, scrambled so that no jump continues from the last one.
const JUMPS = 101;
const jumpTimes = Array.from({ length: JUMPS }, (_, k) => (((k * 7919) % JUMPS) / JUMPS) * model.endTime);
const swarmJumps: number[] = [];
const fullJumps: number[] = [];
for (const t of jumpTimes) {
  swarmJumps.push(time(() => model.stateAt(model.positionAt(t)))[1]);
  // Everything one frame of the page asks for: the swarm's state, one peer's connection, its edge counts.
  const p = model.positionAt(t);
  const peer = model.peers[(p * 31) % model.peers.length];
  const conn = model.connectionsOf(peer)[0] ?? 0;
  fullJumps.push(
    time(() => {
      model.stateAt(p);
      model.nodeAt(conn, p);
      model.edgeCounts({ kind: 'connection', conn }, p);
      model.edgeCounts({ kind: 'peer', peer }, p);
      model.occupancy({ kind: 'swarm' }, p);
    })[1],
  );
}
console.log(`jump to an arbitrary time: swarm state median ${ms(median(swarmJumps))} (max ${ms(Math.max(...swarmJumps))}); with a peer's and a connection's counts median ${ms(median(fullJumps))} (max ${ms(Math.max(...fullJumps))}), over ${JUMPS} jumps`);

// Playing: small steps forward.
const steps: number[] = [];
let p = model.positionAt(model.endTime / 3);
for (let k = 0; k < 200; k++) {
  p += 250;
  steps.push(time(() => model.stateAt(p))[1]);
}
console.log(`play forward 250 events per frame: median ${ms(median(steps))}`);

if (browser) await inBrowser();

async function inBrowser(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'swarmlab-bench-viz-'));
  const report = join(dir, 'report.html');
  const [, reportMs] = await timeAsync(() => writeReport(tracePath, report));
  console.log(`report: ${ms(reportMs)} to write, ${(readFileSync(report).length / 1048576).toFixed(1)} MiB`);
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(pathToFileURL(report).href, { timeout: 120_000 });
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 300_000 });
    console.log(`browser: ready ${ms(performance.now() - started)} after opening the file (${(await page.textContent('#trace-title'))?.split(' · ').pop()})`);
    const seeks: number[] = [];
    for (const t of jumpTimes.slice(0, 31)) {
      seeks.push(
        await page.evaluate(async (seconds) => {
          const input = document.getElementById('time-input') as HTMLInputElement;
          const s = performance.now();
          input.value = String(seconds);
          input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          return performance.now() - s;
        }, t / 1000),
      );
    }
    console.log(`browser: seek and redraw every view, median ${ms(median(seeks))} (max ${ms(Math.max(...seeks))}), including the wait for the next frame`);
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const s = performance.now();
  const r = await f();
  return [r, performance.now() - s];
}
