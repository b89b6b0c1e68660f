// The "may import" table of docs/ARCHITECTURE.md (section "Layers"), read as rules, and the check
// of an import against them. The table is the one definition: test/layers.test.ts reads it from the
// document, so the document cannot drift from what the test enforces.
//
// A row: first column the layer — folders (`sim/`) or files (`viz/report.ts`), backticked, comma
// separated; last column what the layer may import besides itself — backticked layers or files,
// packages (`zod`), Node built-ins (`node:fs`; `node:*` for any), or the single word `everything`
// or `nothing`. A file belongs to the longest layer that holds it.

export interface LayerRule {
  /** The layer's folders (ending in `/`) and files, as written in the first column. */
  layers: string[];
  /** 'everything', or the backticked entries of the last column. */
  mayImport: 'everything' | string[];
  /** The row as written, for messages. */
  row: string;
}

export class LayerTableError extends Error {}

const TOKEN_LIST = /^`[^`]+`(,\s*`[^`]+`)*$/;

/** The rules of the table under `## Layers` in `markdown`; throws LayerTableError on a malformed row. */
export function parseLayerTable(markdown: string): LayerRule[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers\n'));
  if (!section) throw new LayerTableError('no "## Layers" section');
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  if (rows.length < 3) throw new LayerTableError('the Layers section has no table');
  const header = cells(rows[0]);
  if (header[header.length - 1] !== 'may import') throw new LayerTableError(`the Layers table's last column is "${header[header.length - 1]}", not "may import"`);
  return rows.slice(2).map((row) => {
    const cols = cells(row);
    const first = cols[0];
    const last = cols[cols.length - 1];
    if (!TOKEN_LIST.test(first)) throw new LayerTableError(`row "${first}": the first column must be backticked folders or files, comma separated`);
    const layers = tokens(first);
    for (const l of layers) {
      if (l.startsWith('/') || l.includes('..')) throw new LayerTableError(`row "${first}": "${l}" is not a path inside the repository`);
    }
    let mayImport: LayerRule['mayImport'];
    if (last === 'everything') mayImport = 'everything';
    else if (last === 'nothing') mayImport = [];
    else if (TOKEN_LIST.test(last)) mayImport = tokens(last);
    else throw new LayerTableError(`row "${first}": "may import" must be backticked entries, comma separated, or "everything" or "nothing" — got "${last}"`);
    return { layers, mayImport, row: first };
  });
}

function cells(row: string): string[] {
  return row.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
}

function tokens(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** The layer (as written in the table) that holds `file`: the longest folder or the file itself. */
export function layerOf(file: string, rules: readonly LayerRule[]): { layer: string; rule: LayerRule } | undefined {
  let best: { layer: string; rule: LayerRule } | undefined;
  for (const rule of rules) {
    for (const layer of rule.layers) {
      const holds = layer.endsWith('/') ? file.startsWith(layer) : file === layer;
      if (holds && (!best || layer.length > best.layer.length)) best = { layer, rule };
    }
  }
  return best;
}

/**
 * Why `file` may not import `target` (a repository file or a package name), or undefined when it
 * may. A file may always import files of its own row.
 */
export function importProblem(file: string, target: { file: string } | { package: string }, rules: readonly LayerRule[]): string | undefined {
  const from = layerOf(file, rules);
  if (!from) return `${file} is in no layer of the table`;
  const allowed = from.rule.mayImport;
  if (allowed === 'everything') return undefined;
  if ('package' in target) {
    const p = target.package;
    if (allowed.includes(p) || (p.startsWith('node:') && allowed.includes('node:*'))) return undefined;
  } else {
    const to = layerOf(target.file, rules);
    if (to && (to.rule === from.rule || allowed.includes(to.layer))) return undefined;
    if (allowed.includes(target.file)) return undefined;
  }
  const what = allowed.length === 0 ? 'nothing' : allowed.map((a) => `\`${a}\``).join(', ');
  return `layer \`${from.layer}\` may import only itself and ${what}`;
}
