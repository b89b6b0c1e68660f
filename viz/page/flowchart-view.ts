// The Peer process flowchart, drawn as the original Peer.dot drew it, lit by the replay: the node
// each connection in scope is at, the edge just taken, the dotted synchronisation edges of the
// current step, and how often each edge was taken so far. Another client (TCP runs) takes no
// steps: for its connections the chart is faded under a note saying so.

import { curveCatmullRom, line, select, type Selection, zoom, zoomIdentity, type ZoomBehavior } from 'd3';
import { flowEdges, flowNodes } from '../../engine/flowchart.ts';
import { FLOW_LINE_HEIGHT, type FlowLayout, layoutFlowchart, type PlacedNode, type RoutedEdge } from '../flowchart-layout.ts';
import { NODE_MEANINGS } from '../glossary.ts';
import { KIND } from '../trace-table.ts';
import type { App } from './app.ts';
import { el } from './dom.ts';
import { describeConnection, noEngineNote } from './format.ts';

interface DrawnNode {
  placed: PlacedNode;
  g: SVGGElement;
  badge: SVGTextElement;
}

interface DrawnEdge {
  routed: RoutedEdge;
  g: SVGGElement;
  label: SVGGElement;
  count: SVGTextElement;
  pill: SVGRectElement;
  edgeIndex: number;
}

export class FlowchartView {
  readonly element: HTMLElement;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly layer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private layout!: FlowLayout;
  private readonly nodes = new Map<string, DrawnNode>();
  private readonly edges: DrawnEdge[] = [];
  private readonly peerSelect: HTMLSelectElement;
  private readonly connSelect: HTMLSelectElement;
  private readonly status: HTMLElement;
  private readonly offChart: HTMLElement;
  private readonly holder: HTMLElement;
  /** Over the chart when the scope is another client's, which takes no steps. */
  private readonly noEngine: HTMLElement;
  private showUnused = false;
  /** Node ids and edge keys the trace never enters. */
  private readonly unusedNodes = new Set<string>();
  private readonly unusedEdges = new Set<string>();
  private shownPeer = -2;

