// A small HTTP file server with Range support on 127.0.0.1 for the web seed tests (BEP 19): it
// serves a folder, answers `Range: bytes=a-b` with 206 and a Content-Range, redirects `/redirect/…`
// to `/…`, and can be made to fail (`mode`: 503s, or corrupt bytes) or slow (`delay` per answer).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

export interface RangeServer {
  readonly base: string;
  readonly requests: { path: string; range: string | undefined }[];
  mode: 'good' | 'error' | 'corrupt';
  delay: number;
  close(): Promise<void>;
}

export async function startRangeServer(root: string): Promise<RangeServer> {
  const requests: RangeServer['requests'] = [];
  let server: Server;
  const state: RangeServer = {
    base: '',
    requests,
    mode: 'good',
    delay: 0,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ path: url.pathname, range: req.headers.range });
    if (url.pathname.startsWith('/redirect/')) {
      res.writeHead(302, { Location: url.pathname.slice('/redirect'.length) });
      return res.end();
    }
    const answer = () => {
      if (state.mode === 'error') return res.writeHead(503).end('busy');
      const file = normalize(join(root, decodeURIComponent(url.pathname)));
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
      const data = readFileSync(file);
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!range) return res.writeHead(200, { 'Content-Length': data.length }).end(data);
      const [start, end] = [Number(range[1]), Math.min(Number(range[2]), data.length - 1)];
      if (start > end) return res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end();
      const body = Buffer.from(data.subarray(start, end + 1));
      if (state.mode === 'corrupt') body[0] ^= 0xff;
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': body.length });
      res.end(body);
    };
    if (state.delay > 0) setTimeout(answer, state.delay);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return Object.assign(state, { base: `http://127.0.0.1:${port}` });
}
