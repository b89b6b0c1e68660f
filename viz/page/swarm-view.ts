// The swarm: peers on a circle, each ringed by its progress; connections as two half-lines, one
// from each end, showing that end's choke and interest toward the other. Clicking a peer selects
// it (and its steps in the flowchart). Peers are SVG (clickable); the many links are drawn on a
// canvas beneath them. Another BitTorrent client (TCP runs) is a square with a violet outline and
// its client's name in the label; its progress is unknown until it completes.

import { arc, interpolateGreens, select } from 'd3';
import { flagsOf, PHASE } from '../swarm-state.ts';
import type { App } from './app.ts';
import { el } from './dom.ts';
import { describePeer } from './format.ts';
import { meaningOf } from '../glossary.ts';

const SIZE = 440;

/** A legend entry whose tooltip is the term's meaning (viz/glossary.ts). */
function term(word: string, ...children: (Node | string)[]): HTMLElement {
  return el('span', { class: 'term', title: `${word}: ${meaningOf(word) ?? ''}` }, ...children);
}
const SVG_NS = 'http://www.w3.org/2000/svg';

interface PeerMark {
  label: number;
  x: number;
  y: number;
  g: SVGGElement;
  ring: SVGPathElement;
  /** A circle; a square for another client. */
  dot: SVGGeometryElement;
  text: SVGTextElement | null;
}

