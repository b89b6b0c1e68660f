// The WebSeedPort over real HTTP (BEP 19 in live mode): one GET with a Range header per request,
// redirects followed up to a bound, the body checked against the range (206 with a matching
// Content-Range, or 200 only when the whole body is exactly the range), a time-out per request,
// and nothing read past the range: a body longer than asked for is cut off and an error.

import http from 'node:http';
import https from 'node:https';
import type { WebSeedPort, WebSeedResult } from '../engine/ports.ts';
import { ENGINE_VERSION } from '../engine/version.ts';

export interface HttpWebSeedOptions {
  /** A request not answered in full within this many ms fails (the engine's `webSeedTimeout`). */
  timeout: number;
  /** Redirects followed per request (the engine's `webSeedMaxRedirects`). */
  maxRedirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class HttpWebSeeds implements WebSeedPort {
  private readonly agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  private readonly open = new Set<http.ClientRequest>();
  private closed = false;

  constructor(private readonly o: HttpWebSeedOptions) {}

  get(url: string, rangeStart: number, rangeEnd: number, done: (result: WebSeedResult) => void): { cancel(): void } {
    let finished = false;
    let current: http.ClientRequest | undefined;
    const end = (result: WebSeedResult | undefined) => {
      if (finished) return;
      finished = true;
      if (current) {
        this.open.delete(current);
        if (!result?.ok) current.destroy();
      }
      if (result) done(result);
    };
    const finish = (result: WebSeedResult) => end(result);
    const fetch = (target: string, redirectsLeft: number) => {
      if (this.closed) return finish({ ok: false, error: 'closed' });
      let parsed: URL;
      try {
        parsed = new URL(target);
      } catch {
        return finish({ ok: false, error: `not a valid URL: ${target}` });
      }
      const agent = parsed.protocol === 'http:' || parsed.protocol === 'https:' ? this.agents[parsed.protocol] : undefined;
      if (!agent) return finish({ ok: false, error: `unsupported URL scheme ${parsed.protocol} (http and https only)` });
      const get = parsed.protocol === 'https:' ? https.get : http.get;
      const request = get(parsed, { agent, headers: { Range: `bytes=${rangeStart}-${rangeEnd}`, 'User-Agent': `swarmlab/${ENGINE_VERSION}` } });
      current = request;
      this.open.add(request);
      request.setTimeout(this.o.timeout, () => finish({ ok: false, error: `no answer within ${this.o.timeout} ms` }));
      request.on('error', (err) => finish({ ok: false, error: err.message }));
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          response.resume();
          this.open.delete(request);
          request.destroy();
          const location = response.headers.location;
          if (!location) return finish({ ok: false, error: `HTTP ${status} without a Location` });
          if (redirectsLeft <= 0) return finish({ ok: false, error: `more than ${this.o.maxRedirects} redirects` });
          let next: string;
          try {
            next = new URL(location, parsed).toString();
          } catch {
            return finish({ ok: false, error: `HTTP ${status} to an invalid Location: ${location}` });
          }
          return fetch(next, redirectsLeft - 1);
        }
        const problem = checkHeaders(status, response, rangeStart, rangeEnd);
        if (problem) {
          response.resume();
          return finish({ ok: false, error: problem });
        }
        readBody(response, rangeEnd - rangeStart + 1, finish);
      });
    };
    fetch(url, this.o.maxRedirects);
    // The port's contract: `done` is never called after `cancel()`.
    return { cancel: () => end(undefined) };
  }

  /** Cuts off every request in flight and closes idle sockets. */
  close(): void {
    this.closed = true;
    for (const request of this.open) request.destroy();
    this.open.clear();
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}

/** Why a response cannot be the range asked for, or undefined when it may be. */
function checkHeaders(status: number, response: http.IncomingMessage, rangeStart: number, rangeEnd: number): string | undefined {
  const expected = rangeEnd - rangeStart + 1;
  const length = response.headers['content-length'];
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\//.exec(response.headers['content-range'] ?? '');
    if (!range) return `HTTP 206 without a valid Content-Range (got ${response.headers['content-range'] ?? 'none'})`;
    if (Number(range[1]) !== rangeStart || Number(range[2]) !== rangeEnd) return `HTTP 206 for bytes ${range[1]}-${range[2]}, asked for ${rangeStart}-${rangeEnd}`;
  } else if (status === 200) {
    // The server ignored Range: the body is the whole file, usable only if that is the range.
    if (rangeStart !== 0) return `HTTP 200 to a Range request (the server ignores Range), asked for bytes ${rangeStart}-${rangeEnd}`;
  } else {
    return `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
  }
  if (length !== undefined && Number(length) !== expected) return `HTTP ${status} with Content-Length ${length} for a range of ${expected} bytes`;
  return undefined;
}

/** Reads exactly `expected` bytes; a longer or shorter body is an error. */
function readBody(response: http.IncomingMessage, expected: number, finish: (result: WebSeedResult) => void): void {
  const body = new Uint8Array(expected);
  let received = 0;
  response.on('data', (chunk: Buffer) => {
    if (received + chunk.length > expected) {
      response.destroy();
      return finish({ ok: false, error: `the body is longer than the ${expected} bytes asked for` });
    }
    body.set(chunk, received);
    received += chunk.length;
  });
  response.on('end', () => {
    if (received !== expected) return finish({ ok: false, error: `the body has ${received} bytes, the range ${expected}` });
    finish({ ok: true, body });
  });
  response.on('error', (err) => finish({ ok: false, error: err.message }));
  response.on('aborted', () => finish({ ok: false, error: 'the connection closed mid-body' }));
}
