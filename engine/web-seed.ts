// One web seed (BEP 19): a URL that acts as a permanently unchoked seed. A sans-IO state machine
// over the WebSeedPort: it takes one contiguous run of blocks at a time from the Piece Manager
// (a whole piece when it can), asks for it as one HTTP range per file (BEP 19's URL layout,
// engine/web-seed-layout.ts), and hands the blocks to the client like any peer's, so they are
// SHA1-checked and charged to it by the Trust Manager.
//
// States: active (requests flow, at most `webSeedPipeline` in flight), backoff (after a failure:
// an HTTP error, a time-out, a wrong length or a piece that failed its check; it waits
// `webSeedRetryDelay · 2^(failures-1)`), retired (after `webSeedMaxFailures` failures in a row, or
// when the Trust Manager bans it: never asked again), and stopped (the client is paused or gone).
// A failure gives back every block it had, so peers can take them.

import { Bitfield } from './bitfield.ts';
import { assertCounterEquals } from './counters.ts';
import type { BlockRef, BlockResult, PieceManager } from './piece-manager.ts';
import { PeerKey } from './peer-key.ts';
import type { Clock, TimerHandle, WebSeedPort, WebSeedResult } from './ports.ts';
import type { EngineSettings } from './settings.ts';
import { type WebSeedSegment, type WebSeedTorrent, webSeedSegments } from './web-seed-layout.ts';

export type WebSeedState = 'active' | 'backoff' | 'retired' | 'stopped';

/** What a web seed needs of its client (engine/client.ts). */
export interface WebSeedOwner {
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly pieces: PieceManager<PeerKey>;
  /** A block it fetched was handed to the Piece Manager: the client does with it what it does with a peer's. */
  blockFetched(seed: WebSeed, result: BlockResult<PeerKey>): void;
  /** A trace event about this web seed (`remote` is its URL). */
  traceWebSeed(seed: WebSeed, fields: Record<string, unknown>): void;
}

/** A run of blocks being fetched, and the bytes that arrived so far. */
interface Job {
  /** The run's blocks still wanted from us (a block another peer delivered first is dropped). */
  blocks: BlockRef[];
  /** `begin` of the run's first block: where `buffer` starts in its piece. */
  start: number;
  buffer: Uint8Array;
  segmentsLeft: number;
}

interface Request {
  job: Job;
  segment: WebSeedSegment;
  handle?: { cancel(): void };
  timer?: TimerHandle;
}

export class WebSeed {
  readonly key: PeerKey;
  /** A web seed has every piece. */
  private readonly allPieces: Bitfield;
  private state: WebSeedState = 'stopped';
  private failures = 0;
  private retryTimer: TimerHandle | undefined;
  private readonly jobs = new Set<Job>();
  private readonly inFlight = new Set<Request>();
  /** Segments of the newest job not asked for yet (a job is taken only when this is empty). */
  private queue: { job: Job; segment: WebSeedSegment }[] = [];
  /** Bytes received from this web seed, in blocks handed on. */
  downloaded = 0;

  constructor(
    private readonly owner: WebSeedOwner,
    private readonly port: WebSeedPort,
    readonly url: string,
    private readonly torrent: WebSeedTorrent,
    serial: number,
  ) {
    // Its own ban key: trust and bans of a URL never touch a peer's IP.
    this.key = new PeerKey(url, `webseed ${url}`, serial);
    this.allPieces = Bitfield.full(owner.pieces.layout.pieceCount);
  }

  get status(): WebSeedState {
    return this.state;
  }

  get failuresInARow(): number {
    return this.failures;
  }

