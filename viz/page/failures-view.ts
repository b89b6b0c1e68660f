// The failures panel: each failed check of the run (viz/failures.ts), when and whose; clicking one
// selects its peer and connection and moves the replay to the moment it failed. The page opens at
// the first of them. Shown only for a trace with failures.

import { type FailureEntry, findFailures } from '../failures.ts';
import { meaningOf } from '../glossary.ts';
import type { App } from './app.ts';
import { el } from './dom.ts';
import { formatTime } from './format.ts';

/** Selects the failure's peer and connection (or just its peer) and replays to when it failed. */
export function showFailure(app: App, f: FailureEntry): void {
  if (f.conn >= 0) app.selectConnection(f.conn);
  else app.selectPeer(f.peer);
  app.seekPosition(f.position, f.time);
}

export class FailuresView {
  readonly element: HTMLElement;
  readonly failures: readonly FailureEntry[];
  private readonly rows: HTMLElement[] = [];

  constructor(private readonly app: App) {
    const m = app.model;
    this.failures = findFailures(m);
    const list = el('ol', { class: 'failure-rows', id: 'failure-list' });
    this.failures.forEach((f, k) => {
      const where = [f.peer >= 0 ? m.label(f.peer) : 'swarm', f.conn >= 0 ? `→ ${m.label(m.table.connections[f.conn].remote)}` : ''].filter(Boolean).join(' ');
      const row = el(
        'li',
        { class: 'failure-row', 'data-failure': String(k), 'data-check': f.check, title: 'Go to this failure: its peer and connection selected, the replay at the moment it failed' },
        el('span', { class: 'failure-check', title: meaningOf('failure') ?? '' }, f.check),
        el('span', { class: 'failure-where' }, where),
        el('span', { class: 'failure-time' }, f.at !== undefined ? formatTime(f.at) : 'whole run'),
        el('span', { class: 'failure-message' }, f.message),
      );
      row.addEventListener('click', () => showFailure(app, f));
      this.rows.push(row);
      list.append(row);
    });
    const n = this.failures.length;
    this.element = el(
      'section',
      { class: 'panel failures-panel', id: 'failures' },
      el('div', { class: 'panel-header' }, el('h2', {}, `Failures (${n})`), el('div', { class: 'panel-note' }, `${n === 1 ? 'the check' : `${n} checks`} that failed; click one to go there`)),
      list,
    );
  }

  update(): void {
    const app = this.app;
    this.failures.forEach((f, k) => {
      const here = f.position === app.position && (f.conn < 0 ? app.peer === f.peer : app.conn === f.conn);
      this.rows[k].classList.toggle('current', here);
    });
  }
}
