// The tracker client: announces started, periodic, completed and stopped, and honours the
// tracker's interval and `min interval`, within bounds of our own: the interval is never shorter
// than `minAnnounceInterval` (a tracker answering `interval 1` is not hammered), a reply without
// one gets `trackerDefaultInterval` (libtorrent: 1800 s), retries after errors back off, and
// nothing but started/completed/stopped comes sooner than the tracker's `min interval` after the
// previous announce. `stopped` goes only to a tracker that answered `started` (libtorrent too:
// a tracker that never knew of us has nothing to forget). The transport (simulated, HTTP or UDP)
// sits behind the TrackerPort.

import type { AnnounceEvent, AnnouncePeer, AnnounceRequest, Clock, TimerHandle, TrackerPort } from './ports.ts';
import { defaultSettings } from './settings.ts';

export interface TrackerClientOptions {
  port: TrackerPort;
  clock: Clock;
  /** Fills in the changing fields of each request. */
  request: (event: AnnounceEvent) => AnnounceRequest;
  onPeers: (peers: AnnouncePeer[]) => void;
  onResult?: (event: AnnounceEvent, result: { ok: boolean; peers?: number; interval?: number; error?: string; warning?: string }) => void;
  /** First retry after a failed announce (ms); doubles up to the interval. */
  retryDelay?: number;
  /** Floor on the tracker's interval (ms; default `defaultSettings.minAnnounceInterval`). */
  minInterval?: number;
  /** The interval when a reply has none (ms; default `defaultSettings.trackerDefaultInterval`). */
  defaultInterval?: number;
}

/** A tracker that asks for more than a day is announced to daily (ms). */
const MAX_INTERVAL = 24 * 3_600_000;
/** Whatever the settings say, never more than one periodic announce a second (ms). */
const ABSOLUTE_FLOOR = 1_000;

export class TrackerClient {
  private timer: TimerHandle | undefined;
  /** When the pending timer fires (ms), if one is pending. */
  private timerAt: number | undefined;
  private interval: number;
  /** The tracker's `min interval` (ms), 0 until it sends one. */
  private trackerMinInterval = 0;
  private lastSentAt: number | undefined;
  private inFlight = 0;
  private failures = 0;
  private stopped = false;
  /** Whether `started` was answered: only then is `stopped` sent. */
  private reached = false;
  /** Bumped by each start: a reply to an announce of an earlier session (before a pause) is ignored. */
  private session = 0;
  private readonly floor: number;
  private readonly defaultInterval: number;

  constructor(private readonly o: TrackerClientOptions) {
    this.floor = Math.max(o.minInterval ?? defaultSettings.minAnnounceInterval, ABSOLUTE_FLOOR);
    this.defaultInterval = o.defaultInterval ?? defaultSettings.trackerDefaultInterval;
    this.interval = this.defaultInterval;
  }

  /** Announces `started`; after `stop()` (a paused torrent resumes) it starts a new session. */
  start(): void {
    this.stopped = false;
    this.failures = 0;
    this.session++;
    this.announce('started');
  }

  completed(): void {
    if (!this.stopped) this.announce('completed');
  }

  /**
   * Asks for more peers now (for example when we have too few connections): at once if the
   * tracker's `min interval` has passed since the last announce and none is in flight, else as
   * soon as it has.
   */
  refresh(): void {
    if (this.stopped || this.inFlight > 0) return;
    const earliest = this.earliestPeriodic();
    const now = this.o.clock.now();
    if (earliest <= now) this.announce('periodic');
    else if (this.timerAt === undefined || this.timerAt > earliest) this.schedule(earliest - now, 'periodic');
  }

  /** Stops without a word to the tracker (the process died). */
  abandon(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    if (!this.reached) {
      this.o.onResult?.('stopped', { ok: false, error: 'not sent: the tracker never answered started' });
      return;
    }
    this.o.port.announce(this.o.request('stopped'), () => {});
    this.o.onResult?.('stopped', { ok: true });
  }

  /** The next announce the timer will send, in ms from now (undefined when none is pending). */
  get nextAnnounceIn(): number | undefined {
    return this.timerAt === undefined ? undefined : this.timerAt - this.o.clock.now();
  }

  private earliestPeriodic(): number {
    return this.lastSentAt === undefined ? 0 : this.lastSentAt + this.trackerMinInterval;
  }

  private announce(event: AnnounceEvent): void {
    this.cancelTimer();
    this.lastSentAt = this.o.clock.now();
    this.inFlight++;
    const session = this.session;
    this.o.port.announce(this.o.request(event), (result) => {
      this.inFlight--;
      if (this.stopped || session !== this.session) return;
      if (result.ok) {
        this.failures = 0;
        // A failed 'started' is retried as 'started', so the first success answers it.
        this.reached = true;
        const min = Number.isFinite(result.minInterval) ? (result.minInterval ?? 0) * 1000 : 0;
        this.trackerMinInterval = Math.min(Math.max(min, 0), MAX_INTERVAL);
        // The tracker's interval, no shorter than its own `min interval` nor our floor.
        const asked = result.interval !== undefined && Number.isFinite(result.interval) ? result.interval * 1000 : this.defaultInterval;
        this.interval = Math.min(Math.max(asked, this.trackerMinInterval, this.floor), MAX_INTERVAL);
        this.o.onResult?.(event, { ok: true, peers: result.peers.length, interval: this.interval, ...(result.warning !== undefined ? { warning: result.warning } : {}) });
        this.o.onPeers(result.peers);
        if (!this.stopped) this.schedule(this.interval, 'periodic');
      } else {
        this.failures++;
        this.o.onResult?.(event, { ok: false, error: result.error });
        // Backs off from retryDelay up to the interval (itself at least the floor), and never
        // sooner than the tracker's `min interval` allows.
        const backoff = Math.min((this.o.retryDelay ?? 15_000) * 2 ** Math.min(this.failures - 1, 30), this.interval);
        const retry = Math.max(backoff, this.earliestPeriodic() - this.o.clock.now(), ABSOLUTE_FLOOR);
        // A failed 'started' or 'completed' is sent again as the same event.
        this.schedule(retry, event);
      }
    });
  }

  private schedule(delay: number, event: AnnounceEvent): void {
    this.cancelTimer();
    this.timerAt = this.o.clock.now() + delay;
    this.timer = this.o.clock.setTimer(delay, () => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.announce(event);
    });
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = undefined;
  }
}