export class SwarmView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly svg: SVGSVGElement;
  private readonly info: HTMLElement;
  private readonly marks: PeerMark[] = [];
  private readonly markOf = new Map<number, PeerMark>();
  private readonly radius: number;
  private readonly ringArc = arc<number>();
  /** A large swarm: only unchoked connections are drawn, besides the selected peer's. */
  private readonly dense: boolean;

  constructor(private readonly app: App) {
    const m = app.model;
    this.canvas = el('canvas', { class: 'swarm-links', width: String(SIZE * 2), height: String(SIZE * 2) });
    this.svg = document.createElementNS(SVG_NS, 'svg');
    this.svg.setAttribute('viewBox', `0 0 ${SIZE} ${SIZE}`);
    this.svg.setAttribute('class', 'swarm-peers');
    this.info = el('div', { class: 'swarm-info', id: 'swarm-info' });
    const legend = el(
      'div',
      { class: 'swarm-legend' },
      term('unchoke', el('span', { class: 'key unchoked' }, ''), ' unchokes '),
      term('choke', el('span', { class: 'key choked' }, ''), ' chokes'),
      term('interested', ' (half-line from each end; strong: interested) '),
      el('span', { class: 'key ring' }, ''), ' progress',
      ...(m.peers.some((p) => m.clientOf(p) !== undefined) ? [' ', el('span', { class: 'key other-client' }, ''), ' other client (progress unknown until it completes)'] : []),
      ...(m.peers.some((p) => m.behaviourOf(p) !== undefined) ? [' ', term('adversary', el('span', { class: 'key adversary' }, ''), ' adversary (its behaviour under it)')] : []),
      ...(m.banCount > 0 ? [' ', term('ban', el('span', { class: 'key banned' }, '✕'), ' banned (by how many: hover)')] : []),
    );
    this.element = el(
      'section',
      { class: 'panel swarm-panel', id: 'swarm' },
      el('div', { class: 'panel-header' }, el('h2', {}, 'Swarm'), this.info),
      el('div', { class: 'swarm-stage' }, this.canvas, this.svg),
      legend,
    );

    // Everyone who appears in the trace; seeds first, then by label.
    const labels = [...m.peers];
    const roleRank = (i: number) => (m.table.roles[i] === 'seed' ? 0 : m.table.roles[i] === 'leecher' ? 1 : 2);
    labels.sort((a, b) => roleRank(a) - roleRank(b) || m.label(a).localeCompare(m.label(b), undefined, { numeric: true }));
    const n = labels.length;
    const ringR = SIZE / 2 - (labels.length <= 40 ? 52 : 24);
    this.radius = Math.max(3, Math.min(13, (Math.PI * ringR) / Math.max(1, n) / 1.3));
    this.ringArc.innerRadius(this.radius + 1.5).outerRadius(this.radius + 4.5).startAngle(0);
    const showLabels = n <= 40;
    this.dense = n > 60;
    labels.forEach((label, k) => {
      const a = (2 * Math.PI * k) / n - Math.PI / 2;
      const x = SIZE / 2 + ringR * Math.cos(a);
      const y = SIZE / 2 + ringR * Math.sin(a);
      const client = m.clientOf(label);
      const behaviour = m.behaviourOf(label);
      const g = select(this.svg)
        .append('g')
        .attr('class', `peer ${m.table.roles[label] ?? 'remote'}${client === undefined ? '' : ' other-client'}`)
        .attr('data-peer', m.label(label))
        .attr('transform', `translate(${x},${y})`);
      if (client !== undefined) g.attr('data-client', client);
      if (behaviour !== undefined) g.attr('data-behaviour', behaviour);
      const ring = g.append('path').attr('class', 'progress-ring');
      const r = this.radius;
      const dot =
        client === undefined
          ? g.append('circle').attr('class', 'peer-dot').attr('r', r)
          : g.append('rect').attr('class', 'peer-dot').attr('x', -r).attr('y', -r).attr('width', 2 * r).attr('height', 2 * r).attr('rx', r / 4);
      const labelY = Math.sin(a) * (this.radius + 16);
      const text = showLabels
        ? g
            .append('text')
            .attr('class', 'peer-label')
            .attr('x', Math.cos(a) * (this.radius + 16))
            .attr('y', labelY)
            .attr('dy', '0.35em')
            .attr('text-anchor', Math.abs(Math.cos(a)) < 0.3 ? 'middle' : Math.cos(a) > 0 ? 'start' : 'end')
            .text(m.label(label))
            .node()
        : null;
      // Another client's name or an adversary's behaviour, centred under it (under the label when that is below).
      const note = client ?? behaviour;
      if (showLabels && note !== undefined) {
        const below = Math.sin(a) > 0.3 ? labelY + 12 : this.radius + 10;
        g.append('text').attr('class', `peer-label ${client !== undefined ? 'peer-client' : 'peer-behaviour'}`).attr('y', below).attr('dy', '0.35em').attr('text-anchor', 'middle').text(note);
      }
      // A cross over a peer someone has banned (shown from the first ban on).
      const arm = r * 0.8;
      g.append('path').attr('class', 'ban-mark').attr('d', `M${-arm},${-arm} L${arm},${arm} M${arm},${-arm} L${-arm},${arm}`);
      g.append('title').text(m.label(label));
      g.on('click', (ev: MouseEvent) => {
        ev.stopPropagation();
        app.selectPeer(app.peer === label ? -1 : label);
      });
      const mark = { label, x, y, g: g.node()!, ring: ring.node()!, dot: dot.node()!, text };
      this.marks.push(mark);
      this.markOf.set(label, mark);
    });
    this.svg.addEventListener('click', () => app.selectPeer(-1));
  }

  update(): void {
    const app = this.app;
    const m = app.model;
    const s = m.stateAt(app.position);
    const pieces = Math.max(1, m.pieces);
    for (const mk of this.marks) {
      const known = m.progressKnown(s, mk.label);
      const have = s.progress[mk.label];
      const f = known ? Math.min(1, have / pieces) : 0;
      mk.ring.setAttribute('d', known ? (this.ringArc.endAngle(2 * Math.PI * f)(0) ?? '') : '');
      mk.dot.style.fill = s.alive[mk.label] && known ? interpolateGreens(0.12 + 0.78 * f) : '';
      mk.g.dataset.progress = known ? String(have) : 'unknown';
      mk.g.classList.toggle('gone', !s.alive[mk.label]);
      mk.g.classList.toggle('complete', f >= 1);
      mk.g.classList.toggle('selected', mk.label === app.peer);
      mk.g.classList.toggle('banned', s.bannedBy[mk.label] > 0);
      mk.g.dataset.bannedBy = String(s.bannedBy[mk.label]);
      if (mk.text) mk.text.classList.toggle('shown', true);
      mk.g.querySelector('title')!.textContent = describePeer(m, s, mk.label);
    }
    this.drawLinks();
    this.info.textContent = this.describe();
  }

  private describe(): string {
    const app = this.app;
    const m = app.model;
    const s = m.stateAt(app.position);
    let alive = 0;
    let done = 0;
    for (const p of m.peers) {
      alive += s.alive[p];
      if (s.alive[p] && s.progress[p] >= m.pieces) done++;
    }
    let open = 0;
    for (let c = 0; c < s.connections; c++) if (s.connPhase[c] === PHASE.open) open++;
    const sel = app.peer >= 0 ? ` · ${describePeer(m, s, app.peer)}` : '';
    const drawn = this.dense ? ' (unchoked ones drawn; select a peer for all of its)' : '';
    return `${alive} peers, ${done} with every piece, ${open} open connections${drawn}${sel}`;
  }

  /**
   * Draws every open connection as two half-lines. Lines are batched by style (one path per
   * style), so a swarm of thousands of connections draws in a few strokes.
   */
  private drawLinks(): void {
    const app = this.app;
    const m = app.model;
    const s = m.stateAt(app.position);
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(2, 0, 0, 2, 0, 0);
    ctx.clearRect(0, 0, SIZE, SIZE);
    const conns = m.table.connections;
    const selected = app.peer;
    // Style index: bit 0 unchoked, bit 1 interested, bit 2 belongs to the selected peer.
    const paths = Array.from({ length: 8 }, () => new Path2D());
    let highlighted: Path2D | undefined;
    for (let c = 0; c < conns.length; c++) {
      if (s.connPhase[c] !== PHASE.open) continue;
      const { peer, remote } = conns[c];
      const a = this.markOf.get(peer);
      const b = this.markOf.get(remote);
      if (!a || !b) continue;
      const f = flagsOf(s.connFlags[c]);
      const mine = selected >= 0 && (peer === selected || remote === selected);
      if (this.dense && !mine && f.amChoking && c !== app.conn) continue;
      const path = c === app.conn ? (highlighted = new Path2D()) : paths[(f.amChoking ? 0 : 1) | (f.amInterested ? 2 : 0) | (mine ? 4 : 0)];
      path.moveTo(a.x, a.y);
      path.lineTo((a.x + b.x) / 2, (a.y + b.y) / 2);
    }
    // Lines of the selected peer are drawn thick; all others as hairlines, which a software
    // renderer draws far faster (a 200-peer swarm has thousands of them), interest as opacity.
    paths.forEach((path, style) => {
      const mine = (style & 4) !== 0;
      const interested = (style & 2) !== 0;
      ctx.strokeStyle = style & 1 ? '#1f9d55' : '#9aa3ad';
      ctx.lineWidth = mine ? (interested ? 2.4 : 1) : 0.5;
      ctx.globalAlpha = mine ? 0.95 : (interested ? 0.6 : 0.25) * (selected >= 0 ? 0.35 : 1);
      ctx.stroke(path);
    });
    if (highlighted) {
      ctx.globalAlpha = 1;
      ctx.strokeStyle = '#e8590c';
      ctx.lineWidth = 3.5;
      ctx.stroke(highlighted);
    }
    ctx.globalAlpha = 1;
  }
}
