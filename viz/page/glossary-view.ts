// The glossary panel: the BitTorrent terms and every flowchart node, with what each means (the
// table of viz/glossary.ts, which the page's tooltips read too). Folded until opened.

import { glossaryEntries } from '../glossary.ts';
import { el } from './dom.ts';

export class GlossaryView {
  readonly element: HTMLElement;

  constructor() {
    const list = el('dl', { class: 'glossary-list' });
    for (const e of glossaryEntries()) {
      list.append(el('dt', e.node ? { 'data-node': e.node } : { 'data-term': e.term }, e.term), el('dd', {}, e.meaning));
    }
    this.element = el(
      'details',
      { class: 'panel glossary-panel', id: 'glossary' },
      el('summary', {}, el('h2', {}, 'Glossary'), el('span', { class: 'panel-note' }, ' BitTorrent terms and the flowchart’s steps; hover a step or an event for its meaning')),
      list,
    );
  }

  update(): void {}
}
