// docs/peer-flowchart.md is generated from engine/flowchart.ts (scripts/docs-flowchart.ts): this
// fails when the committed file is stale, i.e. the tables changed and the doc was not regenerated.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flowEdges, flowNodes } from '../engine/flowchart.ts';
import { FLOWCHART_DOC, renderFlowchartDoc } from '../scripts/docs-flowchart.ts';

describe('docs/peer-flowchart.md', () => {
  it('is what `npm run docs:flowchart` renders from the tables', () => {
    const committed = readFileSync(FLOWCHART_DOC, 'utf8');
    expect(committed === renderFlowchartDoc(), `${FLOWCHART_DOC} is stale: run \`npm run docs:flowchart\` and commit it`).toBe(true);
  });

  it('lists every node and every edge, additions marked', () => {
    const doc = renderFlowchartDoc();
    for (const n of flowNodes) expect(doc).toContain(`| \`${n.id}\` | ${n.label.replace(/\|/g, '\\|')} |`);
    for (const e of flowEdges) expect(doc).toContain(`| \`${e.from}\` | \`${e.to}\` | ${e.label ?? ''} | ${e.added ? 'added' : 'original'} |`);
    expect(doc).toContain('Nodes: 30 original');
  });

  it('a change to the tables shows in the doc', () => {
    const fewer = renderFlowchartDoc(flowNodes, flowEdges.slice(1));
    expect(fewer).not.toBe(renderFlowchartDoc());
  });
});
