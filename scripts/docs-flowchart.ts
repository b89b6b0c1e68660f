// `npm run docs:flowchart`: writes docs/peer-flowchart.md from the node and edge tables of
// engine/flowchart.ts, so the repository carries the diagram it cites (a Mermaid drawing, then
// every node and edge, swarmlab's additions marked). test/flowchart-doc.test.ts fails when the
// committed file is not what this renders.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FlowEdge, type FlowNode, flowEdges, flowNodes } from '../engine/flowchart.ts';

export const FLOWCHART_DOC = 'docs/peer-flowchart.md';

const KIND_TEXT: Record<FlowNode['kind'], string> = {
  process: 'process (another process)',
  step: 'step',
  decision: 'decision',
  terminal: 'terminal (the process ends)',
};

/** Mermaid node shapes: processes as stadiums, decisions as diamonds, Exit as a circle. */
const MERMAID_SHAPE: Record<FlowNode['kind'], [string, string]> = {
  process: ['([', '])'],
  step: ['[', ']'],
  decision: ['{', '}'],
  terminal: ['((', '))'],
};

const mermaidText = (text: string) => `"${text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;')}"`;
const cell = (text: string) => text.replace(/\|/g, '\\|');
const origin = (x: { added?: boolean }) => (x.added ? 'added' : 'original');

function mermaid(nodes: readonly FlowNode[], edges: readonly FlowEdge[]): string[] {
  const lines = ['```mermaid', 'flowchart TD'];
  const node = (n: FlowNode) => {
    const [open, close] = MERMAID_SHAPE[n.kind];
    return `  ${n.id}${open}${mermaidText(n.label)}${close}`;
  };
  lines.push('  subgraph fill ["Unchoke checked fill blocks"]');
  for (const n of nodes) if (n.cluster === 'fill') lines.push(`  ${node(n)}`);
  lines.push('  end');
  for (const n of nodes) if (n.cluster !== 'fill') lines.push(node(n));
  for (const e of edges) {
    const arrow = e.type === 'sync' ? '-.->' : '-->';
    lines.push(`  ${e.from} ${arrow}${e.label ? `|${mermaidText(e.label)}|` : ''} ${e.to}`);
  }
  const added = nodes.filter((n) => n.added).map((n) => n.id);
  lines.push('  classDef added stroke-dasharray: 4 3, fill:#f4f8ff');
  lines.push(`  class ${added.join(',')} added`);
  lines.push('```');
  return lines;
}

function edgeTable(edges: readonly FlowEdge[]): string[] {
  return [
    '| from | to | branch | origin |',
    '|---|---|---|---|',
    ...edges.map((e) => `| \`${e.from}\` | \`${e.to}\` | ${cell(e.label ?? '')} | ${origin(e)} |`),
  ];
}

/** The whole of docs/peer-flowchart.md. */
export function renderFlowchartDoc(nodes: readonly FlowNode[] = flowNodes, edges: readonly FlowEdge[] = flowEdges): string {
  const control = edges.filter((e) => e.type === 'control');
  const sync = edges.filter((e) => e.type === 'sync');
  const count = (xs: readonly { added?: boolean }[]) => `${xs.filter((x) => !x.added).length} original, ${xs.filter((x) => x.added).length} added`;
  const lines = [
    '<!-- Generated from engine/flowchart.ts by `npm run docs:flowchart`; do not edit by hand. -->',
    '',
    '# The Peer process flowchart',
    '',
    "One Peer process runs per connection (`engine/peer.ts`; the metadata fetcher's connections in",
    '`engine/metadata.ts` use the same nodes). Its steps are the nodes below, and every step it takes',
    'follows a control edge from the one before: the engine checks this as it goes',
    "(`StepTracker`; setting `offChartSteps`: throw in the simulator and tests, a `violation` trace",
    'event in live mode), and the trace names each step by its node id (docs/trace-format.md).',
    '',
    "The original diagram is combinatorrent's `doc/Peer.dot` (commit 978a7b4, December 2009,",
    '"Peer Process FlowChart"), restated in the design as `shared/design/peer-flowchart.md`: its 30',
    'nodes keep their ids. Nodes and edges marked *added* are steps a complete client takes that the',
    '2009 diagram does not draw (startup, interest, timers, endgame, HAVE broadcast, cleanup, BEP 6',
    'Fast, BEP 10 extensions and BEP 9 metadata).',
    '',
    `Nodes: ${count(nodes)}. Control edges: ${count(control)}. Synchronisation edges: ${count(sync)}.`,
    '',
    '## Legend',
    '',
    '- Ellipses (stadiums below) are other processes: Inbound, Outbound, Peer Manager, Piece Manager.',
    '- Solid arrows: control passes from one step to the next. Only these are steps a process takes.',
    '- Dotted arrows: a synchronisation point with another process (into a box: control reaches it',
    '  when that event fires; out of a box: the step waits until the other process took the message).',
    '- Dashed, tinted boxes below are swarmlab\'s additions. The box "Unchoke checked fill blocks" is',
    '  the original\'s dotted cluster.',
    '',
    ...mermaid(nodes, edges),
    '',
    '## Nodes',
    '',
    '| id | label | kind | origin | notes |',
    '|---|---|---|---|---|',
    ...nodes.map((n) => {
      const notes = [n.cluster === 'fill' ? 'in the cluster "Unchoke checked fill blocks"' : '', n.dotted ? 'dotted box: done by another process' : '']
        .filter(Boolean)
        .join('; ');
      return `| \`${n.id}\` | ${cell(n.label)} | ${KIND_TEXT[n.kind]} | ${origin(n)} | ${notes} |`;
    }),
    '',
    '## Control edges',
    '',
    'A process starts at `connect`; each step must be one of these from the step before.',
    '',
    ...edgeTable(control),
    '',
    '## Synchronisation edges',
    '',
    ...edgeTable(sync),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(FLOWCHART_DOC, renderFlowchartDoc());
  console.log(`wrote ${FLOWCHART_DOC}`);
}
