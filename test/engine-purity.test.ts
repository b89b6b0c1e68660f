// engine/ is sans-IO: it reaches for no clock, timer, randomness, socket, file or process of its
// own. Everything comes through the ports in engine/ports.ts.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FORBIDDEN: [RegExp, string][] = [
  [/from\s+['"](node:)?(net|fs|fs\/promises|dgram|timers|timers\/promises|http|https|child_process|worker_threads|os|process|tls|dns)['"]/, 'an IO module'],
  [/import\(\s*['"](node:)?(net|fs|dgram|timers|http|https|child_process)['"]/, 'a dynamic IO import'],
  [/\bMath\.random\s*\(/, 'Math.random'],
  [/\bDate\.now\s*\(|\bnew Date\s*\(|\bDate\s*\(/, 'Date'],
  [/\bperformance\.now\s*\(/, 'performance.now'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, 'a timer'],
  [/\bprocess\./, 'process'],
  [/\bglobalThis\b/, 'globalThis'],
  [/\brequire\s*\(/, 'require'],
];

function engineFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? engineFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Source without comments, so prose that names a forbidden API does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('engine purity', () => {
  const files = engineFiles('engine');

  it('finds the engine sources', () => {
    expect(files.length).toBeGreaterThan(8);
  });

  it.each(files)('%s reaches for nothing outside its ports', (file) => {
    const src = code(readFileSync(file, 'utf8'));
    const hits = FORBIDDEN.filter(([re]) => re.test(src)).map(([, what]) => what);
    expect(hits).toEqual([]);
  });

  it('the scan catches what it should', () => {
    const bad = code("import { Socket } from 'node:net';\nconst t = Date.now();\nsetTimeout(f, 1); // ok\n");
    const hits = FORBIDDEN.filter(([re]) => re.test(bad)).map(([, what]) => what);
    expect(hits).toEqual(['an IO module', 'Date', 'a timer']);
  });
});
