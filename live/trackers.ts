// The engine's TrackerPort over real trackers: BEP 12 tiers of HTTP (BEP 3) and UDP (BEP 15)
// trackers. Each tier is shuffled once; trackers of a tier are tried in order and the one that
// answers moves to the front of its tier; a tier that fails hands over to the next, and so does a
// tracker still silent after `handoverDelay` (it goes on; the first answer wins). `stopped`
// goes to every tracker that answered us before, and to no other (a tracker that never knew of
// us has nothing to forget). Every failure and every `warning message` is logged; the engine's
// tracker client retries. Nothing here throws. `close()` ends every announce in flight, for a
// quick exit.

import { randomInt } from 'node:crypto';
import type { AnnounceRequest, AnnounceResult, TrackerPort } from '../engine/ports.ts';
import { HttpTracker, type HttpTrackerOptions } from './http-tracker.ts';
import { UdpTracker, type UdpTrackerOptions } from './udp-tracker.ts';

interface OneTracker {
  url: string;
  announce(r: AnnounceRequest): Promise<AnnounceResult>;
  close(): void;
}

export interface TrackersOptions {
  http?: HttpTrackerOptions;
  udp?: UdpTrackerOptions;
  /** Told of every tracker that failed (and why) and every one that answered. */
  log?: (line: string) => void;
  /** How long one tracker may take before the next is asked too (ms, default 15 s: BEP 15's first wait). */
  handoverDelay?: number;
  /** The interval reported when there is no tracker at all (s, as AnnounceResult gives it; default 3600). */
  idleIntervalSeconds?: number;
}

/** BEP 15's first wait (ms): a tracker that has not answered by then is left running while the next is asked. */
export const TRACKER_HANDOVER = 15_000;

export class Trackers implements TrackerPort {
  private readonly tiers: OneTracker[][];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly log: (line: string) => void;
  private closed = false;
  /** The trackers that answered an announce: the ones `stopped` goes to. */
  private readonly answered = new Set<OneTracker>();

  constructor(tiers: readonly (readonly string[])[], private readonly options: TrackersOptions = {}) {
    this.log = options.log ?? (() => {});
    const key = randomInt(0, 2 ** 31);
    const seen = new Set<string>();
    this.tiers = [];
    for (const tier of tiers) {
      const made: OneTracker[] = [];
      for (const url of tier) {
        if (seen.has(url)) continue;
        seen.add(url);
        const t = makeTracker(url, key, options, this.log);
        if (t) made.push(t);
      }
      shuffle(made);
      if (made.length > 0) this.tiers.push(made);
    }
  }

  get count(): number {
    return this.tiers.reduce((n, t) => n + t.length, 0);
  }

  announce(request: AnnounceRequest, done: (result: AnnounceResult) => void): void {
    const work = this.announceTiers(request)
      .catch((err: unknown): AnnounceResult => ({ ok: false, error: `tracker: ${(err as Error)?.message ?? String(err)}` }))
      .then((result) => {
        try {
          done(result);
        } catch (err) {
          this.log(`tracker: the engine failed on a reply: ${(err as Error)?.message}`);
        }
      });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Resolves when every announce in flight finished, or after `timeout` ms. */
  async settle(timeout: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Ends every announce still in flight (each gets an error result) and refuses new ones: what a
   * stopping session calls after `settle`, so that a tracker that never answers cannot hold the
   * process open.
   */
  close(): void {
    this.closed = true;
    for (const tier of this.tiers) for (const t of tier) t.close();
  }

  private async announceTiers(request: AnnounceRequest): Promise<AnnounceResult> {
    if (this.closed) return { ok: false, error: 'tracker: the session is closed' };
    if (this.tiers.length === 0) return { ok: true, interval: this.options.idleIntervalSeconds ?? 3600, peers: [] };
    if (request.event === 'stopped') return this.announceStopped(request);
    // Trackers are asked in tier order, one at a time; one that has not settled after
    // `handoverDelay` (BEP 15's first wait) is left to go on while the next is asked, so a UDP
    // tracker on its BEP 15 schedule (up to ~2 h of retries) never holds the rest back. The first
    // success wins.
    const order = this.tiers.flatMap((tier) => tier.map((t) => ({ tier, t })));
    const handover = this.options.handoverDelay ?? TRACKER_HANDOVER;
    const errors: string[] = [];
    return new Promise<AnnounceResult>((resolve) => {
      let next = 0;
      let pending = 0;
      let settled = false;
      const finish = (result: AnnounceResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const askNext = (): void => {
        if (settled) return;
        if (next >= order.length) {
          if (pending === 0) finish({ ok: false, error: errors.join('; ') });
          return;
        }
        const { tier, t } = order[next++];
        pending++;
        let handedOver = false;
        const timer = setTimeout(() => {
          handedOver = true;
          askNext();
        }, handover);
        timer.unref();
        void t.announce(request).then((result) => {
          pending--;
          clearTimeout(timer);
          if (this.closed) return finish({ ok: false, error: 'tracker: the session is closed' });
          if (result.ok) {
            this.answered.add(t);
            if (settled) return;
            // BEP 12: the tracker that answered moves to the front of its tier.
            tier.splice(tier.indexOf(t), 1);
            tier.unshift(t);
            this.logAnswer(t, request, result);
            return finish(result);
          }
          this.log(`tracker ${t.url}: ${result.error}`);
          errors.push(result.error);
          if (!handedOver) askNext();
          else if (pending === 0 && next >= order.length) finish({ ok: false, error: errors.join('; ') });
        });
      };
      askNext();
    });
  }

  /** `stopped` to every tracker that answered before, at once (tier order in the log). */
  private async announceStopped(request: AnnounceRequest): Promise<AnnounceResult> {
    const targets = this.tiers.flat().filter((t) => this.answered.has(t));
    if (targets.length === 0) return { ok: false, error: 'tracker: no tracker answered us, stopped not sent' };
    const results = await Promise.all(targets.map((t) => t.announce(request)));
    const errors: string[] = [];
    results.forEach((result, i) => {
      if (result.ok) this.logAnswer(targets[i], request, result);
      else {
        this.log(`tracker ${targets[i].url}: ${result.error}`);
        errors.push(result.error);
      }
    });
    return results.find((r) => r.ok) ?? { ok: false, error: errors.join('; ') };
  }

  private logAnswer(t: OneTracker, request: AnnounceRequest, result: AnnounceResult & { ok: true }): void {
    const interval = result.interval === undefined ? 'no interval (the default applies)' : `interval ${result.interval} s`;
    this.log(`tracker ${t.url}: ${request.event}, ${result.peers.length} peers, ${interval}`);
    if (result.warning !== undefined) this.log(`tracker ${t.url}: warning: ${result.warning}`);
  }
}

function makeTracker(url: string, key: number, o: TrackersOptions, log: (l: string) => void): OneTracker | undefined {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      const t = new HttpTracker(url, key.toString(16), o.http);
      return { url, announce: (r) => t.announce(r), close: () => t.close() };
    }
    if (u.protocol === 'udp:') {
      const t = new UdpTracker(url, key, o.udp);
      return { url, announce: (r) => t.announce(r), close: () => t.close() };
    }
    log(`tracker ${url}: unsupported protocol ${u.protocol}, skipped`);
  } catch (err) {
    log(`tracker ${url}: ${(err as Error).message}, skipped`);
  }
  return undefined;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}
