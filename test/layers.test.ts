// The layers of docs/ARCHITECTURE.md, enforced. Every import of every source file the project
// type-checks (tsconfig.json's `include`) is read with the TypeScript parser — static, type-only,
// `export … from`, dynamic, `import()` types, `require` — and checked against the "may import"
// column of the document's Layers table, which this test reads as its rules (one definition).
// A failure names the file and line, the import and the rule. The import graph has no cycles.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { findCycles, type ImportTarget, readImports, resolveImport } from './helpers/import-graph.ts';
import { importProblem, layerOf, type LayerRule, LayerTableError, parseLayerTable } from './helpers/layer-table.ts';

const TABLE = 'docs/ARCHITECTURE.md';
const SOURCE = /\.([cm]?ts|tsx|[cm]?js)$/;

/** The files tsconfig.json type-checks, with forward slashes, relative to the repository. */
function sourceFiles(): string[] {
  const config = ts.readConfigFile('tsconfig.json', ts.sys.readFile);
  if (config.error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(config.error.messageText, '\n')}`);
  const walk = (path: string): string[] => {
    if (!statSync(path).isDirectory()) return SOURCE.test(path) ? [path] : [];
    return readdirSync(path)
      .filter((name) => name !== 'node_modules')
      .flatMap((name) => walk(`${path}/${name}`));
  };
  return (config.config.include as string[]).flatMap(walk).sort();
}

function declaredPackages(): Set<string> {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, string> | undefined>;
  return new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
}

interface Checked {
  /** One line per import the table or the repository does not allow. */
  problems: string[];
  /** File → the repository files it imports. */
  graph: Map<string, string[]>;
}

/** Checks every import of `sources` (path → text) against `rules`. */
function checkImports(sources: ReadonlyMap<string, string>, rules: readonly LayerRule[], packages: ReadonlySet<string>, fileExists: (path: string) => boolean): Checked {
  const problems: string[] = [];
  const graph = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const targets: string[] = [];
    graph.set(file, targets);
    for (const { specifier, line } of readImports(file, text)) {
      const target = specifier === undefined ? undefined : resolveImport(file, specifier);
      if (target && 'file' in target && fileExists(target.file)) targets.push(target.file);
      const problem = problemOf(file, target, rules, packages, fileExists);
      if (problem) problems.push(`${file}:${line} imports ${specifier === undefined ? 'a computed specifier' : `'${specifier}'`} — ${problem}`);
    }
  }
  return { problems, graph };
}

function problemOf(file: string, target: ImportTarget | undefined, rules: readonly LayerRule[], packages: ReadonlySet<string>, fileExists: (path: string) => boolean): string | undefined {
  if (target === undefined) return 'the layer test cannot follow it; import a string literal';
  if ('file' in target && !fileExists(target.file)) return `${target.file} is no file`;
  if ('package' in target && !target.package.startsWith('node:') && !packages.has(target.package)) return `package.json does not list ${target.package}`;
  return importProblem(file, target, rules);
}

describe('layers', () => {
  const rules = parseLayerTable(readFileSync(TABLE, 'utf8'));
  const files = sourceFiles();
  const packages = declaredPackages();
  const sources = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const { problems, graph } = checkImports(sources, rules, packages, existsSync);

  it('finds the sources and their imports', () => {
    expect(files).toContain('engine/peer.ts');
    expect(files).toContain('bin/swarmlab.mjs');
    expect([...graph.values()].flat().length).toBeGreaterThan(300);
  });

  it(`every entry of ${TABLE}'s table is a folder, file or package that exists`, () => {
    const layers = new Set(rules.flatMap((r) => r.layers));
    const unknown: string[] = [];
    for (const rule of rules) {
      for (const layer of rule.layers) if (!existsSync(layer)) unknown.push(`${rule.row}: ${layer} does not exist`);
      if (rule.mayImport === 'everything') continue;
      for (const entry of rule.mayImport) {
        const known =
          layers.has(entry) ||
          (!entry.endsWith('/') && existsSync(entry)) ||
          packages.has(entry) ||
          entry === 'node:*' ||
          (entry.startsWith('node:') && builtinModules.includes(entry.slice(5)));
        if (!known) unknown.push(`${rule.row}: "may import" names ${entry}, which is no layer, file or package`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it(`every source file is in a layer of ${TABLE}`, () => {
    expect(files.filter((f) => !layerOf(f, rules))).toEqual([]);
  });

  it(`every import is one ${TABLE}'s table allows`, () => {
    expect(problems).toEqual([]);
  });

  it('the import graph has no cycles', () => {
    expect(findCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
  });
});

describe('the layer check catches what it should', () => {
  const table = [
    '## Layers',
    '',
    '| folder | what | may import |',
    '|---|---|---|',
    '| `core/` | the core | `zod`, `node:crypto` |',
    '| `app/` | the app | `core/`, `node:*` |',
    '| `app/ui/`, `app/ui.ts` | the page | `core/types.ts` |',
    '| `tools/` | tools | everything |',
    '',
    '## Next',
  ].join('\n');
  const rules = parseLayerTable(table);
  const sources = new Map([
    ['core/a.ts', "import { b } from './b.ts';\nimport type { X } from '../app/x.ts';\n// import { y } from '../tools/y.ts';\nconst s = \"import('../tools/y.ts')\";\n"],
    ['core/b.ts', "export * from './a.ts';\nimport { z } from 'zod/mini';\nimport fs from 'fs';\nexport const load = () => import('yaml');\n"],
    ['core/types.ts', 'export type T = number;\n'],
    ['app/x.ts', "export type X = import('./ui/page.ts').Page;\nimport { randomBytes } from 'node:crypto';\nconst m = await import(name);\n"],
    ['app/ui/page.ts', "import type { T } from '../../core/types.ts';\nimport { a } from '../../core/a.ts';\nimport { u } from '../ui.ts';\nimport y = require('../../tools/y.ts');\nexport type Page = T;\n"],
    ['app/ui.ts', "export { Page } from './ui/page.ts';\nimport gone from './gone.ts';\n"],
    ['tools/y.ts', "import { a } from '../core/a.ts';\nimport { x } from '../app/x.ts';\nimport d3 from 'd3';\n"],
    ['stray.ts', "import { a } from './core/a.ts';\n"],
  ]);
  const { problems, graph } = checkImports(sources, rules, new Set(['zod', 'yaml']), (p) => sources.has(p));

  it('reads the table as rules', () => {
    expect(rules.map((r) => [r.layers, r.mayImport])).toEqual([
      [['core/'], ['zod', 'node:crypto']],
      [['app/'], ['core/', 'node:*']],
      [['app/ui/', 'app/ui.ts'], ['core/types.ts']],
      [['tools/'], 'everything'],
    ]);
  });

  it('names the file, the import and the rule of every import the table does not allow', () => {
    expect(problems).toEqual([
      "core/a.ts:2 imports '../app/x.ts' — layer `core/` may import only itself and `zod`, `node:crypto`",
      "core/b.ts:3 imports 'fs' — layer `core/` may import only itself and `zod`, `node:crypto`",
      "core/b.ts:4 imports 'yaml' — layer `core/` may import only itself and `zod`, `node:crypto`",
      "app/x.ts:1 imports './ui/page.ts' — layer `app/` may import only itself and `core/`, `node:*`",
      'app/x.ts:3 imports a computed specifier — the layer test cannot follow it; import a string literal',
      "app/ui/page.ts:2 imports '../../core/a.ts' — layer `app/ui/` may import only itself and `core/types.ts`",
      "app/ui/page.ts:4 imports '../../tools/y.ts' — layer `app/ui/` may import only itself and `core/types.ts`",
      "app/ui.ts:2 imports './gone.ts' — app/gone.ts is no file",
      'tools/y.ts:3 imports \'d3\' — package.json does not list d3',
      "stray.ts:1 imports './core/a.ts' — stray.ts is in no layer of the table",
    ]);
  });

  it('finds every cycle, type-only imports included: a shortest one through each file of a tangle', () => {
    expect(findCycles(graph).map((c) => c.join(' → '))).toEqual([
      'app/ui.ts → app/ui/page.ts → app/ui.ts',
      'app/ui/page.ts → core/a.ts → app/x.ts → app/ui/page.ts',
      'app/ui/page.ts → tools/y.ts → app/x.ts → app/ui/page.ts',
      'core/a.ts → core/b.ts → core/a.ts',
    ]);
    const apart = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts', 'a.ts']],
      ['c.ts', ['c.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(findCycles(apart).map((c) => c.join(' → '))).toEqual(['a.ts → b.ts → a.ts', 'c.ts → c.ts']);
  });

  it('refuses a table it cannot read as rules', () => {
    const row = (cell: string) => `## Layers\n\n| folder | what | may import |\n|---|---|---|\n| \`x/\` | x | ${cell} |\n`;
    expect(() => parseLayerTable(row('nothing outside `x/` but `zod`'))).toThrow(LayerTableError);
    expect(() => parseLayerTable(row('`y/` and `z/`'))).toThrow(/must be backticked entries/);
    expect(parseLayerTable(row('nothing'))[0].mayImport).toEqual([]);
    expect(() => parseLayerTable('## Layers\n\nno table here\n')).toThrow(/no table/);
  });
});
