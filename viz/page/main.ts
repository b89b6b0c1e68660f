// The page's entry point: load the inlined trace (or wait for one to be picked or dropped), build
// the replay model without freezing the page, and lay out the views.

import { firstFailure } from '../failures.ts';
import { ReplayModel } from '../model.ts';
import { parseTraceInSteps, type TraceTable } from '../trace-table.ts';
import { App } from './app.ts';
import { Controls } from './controls.ts';
import { el } from './dom.ts';
import { EventList } from './event-list.ts';
import { describeTrace } from './format.ts';
import { FailuresView, showFailure } from './failures-view.ts';
import { FlowchartView } from './flowchart-view.ts';
import { GlossaryView } from './glossary-view.ts';
import { fileTrace, inlineTrace, type LoadedTrace } from './load.ts';
import { PiecesView } from './pieces-view.ts';
import { RatesView } from './rates-view.ts';
import { SwarmView } from './swarm-view.ts';
import './style.css';

const root = document.getElementById('app') ?? document.body;
const status = el('div', { class: 'load-status', id: 'load-status' });
const picker = el('input', { type: 'file', accept: '.jsonl,.gz,.json,.txt', id: 'file-picker' });
const title = el('span', { class: 'trace-title', id: 'trace-title' }, 'no trace loaded');
const header = el(
  'header',
  { class: 'top' },
  el('h1', {}, 'swarmlab replay'),
  title,
  el('label', { class: 'open-button', title: 'Open a trace (.jsonl, or .jsonl.gz); or drop one on the page' }, 'Open trace…', picker),
);
const body = el('div', { class: 'body' }, el('div', { class: 'welcome' }, 'Open a swarmlab trace (.jsonl or .jsonl.gz) with the button above, or drop it anywhere on this page.'));
root.replaceChildren(header, status, body);

picker.addEventListener('change', () => {
  const f = picker.files?.[0];
  if (f) void open(fileTrace(f));
});
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  const f = e.dataTransfer?.files?.[0];
  if (f) void open(fileTrace(f));
});

async function open(loading: Promise<LoadedTrace | undefined>): Promise<void> {
  document.body.dataset.state = 'loading';
  try {
    setStatus('Reading the trace…');
    const trace = await loading;
    if (!trace) {
      document.body.dataset.state = 'empty';
      setStatus('');
      return;
    }
    const started = performance.now();
    const table = await parseWithProgress(trace.bytes);
    setStatus(`Indexing ${table.count.toLocaleString('en')} events…`);
    await nextFrame();
    const model = new ReplayModel(table);
    show(trace.name, model, performance.now() - started);
    setStatus('');
    document.body.dataset.state = 'ready';
  } catch (err) {
    document.body.dataset.state = 'error';
    setStatus(`Could not open the trace: ${err instanceof Error ? err.message : String(err)}`, true);
  }
}

async function parseWithProgress(bytes: Uint8Array): Promise<TraceTable> {
  const steps = parseTraceInSteps(bytes);
  let lastPaint = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - lastPaint > 100) {
      setStatus(`Reading events… ${Math.round(r.value * 100)}% of ${(bytes.length / 1048576).toFixed(1)} MiB`);
      await nextFrame();
      lastPaint = performance.now();
    }
  }
}

function show(name: string, model: ReplayModel, loadMs: number): void {
  title.textContent = describeTrace(name, model, loadMs);
  const app = new App(model);
  const controls = new Controls(app);
  const flow = new FlowchartView(app);
  const swarm = new SwarmView(app);
  const pieces = new PiecesView(app);
  const rates = new RatesView(app);
  const events = new EventList(app);
  const failures = new FailuresView(app);
  const glossary = new GlossaryView();
  const right = [...(failures.failures.length ? [failures.element] : []), swarm.element, pieces.element, rates.element];
  body.replaceChildren(
    controls.element,
    el('div', { class: 'grid' }, el('div', { class: 'left' }, flow.element, events.element, glossary.element), el('div', { class: 'right' }, ...right)),
  );
  flow.draw();
  for (const v of [controls, flow, swarm, pieces, rates, events, failures]) app.onChange(() => v.update());
  // A failing run opens at its first failure; any other where something happens: the first step
  // of the first connection, with its peer selected.
  const failure = firstFailure(failures.failures);
  const first = model.table.connections[0];
  if (failure) showFailure(app, failure);
  else if (first) {
    app.selectConnection(0);
    app.seekPosition(model.stepFrom({ kind: 'connection', conn: 0 }, 0, 1));
  } else app.changed();
  window.addEventListener('resize', () => flow.fit());
}

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
  status.hidden = text === '';
}

function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

void open(inlineTrace());
