// The tracker client: announces started, periodic, completed and stopped, and honours the
// tracker's interval. The transport (simulated, HTTP or UDP) sits behind the TrackerPort.

import type { AnnounceEvent, AnnouncePeer, AnnounceRequest, Clock, TimerHandle, TrackerPort } from './ports.ts';

export interface TrackerClientOptions {
  port: TrackerPort;
  clock: Clock;
  /** Fills in the changing fields of each request. */
  request: (event: AnnounceEvent) => AnnounceRequest;
  onPeers: (peers: AnnouncePeer[]) => void;
  onResult?: (event: AnnounceEvent, result: { ok: boolean; peers?: number; interval?: number; error?: string }) => void;
  /** First retry after a failed announce (ms); doubles up to the interval. */
  retryDelay?: number;
}

const DEFAULT_INTERVAL = 1_800_000;

export class TrackerClient {
  private timer: TimerHandle | undefined;
  private interval = DEFAULT_INTERVAL;
  private failures = 0;
  private stopped = false;

  constructor(private readonly o: TrackerClientOptions) {}

  start(): void {
    this.announce('started');
  }

  completed(): void {
    if (!this.stopped) this.announce('completed');
  }

  /** Asks for more peers now (for example when we have too few connections). */
  refresh(): void {
    if (!this.stopped) this.announce('periodic');
  }

  /** Stops without a word to the tracker (the process died). */
  abandon(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.o.port.announce(this.o.request('stopped'), () => {});
    this.o.onResult?.('stopped', { ok: true });
  }

  private announce(event: AnnounceEvent): void {
    this.timer?.cancel();
    this.o.port.announce(this.o.request(event), (result) => {
      if (this.stopped) return;
      if (result.ok) {
        this.failures = 0;
        // A tracker that asks for an absurd interval is held to sane bounds.
        this.interval = Math.min(Math.max(result.interval * 1000, 1_000), 24 * 3_600_000);
        this.o.onResult?.(event, { ok: true, peers: result.peers.length, interval: this.interval });
        this.o.onPeers(result.peers);
        this.schedule(this.interval);
      } else {
        this.failures++;
        this.o.onResult?.(event, { ok: false, error: result.error });
        const retry = Math.min((this.o.retryDelay ?? 15_000) * 2 ** (this.failures - 1), this.interval);
        // A failed 'started' or 'completed' is sent again as the same event.
        this.timer = this.o.clock.setTimer(retry, () => this.announce(event === 'periodic' ? 'periodic' : event));
      }
    });
  }

  private schedule(delay: number): void {
    this.timer = this.o.clock.setTimer(delay, () => this.announce('periodic'));
  }
}