  constructor(private readonly app: App) {
    this.peerSelect = el('select', { id: 'peer-select', title: 'Whose steps the flowchart shows' });
    this.connSelect = el('select', { id: 'connection-select', title: 'Which of its connections' });
    const unused = el('input', { type: 'checkbox', id: 'show-unused' });
    unused.addEventListener('change', () => {
      this.showUnused = unused.checked;
      this.applyVisibility();
    });
    const fit = el('button', { type: 'button', title: 'Fit the diagram to the panel' }, 'Fit');
    fit.addEventListener('click', () => this.fit());
    this.status = el('div', { class: 'flow-status', id: 'flow-status' });
    this.offChart = el('div', { class: 'off-chart', id: 'off-chart' });
    const header = el(
      'div',
      { class: 'panel-header' },
      el('h2', {}, 'Peer process'),
      el('label', {}, 'peer ', this.peerSelect),
      el('label', {}, 'connection ', this.connSelect),
      el('label', { title: 'Draw the added steps this trace never takes' }, unused, ' unused additions'),
      fit,
    );
    this.noEngine = el('div', { class: 'flow-no-engine', id: 'flow-no-engine', hidden: '' });
    const holder = (this.holder = el('div', { class: 'flow-canvas' }, this.noEngine));
    this.element = el('section', { class: 'panel flow-panel', id: 'flowchart' }, header, holder, this.status, this.offChart);

    this.svg = select(holder).append('svg').attr('class', 'flowchart').attr('role', 'img').attr('aria-label', 'Peer process flowchart');
    this.layer = this.svg.append('g').attr('class', 'zoom-layer');
    this.zoomer = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.2, 6])
      .on('zoom', (e) => this.layer.attr('transform', e.transform.toString()));
    this.svg.call(this.zoomer).on('dblclick.zoom', null);

    this.fillPeerSelect();
    this.peerSelect.addEventListener('change', () => app.selectPeer(Number(this.peerSelect.value)));
    this.connSelect.addEventListener('change', () => {
      const v = this.connSelect.value;
      app.selectConnection(v === '' ? -1 : this.connByValue(v));
    });
    this.findUnused();
  }

  /** Draws the diagram; call once the element is in the document (text is measured). */
  draw(): void {
    const measurer = this.layer.append('text').attr('class', 'node-label').attr('visibility', 'hidden');
    const measure = (lines: string[]) =>
      Math.max(...lines.map((l) => measurer.text(l).node()!.getComputedTextLength()));
    this.layout = layoutFlowchart(flowNodes, flowEdges, measure);
    measurer.remove();
    // The panel takes the diagram's proportions; zoom and pan for detail.
    (this.svg.node()!.parentNode as HTMLElement).style.aspectRatio = `${this.layout.width} / ${this.layout.height}`;
    this.drawDefs();
    this.drawTitle();
    this.drawCluster();
    const edgeLayer = this.layer.append('g').attr('class', 'edges');
    const labelLayer = this.layer.append('g').attr('class', 'edge-labels');
    const nodeLayer = this.layer.append('g').attr('class', 'nodes');
    for (const r of this.layout.edges) this.drawEdge(r, edgeLayer, labelLayer);
    for (const p of this.layout.nodes) this.drawNode(p, nodeLayer);
    this.drawLegend();
    this.applyVisibility();
    this.fit();
  }

  fit(): void {
    const box = (this.svg.node()!.parentNode as HTMLElement).getBoundingClientRect();
    const { width, height } = this.layout;
    const k = Math.min(box.width / width, box.height / height) || 1;
    const tx = (box.width - width * k) / 2;
    this.svg.call(this.zoomer.transform, zoomIdentity.translate(tx, 4).scale(k));
  }

  update(): void {
    const app = this.app;
    const m = app.model;
    if (this.shownPeer !== app.peer) this.fillConnSelect();
    this.peerSelect.value = String(app.peer);
    this.connSelect.value = this.valueOfConn(app.conn);

    const scope = app.scope;
    const counts = m.edgeCounts(scope, app.position);
    for (const d of this.edges) {
      const n = d.edgeIndex >= 0 ? counts[d.edgeIndex] : 0;
      d.g.dataset.count = String(n);
      toggle(d, 'counted', n > 0);
      d.count.textContent = n > 0 ? String(n) : '';
      this.sizePill(d);
    }

    const occupancy = m.occupancy(scope, app.position);
    for (const [id, d] of this.nodes) {
      const idx = m.table.nodeIds.indexOf(id);
      const n = idx >= 0 ? occupancy[idx] : 0;
      d.g.classList.toggle('lit', n > 0);
      d.g.dataset.occupancy = String(n);
      d.badge.textContent = n > 0 && scope.kind !== 'connection' ? String(n) : '';
    }

    // One connection: the edge it just took, and the dotted edges of the step it is at.
    let taken = '';
    let current = '';
    if (scope.kind === 'connection') {
      const last = m.lastStep(scope.conn, app.position);
      if (last >= 0) {
        current = m.nodeId(m.table.node[last]);
        const e = m.edges.edgeOf[last];
        if (e >= 0) taken = m.edges.keys[e];
      }
    }
    for (const d of this.edges) {
      toggle(d, 'taken', d.routed.key === taken);
      const syncing = d.routed.edge.type === 'sync' && current !== '' && (d.routed.edge.from === current || d.routed.edge.to === current);
      toggle(d, 'syncing', syncing);
    }
    this.svg.attr('data-current', current);
    this.status.textContent = this.describe(current);
    this.showOffChart(counts);
    const note = app.peer >= 0 ? noEngineNote(m, app.peer) : undefined;
    this.noEngine.textContent = note ?? '';
    this.noEngine.hidden = note === undefined;
    this.holder.classList.toggle('no-engine', note !== undefined);
  }

  private describe(current: string): string {
    const app = this.app;
    const m = app.model;
    if (app.peer >= 0 && m.clientOf(app.peer) !== undefined) {
      const what = app.conn >= 0 ? describeConnection(m, app.conn) : `${m.label(app.peer)}, all connections`;
      return `${what} — other client: ${m.clientOf(app.peer)}`;
    }
    if (app.conn >= 0) {
      const node = m.table.nodeIds.indexOf(current);
      const label = node >= 0 ? flowNodes.find((n) => n.id === current)?.label ?? current : 'not started';
      return `${describeConnection(m, app.conn)} — at ${label}`;
    }
    const scopeName = app.peer >= 0 ? `${m.label(app.peer)}, all connections` : 'whole swarm';
    return `${scopeName}: numbers on nodes are connections there now; on edges, steps taken so far`;
  }

  /** Transitions the trace took that the diagram does not draw (a sign of an engine change). */
  private showOffChart(counts: Int32Array): void {
    const m = this.app.model;
    const parts: string[] = [];
    for (let e = m.edges.drawn; e < counts.length; e++) if (counts[e] > 0) parts.push(`${m.edges.keys[e].replace('>', ' → ')} ×${counts[e]}`);
    this.offChart.textContent = parts.length ? `Not on the diagram: ${parts.join(', ')}` : '';
  }

  private fillPeerSelect(): void {
    const m = this.app.model;
    this.peerSelect.replaceChildren(el('option', { value: '-1' }, 'whole swarm'), ...m.peers.map((p) => el('option', { value: String(p) }, m.label(p))));
  }

  private fillConnSelect(): void {
    const app = this.app;
    const m = app.model;
    this.shownPeer = app.peer;
    const options = [el('option', { value: '' }, app.peer >= 0 ? 'all its connections' : '—')];
    if (app.peer >= 0) for (const c of m.connectionsOf(app.peer)) options.push(el('option', { value: this.valueOfConn(c) }, describeConnection(m, c, false)));
    this.connSelect.replaceChildren(...options);
    this.connSelect.disabled = app.peer < 0;
  }

  /** A connection's option value: the remote's label, with "#k" for the k-th connection to it. */
  private valueOfConn(conn: number): string {
    if (conn < 0) return '';
    const m = this.app.model;
    const c = m.table.connections[conn];
    const same = m.connectionsOf(c.peer).filter((x) => m.table.connections[x].remote === c.remote);
    const k = same.indexOf(conn);
    return k === 0 ? m.label(c.remote) : `${m.label(c.remote)}#${k}`;
  }

  private connByValue(value: string): number {
    const m = this.app.model;
    return m.connectionsOf(this.app.peer).find((c) => this.valueOfConn(c) === value) ?? -1;
  }

  private findUnused(): void {
    const m = this.app.model;
    const t = m.table;
    const entered = new Uint8Array(t.nodeIds.length);
    for (let i = 0; i < t.count; i++) if (t.kind[i] === KIND.step) entered[t.node[i]] = 1;
    const final = m.edgeCounts({ kind: 'swarm' }, t.count);
    for (const n of flowNodes) if (n.added && !entered[t.nodeIds.indexOf(n.id)]) this.unusedNodes.add(n.id);
    for (const e of flowEdges) {
      if (!e.added) continue;
      const idx = m.edges.keys.indexOf(`${e.from}>${e.to}`);
      const used = e.type === 'control' ? idx >= 0 && final[idx] > 0 : !this.unusedNodes.has(e.from) && !this.unusedNodes.has(e.to);
      if (!used) this.unusedEdges.add(`${e.from}>${e.to}`);
    }
  }

  private applyVisibility(): void {
    for (const [id, d] of this.nodes) d.g.classList.toggle('hidden', !this.showUnused && this.unusedNodes.has(id));
    for (const d of this.edges) toggle(d, 'hidden', !this.showUnused && this.unusedEdges.has(d.routed.key));
  }

  // ---- drawing ---------------------------------------------------------------------------------------

  private drawDefs(): void {
    const defs = this.layer.append('defs');
    for (const [id, cls] of [['arrow', 'arrow'], ['arrow-sync', 'arrow sync'], ['arrow-taken', 'arrow taken']]) {
      defs
        .append('marker')
        .attr('id', id)
        .attr('class', cls)
        .attr('viewBox', '0 0 10 10')
        .attr('refX', 9)
        .attr('refY', 5)
        .attr('markerWidth', 7)
        .attr('markerHeight', 7)
        .attr('orient', 'auto-start-reverse')
        .append('path')
        .attr('d', 'M0,0 L10,5 L0,10 z');
    }
  }

  private drawTitle(): void {
    this.layer.append('text').attr('class', 'flow-title').attr('x', this.layout.width - 20).attr('y', 34).attr('text-anchor', 'end').text('Peer Process FlowChart');
  }

  private drawCluster(): void {
    const c = this.layout.cluster;
    const g = this.layer.append('g').attr('class', 'cluster').attr('data-cluster', 'fill');
    g.append('rect').attr('x', c.x).attr('y', c.y).attr('width', c.w).attr('height', c.h).attr('rx', 4);
    g.append('text').attr('x', c.x + c.w / 2).attr('y', c.y + c.h - 9).attr('text-anchor', 'middle').text(c.label);
  }

  private drawEdge(r: RoutedEdge, edgeLayer: Selection<SVGGElement, unknown, null, undefined>, labelLayer: Selection<SVGGElement, unknown, null, undefined>): void {
    const m = this.app.model;
    const e = r.edge;
    const g = edgeLayer
      .append('g')
      .attr('class', `edge ${e.type}${e.added ? ' added' : ''}`)
      .attr('data-edge', r.key)
      .attr('data-count', '0');
    const d = line().curve(curveCatmullRom.alpha(0.5))(r.points)!;
    g.append('path').attr('class', 'edge-hit').attr('d', d);
    g.append('path')
      .attr('class', 'edge-line')
      .attr('d', d)
      .attr('marker-end', `url(#${e.type === 'sync' ? 'arrow-sync' : 'arrow'})`);
    g.append('path').attr('class', 'edge-flow').attr('d', d);
    g.append('title').text(`${e.from} → ${e.to}${e.label ? ` (${e.label})` : ''}${e.type === 'sync' ? ': synchronisation' : ''}${e.added ? ' — added by swarmlab' : ''}`);

    const lg = labelLayer.append('g').attr('class', 'edge-label').attr('transform', `translate(${r.labelAt[0]},${r.labelAt[1]})`);
    if (e.label) lg.append('text').attr('class', 'edge-name').attr('y', -7).attr('text-anchor', 'middle').text(e.label);
    const pill = lg.append('rect').attr('class', 'count-pill').attr('rx', 6).attr('height', 13).attr('y', -1);
    const count = lg.append('text').attr('class', 'edge-count').attr('y', 9).attr('text-anchor', 'middle');
    lg.attr('data-edge', r.key).classed(e.type, true).classed('added', !!e.added);
    this.edges.push({ routed: r, g: g.node()!, label: lg.node()!, count: count.node()!, pill: pill.node()!, edgeIndex: e.type === 'control' ? m.edges.keys.indexOf(r.key) : -1 });
  }

  private sizePill(d: DrawnEdge): void {
    const text = d.count.textContent ?? '';
    const w = text ? text.length * 6.5 + 8 : 0;
    d.pill.setAttribute('width', String(w));
    d.pill.setAttribute('x', String(-w / 2));
  }

  private drawNode(p: PlacedNode, layer: Selection<SVGGElement, unknown, null, undefined>): void {
    const n = p.node;
    const g = layer
      .append('g')
      .attr('class', `node ${n.kind}${n.added ? ' added' : ''}${n.dotted ? ' dotted' : ''}${n.id === 'exit' ? ' exit' : ''}`)
      .attr('data-node', n.id)
      .attr('transform', `translate(${p.x},${p.y})`);
    const hw = p.w / 2;
    const hh = p.h / 2;
    if (p.shape === 'ellipse') g.append('ellipse').attr('class', 'shape').attr('rx', hw).attr('ry', hh);
    else if (p.shape === 'diamond') g.append('path').attr('class', 'shape').attr('d', `M0,${-hh} L${hw},0 L0,${hh} L${-hw},0 Z`);
    else g.append('rect').attr('class', 'shape').attr('x', -hw).attr('y', -hh).attr('width', p.w).attr('height', p.h).attr('rx', 2);
    const text = g.append('text').attr('class', 'node-label').attr('text-anchor', 'middle');
    const first = -((p.lines.length - 1) * FLOW_LINE_HEIGHT) / 2;
    p.lines.forEach((l, i) => text.append('tspan').attr('x', 0).attr('y', first + i * FLOW_LINE_HEIGHT).attr('dy', '0.35em').text(l));
    if (n.added) {
      g.append('circle').attr('class', 'added-badge').attr('cx', hw - 2).attr('cy', -hh + 2).attr('r', 6.5);
      g.append('text').attr('class', 'added-plus').attr('x', hw - 2).attr('y', -hh + 2).attr('dy', '0.35em').attr('text-anchor', 'middle').text('+');
    }
    const badge = g.append('text').attr('class', 'occupancy').attr('x', -hw - 4).attr('y', -hh).attr('text-anchor', 'end');
    g.append('title').text(`${n.label} (${n.id})${n.added ? ' — added by swarmlab, not in the original diagram' : ''}\n${NODE_MEANINGS[n.id]}`);
    g.on('click', () => this.nodeClicked(n.id));
    this.nodes.set(n.id, { placed: p, g: g.node()!, badge: badge.node()! });
  }

  /** Clicking a node while one connection is shown jumps to its next step there. */
  private nodeClicked(id: string): void {
    const app = this.app;
    const m = app.model;
    const events = m.eventsIn(app.scope);
    const node = m.table.nodeIds.indexOf(id);
    if (node < 0) return;
    const start = events ? events.findIndex((e) => e >= app.position) : app.position;
    if (events) {
      for (let k = Math.max(0, start); k < events.length; k++) {
        const i = events[k];
        if (m.table.kind[i] === KIND.step && m.table.node[i] === node) return app.seekPosition(i + 1);
      }
    }
  }

  private drawLegend(): void {
    const x = this.layout.width - 250;
    const y = this.layout.height - 140;
    const g = this.layer.append('g').attr('class', 'legend').attr('transform', `translate(${x},${y})`);
    g.append('rect').attr('class', 'legend-box').attr('width', 240).attr('height', 130).attr('rx', 4);
    const row = (i: number) => 18 + i * 18;
    g.append('ellipse').attr('class', 'shape process-sample').attr('cx', 22).attr('cy', row(0)).attr('rx', 14).attr('ry', 7);
    g.append('text').attr('x', 44).attr('y', row(0)).attr('dy', '0.35em').text('another process');
    g.append('path').attr('class', 'sample-line').attr('d', `M8,${row(1)} H36`).attr('marker-end', 'url(#arrow)');
    g.append('text').attr('x', 44).attr('y', row(1)).attr('dy', '0.35em').text('control passes');
    g.append('path').attr('class', 'sample-line sync').attr('d', `M8,${row(2)} H36`).attr('marker-end', 'url(#arrow-sync)');
    g.append('text').attr('x', 44).attr('y', row(2)).attr('dy', '0.35em').text('synchronisation');
    g.append('rect').attr('class', 'shape added-sample').attr('x', 10).attr('y', row(3) - 7).attr('width', 24).attr('height', 14);
    g.append('circle').attr('class', 'added-badge').attr('cx', 34).attr('cy', row(3) - 7).attr('r', 5.5);
    g.append('text').attr('x', 44).attr('y', row(3)).attr('dy', '0.35em').text('added by swarmlab');
    g.append('rect').attr('class', 'shape lit-sample').attr('x', 10).attr('y', row(4) - 7).attr('width', 24).attr('height', 14);
    g.append('text').attr('x', 44).attr('y', row(4)).attr('dy', '0.35em').text('where the connection is now');
    g.append('rect').attr('class', 'count-pill').attr('x', 10).attr('y', row(5) - 6).attr('width', 24).attr('height', 13).attr('rx', 6);
    g.append('text').attr('class', 'edge-count').attr('x', 22).attr('y', row(5) + 4).attr('text-anchor', 'middle').text('12');
    g.append('text').attr('x', 44).attr('y', row(5)).attr('dy', '0.35em').text('times the edge was taken');
  }
}

/** Sets a class on an edge and on its label (drawn in a layer above the nodes' edges). */
function toggle(d: DrawnEdge, cls: string, on: boolean): void {
  d.g.classList.toggle(cls, on);
  d.label.classList.toggle(cls, on);
}

