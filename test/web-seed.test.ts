// Web seeds (BEP 19) in the engine, against a fake WebSeedPort on the simulator's clock: BEP 19's
// URL layout, a good web seed alone (single- and multi-file), bad bytes (SHA1 fails → backed off,
// then retired by trust), HTTP errors and silence (backoff doubling, then retired), the pipeline
// bound, and a web seed beside a peer.

import { describe, expect, it } from 'vitest';
import bencode from 'bencode';
import { createTorrent, parseTorrent } from '../engine/metainfo.ts';
import type { WebSeedPort, WebSeedResult } from '../engine/ports.ts';
import { defaultSettings } from '../engine/settings.ts';
import { webSeedFileUrl, webSeedSegments } from '../engine/web-seed-layout.ts';
import { Bench, PIECE_LENGTH, PIECES } from './helpers/puppet.ts';

const URL_BASE = 'http://ws.example/';

type Behaviour = 'good' | 'corrupt' | 'error' | 'silent';

/** A fake web seed: serves the Bench's files by their BEP 19 URLs, 10 ms after each request. */
class FakeWebSeed implements WebSeedPort {
  behaviour: Behaviour = 'good';
  readonly requests: { url: string; start: number; end: number; at: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  bench!: Bench;

  get(url: string, rangeStart: number, rangeEnd: number, done: (result: WebSeedResult) => void): { cancel(): void } {
    const b = this.bench;
    this.requests.push({ url, start: rangeStart, end: rangeEnd, at: b.scheduler.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let answered = false;
    const finish = () => {
      if (answered) return;
      answered = true;
      this.inFlight--;
    };
    const file = b.torrent.files.find((f) => webSeedFileUrl(URL_BASE, b.torrent, f) === url);
    if (this.behaviour === 'silent') return { cancel: finish };
    const timer = b.scheduler.setTimer(10, () => {
      finish();
      if (this.behaviour === 'error') return done({ ok: false, error: 'HTTP 503 Service Unavailable' });
      if (!file) return done({ ok: false, error: `HTTP 404 for ${url}` });
      const body = b.payload.slice(file.offset + rangeStart, file.offset + rangeEnd + 1);
      if (this.behaviour === 'corrupt') body[0] ^= 0xff;
      done({ ok: true, body });
    });
    return {
      cancel: () => {
        timer.cancel();
        finish();
      },
    };
  }
}

function benchWith(seed: FakeWebSeed, o: { multiFile?: boolean; settings?: Partial<typeof defaultSettings> } = {}): Bench {
  // The Bench starts its client at once: the port must know the Bench before its first request.
  let bench: Bench | undefined;
  const port: WebSeedPort = {
    get: (...args) => {
      seed.bench = bench!;
      return seed.get(...args);
    },
  };
  const queued: (() => void)[] = [];
  const lazy: WebSeedPort = {
    get: (url, s, e, done) => {
      if (bench) return port.get(url, s, e, done);
      let handle: { cancel(): void } | undefined;
      let cancelled = false;
      queued.push(() => {
        if (!cancelled) handle = port.get(url, s, e, done);
      });
      return { cancel: () => ((cancelled = true), handle?.cancel()) };
    },
  };
  bench = new Bench({ urlList: [URL_BASE], webSeeds: lazy, multiFile: o.multiFile, settings: o.settings });
  seed.bench = bench;
  for (const q of queued) q();
  return bench;
}

const webSeedEvents = (b: Bench) => b.events.filter((e) => e.kind === 'webseed');

describe('url-list in the metainfo', () => {
  const withUrlList = (value: unknown) => {
    const { bytes } = createTorrent({ name: 'f', pieceLength: 16384, files: new Uint8Array(100) });
    const metainfo = bencode.decode(bytes) as Record<string, unknown>;
    return parseTorrent(bencode.encode({ ...metainfo, 'url-list': value }));
  };

  it('takes one URL or a list; createTorrent writes it', () => {
    expect(withUrlList('http://a/').urlList).toEqual(['http://a/']);
    expect(withUrlList(['http://a/', 'http://b/f']).urlList).toEqual(['http://a/', 'http://b/f']);
    expect(createTorrent({ name: 'f', pieceLength: 16384, files: new Uint8Array(10), urlList: ['http://c/'] }).torrent.urlList).toEqual(['http://c/']);
  });

  it('is lenient, as libtorrent: entries of another type and empty ones skipped, a wrong type ignored', () => {
    const mixed = withUrlList(['http://a/', 5, '', ['x']]);
    expect(mixed.urlList).toEqual(['http://a/']);
    expect(mixed.warnings.length).toBeGreaterThan(0);
    for (const wrong of [42, { a: 1 }]) {
      const t = withUrlList(wrong);
      expect(t.urlList).toEqual([]);
      expect(t.warnings.some((w) => w.includes('url-list'))).toBe(true);
    }
  });
});

describe('BEP 19 URL layout', () => {
  const single = { name: 'my file.iso', multiFile: false, files: [{ path: ['my file.iso'], length: 100, offset: 0 }] };
  const multi = {
    name: 'album',
    multiFile: true,
    files: [
      { path: ['cd 1', 'a.flac'], length: 10, offset: 0 },
      { path: ['empty'], length: 0, offset: 10 },
      { path: ['b#.flac'], length: 30, offset: 10 },
    ],
  };

  it('single file: a folder URL gets the name, any other URL is the file', () => {
    expect(webSeedFileUrl('http://h/pub/', single, single.files[0])).toBe('http://h/pub/my%20file.iso');
    expect(webSeedFileUrl('http://h/pub/other.iso', single, single.files[0])).toBe('http://h/pub/other.iso');
  });

  it('multi-file: url/name/path, a missing slash added, each component percent-encoded', () => {
    expect(webSeedFileUrl('http://h/pub/', multi, multi.files[0])).toBe('http://h/pub/album/cd%201/a.flac');
    expect(webSeedFileUrl('http://h/pub', multi, multi.files[2])).toBe('http://h/pub/album/b%23.flac');
  });

  it('a range across files splits into one inclusive range per file, empty files skipped', () => {
    expect(webSeedSegments('http://h/', multi, 5, 20)).toEqual([
      { url: 'http://h/album/cd%201/a.flac', rangeStart: 5, rangeEnd: 9, at: 0 },
      { url: 'http://h/album/b%23.flac', rangeStart: 0, rangeEnd: 14, at: 5 },
    ]);
    expect(webSeedSegments('http://h/', multi, 10, 30)).toEqual([{ url: 'http://h/album/b%23.flac', rangeStart: 0, rangeEnd: 29, at: 0 }]);
  });
});

describe('the engine with a web seed', () => {
  it('downloads the whole torrent from a web seed alone, whole pieces, SHA1-checked', () => {
    const seed = new FakeWebSeed();
    const b = benchWith(seed);
    b.run(5_000);
    expect(b.client.complete).toBe(true);
    expect(b.events.filter((e) => e.kind === 'verified')).toHaveLength(PIECES);
    // One request a piece: a whole piece's range each.
    expect(seed.requests.map((r) => [r.start, r.end]).sort((x, y) => x[0] - y[0])).toEqual(
      Array.from({ length: PIECES }, (_, i) => [i * PIECE_LENGTH, (i + 1) * PIECE_LENGTH - 1]),
    );
    expect(seed.maxInFlight).toBeLessThanOrEqual(defaultSettings.webSeedPipeline);
    expect(b.client.webSeeds()[0].status).toBe('active');
  });

  it('never has more requests in flight than webSeedPipeline', () => {
    const seed = new FakeWebSeed();
    const b = benchWith(seed, { settings: { webSeedPipeline: 2 } });
    b.run(5_000);
    expect(b.client.complete).toBe(true);
    expect(seed.maxInFlight).toBe(2);
  });

  it('multi-file: pieces are fetched as one range per file, by url/name/path', () => {
    const seed = new FakeWebSeed();
    const b = benchWith(seed, { multiFile: true });
    b.run(5_000);
    expect(b.client.complete).toBe(true);
    expect(b.storage.read(0, b.payload.length)).toEqual(b.payload);
    const urls = new Set(seed.requests.map((r) => r.url));
    expect(urls).toEqual(new Set([`${URL_BASE}bench.bin/a/one`, `${URL_BASE}bench.bin/b%20two`]));
    // The piece that spans the cut is asked of both files.
    expect(seed.requests.length).toBe(PIECES + 1);
  });

  it('bad bytes: each piece fails its SHA1 check; backed off, then retired (banned by trust), and never asked again', () => {
    const seed = new FakeWebSeed();
    seed.behaviour = 'corrupt';
    const b = benchWith(seed);
    b.run(10 * 60_000);
    expect(b.client.complete).toBe(false);
    expect(b.events.filter((e) => e.kind === 'hashfail').length).toBeGreaterThanOrEqual(2);
    const events = webSeedEvents(b);
    expect(events[0]).toMatchObject({ remote: URL_BASE, state: 'failed', retryIn: defaultSettings.webSeedRetryDelay });
    expect(events.at(-1)).toMatchObject({ remote: URL_BASE, state: 'retired' });
    expect(String(events.at(-1)!.reason)).toMatch(/banned: sent corrupt data|failures in a row/);
    expect(b.client.webSeeds()[0].status).toBe('retired');
    const asked = seed.requests.length;
    b.run(10 * 60_000);
    expect(seed.requests.length).toBe(asked);
    // What it had in flight was given back: a peer may fetch it.
    expect(b.client.pieces.inFlight().flatMap((p) => p.requesters)).toEqual([]);
  });

  it('HTTP errors: retried after webSeedRetryDelay, doubling, then retired after webSeedMaxFailures', () => {
    const seed = new FakeWebSeed();
    seed.behaviour = 'error';
    const b = benchWith(seed);
    b.run(10 * 60_000);
    const events = webSeedEvents(b);
    const retry = defaultSettings.webSeedRetryDelay;
    expect(events.map((e) => e.state)).toEqual(['failed', 'failed', 'retired']);
    expect(events.map((e) => e.retryIn)).toEqual([retry, 2 * retry, undefined]);
    expect(String(events[0].error)).toContain('HTTP 503');
    expect(String(events[2].reason)).toContain(`${defaultSettings.webSeedMaxFailures} failures in a row`);
    // Each attempt after its backoff, none in between (the first requests go out at once, together).
    const attempts = [...new Set(seed.requests.map((r) => r.at))];
    expect(attempts).toEqual([0, 10 + retry, 10 + retry + 10 + 2 * retry]);
  });

  it('a web seed that never answers fails after webSeedTimeout, its requests cancelled', () => {
    const seed = new FakeWebSeed();
    seed.behaviour = 'silent';
    const b = benchWith(seed, { settings: { webSeedTimeout: 5_000 } });
    b.run(5_001);
    expect(webSeedEvents(b)[0]).toMatchObject({ state: 'failed', failures: 1 });
    expect(String(webSeedEvents(b)[0].error)).toContain('no answer within 5000 ms');
    expect(seed.inFlight).toBe(0);
  });

  it('recovers after a failure: a later good answer completes the torrent and resets the count', () => {
    const seed = new FakeWebSeed();
    seed.behaviour = 'error';
    const b = benchWith(seed);
    b.run(100);
    seed.behaviour = 'good';
    b.run(defaultSettings.webSeedRetryDelay + 5_000);
    expect(b.client.complete).toBe(true);
    expect(b.client.webSeeds()[0].failuresInARow).toBe(0);
  });

  it('beside a peer: the web seed takes pieces the peer does not fetch, and the torrent completes', () => {
    const seed = new FakeWebSeed();
    seed.behaviour = 'silent';
    const b = benchWith(seed, { settings: { webSeedTimeout: 1_000, webSeedMaxFailures: 1 } });
    b.run(1_001); // retired: its blocks given back
    expect(b.client.webSeeds()[0].status).toBe('retired');
    const p = b.listeningPuppet();
    b.run();
    p.handshake().bitfield([0, 1, 2, 3]).send({ type: 'unchoke' });
    b.run();
    for (const r of p.requests()) p.send({ type: 'piece', index: r.index, begin: r.begin, block: b.block(r.index, r.begin, r.length) });
    b.run();
    expect(b.client.complete).toBe(true);
  });

  it('url-list without a WebSeedPort, or maxWebSeeds 0: no web seed', () => {
    const b = new Bench({ urlList: [URL_BASE] });
    expect(b.client.webSeeds()).toEqual([]);
    const seed = new FakeWebSeed();
    expect(benchWith(seed, { settings: { maxWebSeeds: 0 } }).client.webSeeds()).toEqual([]);
  });
});