  /** Requests in flight, for tests and reports. */
  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'active';
    this.pump();
  }

  /** Stops asking (pause, leave, crash): what is in flight is cancelled and given back. */
  stop(): void {
    if (this.state === 'retired') return;
    this.state = 'stopped';
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.abandonAll();
  }

  /** Never asked again (the Trust Manager banned it, or too many failures). */
  retire(reason: string): void {
    if (this.state === 'retired') return;
    this.state = 'retired';
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.abandonAll();
    this.owner.traceWebSeed(this, { state: 'retired', reason });
  }

  /**
   * Another peer delivered `block` first (endgame): it is no longer requested from us. The HTTP
   * request goes on (it cannot be cut to fewer bytes); the block is dropped when it arrives.
   */
  blockTaken(block: BlockRef): void {
    for (const job of this.jobs) {
      const at = job.blocks.findIndex((b) => b.index === block.index && b.begin === block.begin);
      if (at >= 0) job.blocks.splice(at, 1);
    }
  }

  /** A piece it contributed to passed its check: the failure count starts over. */
  pieceVerified(): void {
    this.failures = 0;
  }

  /** A piece it contributed to failed its SHA1 check. */
  pieceFailed(index: number): void {
    this.fail(`piece ${index} failed its SHA1 check`);
  }

  /** Asks for more while there is room in the pipeline and something to fetch. */
  pump(): void {
    while (this.state === 'active' && this.inFlight.size < this.owner.settings.webSeedPipeline) {
      if (this.queue.length === 0 && !this.takeJob()) return;
      const next = this.queue.shift()!;
      this.send(next.job, next.segment);
    }
  }

  /** The blocks requested from it, checked against the Piece Manager's recount (engine/counters.ts). */
  recountCounters(requestedFromIt: number): void {
    let blocks = 0;
    for (const job of this.jobs) blocks += job.blocks.length;
    assertCounterEquals(`blocks requested from web seed ${this.url}`, blocks, requestedFromIt);
  }

  private takeJob(): boolean {
    const blocks = this.owner.pieces.grabRun(this.key, this.allPieces, this.owner.clock.now());
    if (blocks.length === 0) return false;
    const first = blocks[0];
    const last = blocks[blocks.length - 1];
    const offset = first.index * this.owner.pieces.layout.pieceLength + first.begin;
    const length = last.begin + last.length - first.begin;
    const segments = webSeedSegments(this.url, this.torrent, offset, length);
    const job: Job = { blocks, start: first.begin, buffer: new Uint8Array(length), segmentsLeft: segments.length };
    this.jobs.add(job);
    this.queue = segments.map((segment) => ({ job, segment }));
    return true;
  }

  private send(job: Job, segment: WebSeedSegment): void {
    const request: Request = { job, segment };
    this.inFlight.add(request);
    const { settings, clock } = this.owner;
    request.timer = clock.setTimer(settings.webSeedTimeout, () => {
      request.timer = undefined;
      request.handle?.cancel();
      this.fail(`no answer within ${settings.webSeedTimeout} ms for ${segment.url} bytes ${segment.rangeStart}-${segment.rangeEnd}`);
    });
    request.handle = this.port.get(segment.url, segment.rangeStart, segment.rangeEnd, (result) => this.answered(request, result));
  }

  private answered(request: Request, result: WebSeedResult): void {
    // A request cancelled (by a failure, a stop) may still answer from a port that cannot take it back.
    if (!this.inFlight.delete(request)) return;
    request.timer?.cancel();
    const { job, segment } = request;
    const expected = segment.rangeEnd - segment.rangeStart + 1;
    if (!result.ok) return this.fail(`${segment.url}: ${result.error}`);
    if (result.body.length !== expected) return this.fail(`${segment.url}: ${result.body.length} bytes for a range of ${expected}`);
    job.buffer.set(result.body, segment.at);
    if (--job.segmentsLeft === 0) this.deliver(job);
    this.pump();
  }

  /** Every segment arrived: its blocks go to the Piece Manager, as a peer's PIECEs do. */
  private deliver(job: Job): void {
    this.jobs.delete(job);
    for (const b of job.blocks) {
      const data = job.buffer.subarray(b.begin - job.start, b.begin - job.start + b.length);
      const result = this.owner.pieces.blockReceived(this.key, b.index, b.begin, data);
      if (result.status === 'stored') this.downloaded += b.length;
      this.owner.blockFetched(this, result);
    }
  }

  private fail(error: string): void {
    if (this.state !== 'active') return;
    this.failures++;
    this.abandonAll();
    const max = this.owner.settings.webSeedMaxFailures;
    if (this.failures >= max) {
      this.retire(`${this.failures} failures in a row (webSeedMaxFailures ${max}), the last: ${error}`);
      return;
    }
    const retryIn = this.owner.settings.webSeedRetryDelay * 2 ** (this.failures - 1);
    this.state = 'backoff';
    this.owner.traceWebSeed(this, { state: 'failed', error, failures: this.failures, retryIn });
    this.retryTimer = this.owner.clock.setTimer(retryIn, () => {
      this.retryTimer = undefined;
      if (this.state !== 'backoff') return;
      this.state = 'active';
      this.pump();
    });
  }

  /** Cancels every request and gives every block back to the Piece Manager. */
  private abandonAll(): void {
    // Cleared first: a port that answers a cancelled request anyway is then ignored (`answered`).
    const cancelled = [...this.inFlight];
    this.inFlight.clear();
    for (const request of cancelled) {
      request.timer?.cancel();
      request.handle?.cancel();
    }
    this.queue = [];
    for (const job of this.jobs) this.owner.pieces.giveBack(this.key, job.blocks);
    this.jobs.clear();
  }
}
