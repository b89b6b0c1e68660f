// `swarmlab viz`: the replay page for a trace — one self-contained HTML file that opens offline,
// or served on 127.0.0.1. `writeReport` is what `swarmlab run --report` and `swarmlab test` call.

import { createServer } from 'node:http';
import type { Command } from 'commander';
import { reportHtml, traceBytes, writeReport, type TraceSource } from '../viz/report.ts';
import { parseTrace } from '../viz/trace-table.ts';
import { InputError, listenError } from './input-error.ts';
import { portNumber } from './option-parsers.ts';

export { writeReport, type TraceSource };

export interface VizFlags {
  output?: string;
  serve?: boolean;
  port: number;
}

export function registerViz(program: Command): void {
  program
    .command('viz')
    .description('replay a trace in the browser: write a self-contained HTML report, or serve it on 127.0.0.1')
    .argument('<trace>', 'the trace (.jsonl) to replay')
    .option('-o, --output <file>', 'where to write the report (default: the trace path with .html)')
    .option('--serve', 'serve the report on 127.0.0.1 instead of writing it')
    .option('--port <n>', 'port for --serve (0: any free port)', portNumber, 8765)
    .action(async (trace: string, flags: VizFlags) => {
      checkTrace(trace);
      if (flags.serve) {
        await serveReport(trace, flags.port);
        return;
      }
      const out = flags.output ?? defaultReportPath(trace);
      await writeReport(trace, out);
      console.log(`report: ${out}`);
    });
}

/**
 * Reads the trace as the page will, so that a file that is not a trace is one line and exit 2
 * here, not a page that fails in the browser. A missing file is left to the caller's ENOENT line.
 */
export function checkTrace(path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = traceBytes(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).path) throw err;
    throw new InputError(`${path}: not a swarmlab trace: cannot decompress it (${(err as Error).message})`);
  }
  try {
    parseTrace(bytes);
  } catch (err) {
    const message = (err as Error).message;
    throw new InputError(`${path}: ${message.startsWith('not a swarmlab trace') ? message : `not a swarmlab trace: ${message}`}`);
  }
}

export function defaultReportPath(trace: string): string {
  return trace.replace(/\.jsonl(\.gz)?$/, '') + '.html';
}

/** Serves the report for `trace` at http://127.0.0.1:port/ until the process ends. */
export async function serveReport(trace: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const html = await reportHtml(trace);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/' && req.url !== '/index.html')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, '127.0.0.1', port)));
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/`;
  console.log(`serving ${trace} at ${url} (Ctrl-C to stop)`);
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
