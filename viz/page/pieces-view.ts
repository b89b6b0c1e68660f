// The piece-availability map: one cell per piece, shaded by how many peers in the swarm hold it,
// with the count written in; the selected peer's pieces are underlined, hash failures flagged.

import { interpolateBlues } from 'd3';
import type { App } from './app.ts';
import { el } from './dom.ts';

export class PiecesView {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly cells: HTMLElement[] = [];
  private readonly summary: HTMLElement;

  constructor(private readonly app: App) {
    const m = app.model;
    this.grid = el('div', { class: 'piece-grid', id: 'piece-grid' });
    this.grid.style.setProperty('--columns', String(Math.min(m.pieces, 32)));
    for (let p = 0; p < m.pieces; p++) {
      const cell = el('div', { class: 'piece', 'data-piece': String(p) });
      this.cells.push(cell);
      this.grid.append(cell);
    }
    this.summary = el('div', { class: 'panel-note', id: 'pieces-summary' });
    this.element = el(
      'section',
      { class: 'panel pieces-panel', id: 'pieces' },
      el('div', { class: 'panel-header' }, el('h2', {}, 'Piece availability'), this.summary),
      this.grid,
    );
  }

  update(): void {
    const app = this.app;
    const m = app.model;
    const s = m.stateAt(app.position);
    let alive = 0;
    for (const p of m.peers) alive += s.alive[p];
    const showCounts = m.pieces <= 256;
    let rarest = Infinity;
    for (let p = 0; p < m.pieces; p++) {
      const n = s.availability[p];
      rarest = Math.min(rarest, n);
      const cell = this.cells[p];
      cell.dataset.availability = String(n);
      cell.style.background = interpolateBlues(0.08 + 0.85 * (alive ? n / alive : 0));
      cell.classList.toggle('dark', alive > 0 && n / alive > 0.55);
      cell.textContent = showCounts ? String(n) : '';
      const held = app.peer >= 0 && s.haves[app.peer * m.pieces + p] === 1;
      cell.classList.toggle('held', held);
      cell.classList.toggle('hashfail', s.hashfails[p] > 0);
      cell.title = `piece ${p}: held by ${n} of ${alive} peers${s.hashfails[p] ? `, ${s.hashfails[p]} hash failure(s)` : ''}${held ? `; ${m.label(app.peer)} has it` : ''}`;
    }
    const sel = app.peer >= 0 ? ` · underlined: held by ${m.label(app.peer)}` : '';
    this.summary.textContent = `${m.pieces} pieces, rarest held by ${rarest === Infinity ? 0 : rarest}${sel}`;
  }
}
