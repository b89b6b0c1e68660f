// The report: one HTML file with the page's code and the trace inside (compressed when large),
// nothing fetched from anywhere; `swarmlab viz` writes it or serves it on 127.0.0.1.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { serveReport } from '../cli/viz.ts';
import { COMPRESS_ABOVE, reportHtml, writeReport } from '../viz/report.ts';

const header = JSON.stringify({ format: 'swarmlab-trace', version: 1, seed: '1', engine: 'test' });
const event = (i: number) => JSON.stringify({ t: i, peer: 'L0', kind: 'announce', event: 'started', ok: true, peers: 0, interval: 1000, note: '</script><!-- x' });

function inlined(html: string): { encoding: string; bytes: Buffer } {
  const m = html.match(/<script type="application\/octet-stream" id="swarmlab-trace" data-encoding="([^"]+)"[^>]*>([^<]*)<\/script>/);
  expect(m).not.toBeNull();
  const raw = Buffer.from(m![2], 'base64');
  return { encoding: m![1], bytes: m![1] === 'gzip+base64' ? gunzipSync(raw) : raw };
}

describe('the report', () => {
  it('inlines a small trace as it is, and a large one gzip-compressed, byte for byte', async () => {
    const small = [header, event(1), event(2)];
    const a = inlined(await reportHtml(small));
    expect(a.encoding).toBe('base64');
    expect(a.bytes.toString()).toBe(small.join('\n') + '\n');

    const large = [header, ...Array.from({ length: 2000 }, (_, i) => event(i))];
    const text = large.join('\n') + '\n';
    expect(text.length).toBeGreaterThan(COMPRESS_ABOVE);
    const html = await reportHtml(new TextEncoder().encode(text));
    const b = inlined(html);
    expect(b.encoding).toBe('gzip+base64');
    expect(b.bytes.toString()).toBe(text);
    expect(html.length).toBeLessThan(text.length); // the page's code plus a compressed trace
  });

  it('is self-contained: one script, one style, nothing loaded from elsewhere', async () => {
    const html = await reportHtml([header, event(1)]);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    expect(html).not.toMatch(/fetch\(\s*['"]https?:/);
    // The page's code does not end its own <script> early.
    const code = html.slice(html.lastIndexOf('<script>') + 8, html.lastIndexOf('</script>'));
    expect(code).not.toMatch(/<\/script/i);
    expect(code).toContain('Peer Process FlowChart');
  });

  it('is written by `swarmlab viz` next to the trace, or where -o says', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-viz-'));
    const trace = join(dir, 'run.jsonl');
    writeFileSync(trace, [header, event(1)].join('\n') + '\n');
    const run = (...args: string[]) => execFileSync(process.execPath, ['bin/swarmlab.mjs', 'viz', ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(run(trace)).toContain(join(dir, 'run.html'));
    expect(inlined(readFileSync(join(dir, 'run.html'), 'utf8')).bytes.toString()).toContain('"note"');
    run(trace, '-o', join(dir, 'sub', 'r.html'));
    expect(readFileSync(join(dir, 'sub', 'r.html'), 'utf8')).toContain('<!doctype html>');
  }, 60_000);

  it('writeReport takes a path, lines or bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-viz-'));
    const lines = [header, event(1)];
    writeFileSync(join(dir, 't.jsonl'), lines.join('\n') + '\n');
    for (const [name, source] of [['path', join(dir, 't.jsonl')], ['lines', lines], ['bytes', new TextEncoder().encode(lines.join('\n') + '\n')]] as const) {
      const out = await writeReport(source, join(dir, `${name}.html`));
      expect(inlined(readFileSync(out, 'utf8')).bytes.toString(), name).toBe(lines.join('\n') + '\n');
    }
  });

  it('is served on 127.0.0.1 by --serve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-viz-'));
    writeFileSync(join(dir, 't.jsonl'), [header, event(1)].join('\n') + '\n');
    const server = await serveReport(join(dir, 't.jsonl'), 0);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(server.url, { signal: AbortSignal.timeout(10_000) });
      expect(page.status).toBe(200);
      expect(inlined(await page.text()).bytes.toString()).toContain('"note"');
      expect((await fetch(server.url + 'other', { signal: AbortSignal.timeout(10_000) })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
