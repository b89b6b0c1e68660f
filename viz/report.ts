// The report: one HTML file holding the page's code, its styles and the trace (base64, gzip
// compressed when large), which opens offline straight from disk.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pageAssets } from './bundle.ts';
import { INLINE_TRACE_ID } from './page/load.ts';

/** Traces larger than this are gzip-compressed inside the report. */
export const COMPRESS_ABOVE = 64 * 1024;

/** A trace: the path of a .jsonl file, its lines (each ending in "\n" or not), or its bytes. */
export type TraceSource = string | readonly string[] | Uint8Array;

export interface ReportOptions {
  /** Shown as the trace's name in the page (default: the file's name, or "trace.jsonl"). */
  name?: string;
}

export function traceBytes(source: TraceSource): Uint8Array {
  if (typeof source === 'string') {
    const bytes = readFileSync(source);
    return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes; // a .jsonl.gz
  }
  if (source instanceof Uint8Array) return source;
  const text = source.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  return new TextEncoder().encode(text);
}

/** The report's HTML for a trace (or, without one, a page that asks for a trace file). */
export async function reportHtml(source?: TraceSource, options: ReportOptions = {}): Promise<string> {
  const { js, css } = await pageAssets();
  const name = options.name ?? (typeof source === 'string' ? basename(source) : 'trace.jsonl');
  let data = '';
  if (source !== undefined) {
    const bytes = traceBytes(source);
    const compress = bytes.length > COMPRESS_ABOVE;
    const payload = compress ? gzipSync(bytes, { level: 6 }) : bytes;
    const encoding = compress ? 'gzip+base64' : 'base64';
    data = `<script type="application/octet-stream" id="${INLINE_TRACE_ID}" data-encoding="${encoding}" data-name="${escapeAttribute(name)}">${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64')}</script>\n`;
  }
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>swarmlab replay — ${escapeText(name)}</title>`,
    `<style>${css.replace(/<\/style/gi, '<\\/style')}</style>`,
    '</head>',
    '<body>',
    '<div id="app"></div>',
    data + `<script>${js.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--')}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes the report for a trace to `outPath`; returns the path. */
export async function writeReport(source: TraceSource, outPath: string, options: ReportOptions = {}): Promise<string> {
  const html = await reportHtml(source, options);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, html);
  return outPath;
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
