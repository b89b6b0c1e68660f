// Upload and download rates over the run: the whole swarm's download rate, and the selected
// peer's download and upload; a line marks the replay's time. Clicking the chart moves there.

import { area, axisBottom, axisLeft, line, max, scaleLinear, select, type Selection } from 'd3';
import type { App } from './app.ts';
import { el } from './dom.ts';
import { formatRate } from './format.ts';

const W = 440;
const H = 150;
const M = { left: 66, right: 10, top: 8, bottom: 22 };

export class RatesView {
  readonly element: HTMLElement;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly cursor: Selection<SVGLineElement, unknown, null, undefined>;
  private readonly peerDown: Selection<SVGPathElement, unknown, null, undefined>;
  private readonly peerUp: Selection<SVGPathElement, unknown, null, undefined>;
  private readonly x = scaleLinear();
  private readonly y = scaleLinear();
  private readonly note: HTMLElement;
  private drawnPeer = -2;

  constructor(private readonly app: App) {
    const m = app.model;
    const r = m.rates;
    this.note = el('div', { class: 'panel-note' });
    this.element = el('section', { class: 'panel rates-panel', id: 'rates' }, el('div', { class: 'panel-header' }, el('h2', {}, 'Rates'), this.note));
    this.svg = select(this.element).append('svg').attr('viewBox', `0 0 ${W} ${H}`).attr('class', 'rates');
    this.x.domain([0, Math.max(1, m.endTime)]).range([M.left, W - M.right]);
    this.y.domain([0, (max(r.total) ?? 0) || 1]).nice().range([H - M.bottom, M.top]);
    const binX = (b: number) => this.x((b + 0.5) * r.binMs);
    const bins = Array.from({ length: r.bins }, (_, b) => b);
    this.svg.append('path').attr('class', 'rate-total').attr('d', area<number>().x(binX).y0(this.y(0)).y1((b) => this.y(r.total[b]))(bins));
    this.peerDown = this.svg.append('path').attr('class', 'rate-down');
    this.peerUp = this.svg.append('path').attr('class', 'rate-up');
    this.svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${H - M.bottom})`).call(axisBottom(this.x).ticks(6).tickFormat((v) => `${Number(v) / 1000}s`));
    this.svg.append('g').attr('class', 'axis').attr('transform', `translate(${M.left},0)`).call(axisLeft(this.y).ticks(4).tickFormat((v) => formatRate(Number(v))));
    this.cursor = this.svg.append('line').attr('class', 'cursor').attr('y1', M.top).attr('y2', H - M.bottom);
    const seek = (ev: MouseEvent) => {
      const box = this.svg.node()!.getBoundingClientRect();
      const px = ((ev.clientX - box.left) / box.width) * W;
      app.seekTime(this.x.invert(px));
    };
    this.svg.on('click', seek).on('mousemove', (ev: MouseEvent) => ev.buttons === 1 && seek(ev));
  }

  update(): void {
    const app = this.app;
    const m = app.model;
    const r = m.rates;
    const cx = this.x(app.time);
    this.cursor.attr('x1', cx).attr('x2', cx);
    if (this.drawnPeer !== app.peer) {
      this.drawnPeer = app.peer;
      const bins = Array.from({ length: r.bins }, (_, b) => b);
      const series = (a: Float64Array) =>
        app.peer < 0 ? '' : line<number>().x((b) => this.x((b + 0.5) * r.binMs)).y((b) => this.y(a[app.peer * r.bins + b]))(bins) ?? '';
      this.peerDown.attr('d', series(r.down));
      this.peerUp.attr('d', series(r.up));
    }
    const b = Math.min(r.bins - 1, Math.max(0, Math.floor(app.time / r.binMs)));
    const peer = app.peer >= 0 ? ` · ${m.label(app.peer)} ↓ ${formatRate(r.down[app.peer * r.bins + b])} ↑ ${formatRate(r.up[app.peer * r.bins + b])}` : ' · select a peer for its own';
    this.note.textContent = `swarm ↓ ${formatRate(r.total[b])}${peer}`;
  }
}
