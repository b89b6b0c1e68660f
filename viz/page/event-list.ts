// The events around the replay's position, of the selected connection, peer or the whole swarm;
// the last applied event is marked, and clicking an event moves the replay to it.

import type { App } from './app.ts';
import { el } from './dom.ts';
import { countBelow } from '../event-lists.ts';
import { describeEvent } from './format.ts';
import { meaningOf } from '../glossary.ts';
import { KIND } from '../trace-table.ts';

const BEFORE = 12;
const AFTER = 24;

export class EventList {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly title: HTMLElement;
  private shown = '';

  constructor(private readonly app: App) {
    this.title = el('div', { class: 'panel-note' });
    this.body = el('div', { class: 'event-rows', id: 'event-list' });
    this.body.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('[data-event]');
      if (row) app.seekPosition(Number(row.dataset.event) + 1);
    });
    this.element = el('section', { class: 'panel events-panel', id: 'events' }, el('div', { class: 'panel-header' }, el('h2', {}, 'Events'), this.title), this.body);
  }

  update(): void {
    const app = this.app;
    const m = app.model;
    const events = m.eventsIn(app.scope);
    const total = events ? events.length : m.eventCount;
    const applied = events ? countBelow(events, app.position) : app.position;
    const from = Math.max(0, applied - BEFORE);
    const to = Math.min(total, applied + AFTER);
    const key = `${app.peer}/${app.conn}/${from}/${to}/${applied}`;
    if (key === this.shown) return;
    this.shown = key;
    const rows: HTMLElement[] = [];
    for (let k = from; k < to; k++) {
      const i = events ? events[k] : k;
      const d = describeEvent(m, i);
      // A message row's `what` is the message's name (REQUEST); its class is the event's kind.
      const kindClass = m.table.kind[i] === KIND.message ? 'message' : d.what;
      const row = el(
        'div',
        { class: `event-row kind-${kindClass}${k === applied - 1 ? ' current' : ''}${k >= applied ? ' future' : ''}`, 'data-event': String(i) },
        el('span', { class: 'ev-time' }, (m.table.time[i] / 1000).toFixed(3)),
        el('span', { class: 'ev-who' }, d.who),
        el('span', { class: 'ev-what', title: meaningOf(d.what) ?? '' }, d.what),
        el('span', { class: 'ev-detail' }, d.detail),
      );
      rows.push(row);
    }
    this.body.replaceChildren(...rows);
    // Keep the current event in view, a third of the way down, without scrolling the page.
    const current = this.body.querySelector<HTMLElement>('.current');
    if (current) this.body.scrollTop = current.offsetTop - this.body.clientHeight / 3;
    const scope = app.conn >= 0 ? 'this connection' : app.peer >= 0 ? m.label(app.peer) : 'the swarm';
    this.title.textContent = `${applied.toLocaleString('en')} of ${total.toLocaleString('en')} events of ${scope} so far; click one to go there`;
  }
}
