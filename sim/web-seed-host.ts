// The simulator's web seeds (BEP 19): HTTP servers modelled as hosts with an upload rate and a
// latency, behind the engine's WebSeedPort. Requests to one host are served one after another at
// its rate (a FIFO uplink), each answer arriving one latency after its last byte left; the
// downloader's own downlink is not modelled (a web seed's uplink is the bottleneck scenarios
// study). Faults: `down` answers HTTP 503, `corrupt` flips a byte of every body; both are layered
// like the network's faults, so overlapping ones heal in any order. Virtual time only.

import type { Torrent } from '../engine/metainfo.ts';
import type { WebSeedPort, WebSeedResult } from '../engine/ports.ts';
import { webSeedFileUrl } from '../engine/web-seed-layout.ts';
import type { Scheduler } from './scheduler.ts';

export interface WebSeedHostSpec {
  /** Bytes per second (Infinity: unlimited). */
  upload: number;
  /** One-way latency (ms): an answer arrives this long after its last byte is sent. */
  latency: number;
}

export type WebSeedFault = 'down' | 'corrupt';

/** The URL of the simulator's `index`-th web seed (a folder: BEP 19 appends the torrent's name). */
export function simWebSeedUrl(index: number): string {
  return `http://webseed${index}.sim/`;
}

export class SimWebSeedHost {
  /** When its uplink is free again (virtual ms). */
  private busyUntil = 0;
  private readonly faults = new Map<number, WebSeedFault>();
  private nextFault = 0;
  /** Bytes it has sent, for reports and tests. */
  sent = 0;

  constructor(
    readonly url: string,
    private readonly spec: WebSeedHostSpec,
  ) {}

  /** Starts a fault; the handle ends it (and only it). */
  fault(kind: WebSeedFault): number {
    const handle = this.nextFault++;
    this.faults.set(handle, kind);
    return handle;
  }

  heal(handle: number): void {
    this.faults.delete(handle);
  }

  private has(kind: WebSeedFault): boolean {
    for (const f of this.faults.values()) if (f === kind) return true;
    return false;
  }

  /** Serves `body` (a view of the payload): when it arrives, and what arrives. */
  serve(now: number, body: Uint8Array): { delay: number; result: WebSeedResult } {
    if (this.has('down')) return { delay: this.spec.latency * 2, result: { ok: false, error: 'HTTP 503 Service Unavailable' } };
    const start = Math.max(now, this.busyUntil);
    const sending = Number.isFinite(this.spec.upload) ? (body.length * 1000) / this.spec.upload : 0;
    this.busyUntil = start + sending;
    this.sent += body.length;
    let out = body;
    if (this.has('corrupt') && body.length > 0) {
      out = body.slice();
      out[0] ^= 0xff;
    }
    return { delay: this.busyUntil - now + this.spec.latency * 2, result: { ok: true, body: out } };
  }
}

/** Every web seed of a run, as one WebSeedPort shared by the swarm's clients. */
export class SimWebSeeds implements WebSeedPort {
  readonly hosts: SimWebSeedHost[];
  /** Each file's URL on each host: the host and where the file starts in the payload. */
  private readonly files = new Map<string, { host: SimWebSeedHost; offset: number; length: number }>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly payload: Uint8Array,
    torrent: Torrent,
    specs: readonly WebSeedHostSpec[],
  ) {
    this.hosts = specs.map((spec, i) => new SimWebSeedHost(simWebSeedUrl(i), spec));
    for (const host of this.hosts) {
      for (const file of torrent.files) this.files.set(webSeedFileUrl(host.url, torrent, file), { host, offset: file.offset, length: file.length });
    }
  }

  get(url: string, rangeStart: number, rangeEnd: number, done: (result: WebSeedResult) => void): { cancel(): void } {
    const file = this.files.get(url);
    let answer: { delay: number; result: WebSeedResult };
    if (!file) answer = { delay: 0, result: { ok: false, error: `HTTP 404 Not Found: ${url}` } };
    else if (rangeStart > rangeEnd || rangeEnd >= file.length) answer = { delay: 0, result: { ok: false, error: `HTTP 416 Range Not Satisfiable: bytes ${rangeStart}-${rangeEnd} of ${file.length}` } };
    else answer = file.host.serve(this.scheduler.now(), this.payload.subarray(file.offset + rangeStart, file.offset + rangeEnd + 1));
    const timer = this.scheduler.setTimer(answer.delay, () => done(answer.result));
    return { cancel: () => timer.cancel() };
  }
}
