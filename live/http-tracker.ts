// One HTTP(S) tracker (BEP 3, BEP 23 compact replies). The `tracker id` of a reply is remembered
// and sent back as `trackerid` in every later announce to this tracker (as libtorrent and the
// BitTorrent spec wiki have it). Bounded in time and size; every fault, an
// exception in any of its callbacks included, is an error result, never a throw; `close()` ends
// the requests in flight at once (a tracker that never answers must not hold up the exit).

import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AnnounceRequest, AnnounceResult } from '../engine/ports.ts';
import { describeError } from './io-errors.ts';
import { parseAnnounceReply } from './tracker-reply.ts';

export interface HttpTrackerOptions {
  /** A request that has not finished after this long fails (ms, default 15 s). */
  timeout?: number;
  /** Largest reply body accepted (default 1 MiB). */
  maxBody?: number;
}

/** Percent-encodes raw bytes as BEP 3 asks (unreserved characters stay as they are). */
export function percentEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    s += /[A-Za-z0-9.\-_~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

export function announceUrl(base: string, r: AnnounceRequest, key: string, trackerId?: Uint8Array): string {
  const params = [
    `info_hash=${percentEncode(r.infoHash)}`,
    `peer_id=${percentEncode(r.peerId)}`,
    `port=${r.port}`,
    `uploaded=${r.uploaded}`,
    `downloaded=${r.downloaded}`,
    `left=${r.left}`,
    'compact=1',
    `numwant=${r.numWant}`,
    `key=${key}`,
  ];
  if (r.event !== 'periodic') params.push(`event=${r.event}`);
  if (trackerId) params.push(`trackerid=${percentEncode(trackerId)}`);
  return base + (base.includes('?') ? '&' : '?') + params.join('&');
}

export class HttpTracker {
  /** Ends each request in flight. */
  private readonly inFlight = new Set<() => void>();
  private closed = false;
  /** The last `tracker id` this tracker sent; a reply without one keeps it. */
  private trackerId: Uint8Array | undefined;

  constructor(
    readonly url: string,
    private readonly key: string,
    private readonly options: HttpTrackerOptions = {},
  ) {}

  announce(r: AnnounceRequest): Promise<AnnounceResult> {
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let req: ClientRequest | undefined;
      const done = (result: AnnounceResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(abort);
        req?.destroy();
        resolve(result);
      };
      const abort = () => done({ ok: false, error: `tracker ${this.url}: cancelled` });
      // Every callback below is guarded: whatever throws becomes this request's error result.
      const guard =
        <A extends unknown[]>(fn: (...args: A) => void) =>
        (...args: A) => {
          try {
            fn(...args);
          } catch (err) {
            done({ ok: false, error: `tracker ${this.url}: ${describeError(err)}` });
          }
        };
      if (this.closed) return abort();
      let url: URL;
      try {
        url = new URL(announceUrl(this.url, r, this.key, this.trackerId));
      } catch (err) {
        return done({ ok: false, error: `bad tracker URL ${this.url}: ${describeError(err)}` });
      }
      const timeout = this.options.timeout ?? 15_000;
      const maxBody = this.options.maxBody ?? 1 << 20;
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      guard(() => {
        req = send(
          url,
          { method: 'GET', headers: { 'user-agent': 'swarmlab', connection: 'close' } },
          guard((res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on(
              'data',
              guard((c: Buffer) => {
                size += c.length;
                if (size > maxBody) return done({ ok: false, error: `tracker reply is larger than ${maxBody} bytes` });
                chunks.push(c);
              }),
            );
            res.on('error', (err) => done({ ok: false, error: `tracker ${this.url}: ${err.message}` }));
            res.on(
              'end',
              guard(() => {
                const body = new Uint8Array(Buffer.concat(chunks));
                const status = res.statusCode ?? 0;
                const parsed = parseAnnounceReply(body);
                // A tracker may send a failure reason with a non-200 status; prefer its words.
                if (status !== 200 && parsed.ok) return done({ ok: false, error: `tracker ${this.url}: HTTP ${status}` });
                if (status !== 200 && !parsed.ok && !parsed.error.startsWith('tracker failure')) {
                  return done({ ok: false, error: `tracker ${this.url}: HTTP ${status}` });
                }
                if (parsed.ok && parsed.trackerId) this.trackerId = parsed.trackerId;
                done(parsed);
              }),
            );
          }),
        );
        req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: `tracker ${this.url}: ${err.code ?? ''} ${err.message}`.trim() }));
        timer = setTimeout(() => done({ ok: false, error: `tracker ${this.url}: no reply within ${timeout} ms` }), timeout);
        this.inFlight.add(abort);
        req.end();
      })();
    });
  }

  /** Ends every request in flight (each resolves as cancelled) and refuses new ones: the session is over. */
  close(): void {
    this.closed = true;
    for (const abort of [...this.inFlight]) abort();
  }
}
