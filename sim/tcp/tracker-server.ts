// The loopback tracker of TCP runs: a real HTTP (BEP 3, compact replies of BEP 23, scrape) and UDP
// (BEP 15) tracker on one IP and port, with the simulated tracker's logic: the swarm bookkeeping and
// the seeded sample of peers are sim/tracker-swarm.ts, as in sim/tracker.ts, and its faults are the
// same three fields (`failure`, `empty`, `delay`).
//
// It knows who announces by the URL's path (`/announce/<label>`, HTTP) or by the source IP (UDP),
// ignores the ip and port a request claims, and hands out the other members' addresses as
// `addressOf` gives them (the relay's public addresses in a run). Every request is checked; a bad
// one gets a failure reason saying what is wrong, never a crash; memory is bounded by the limits
// below.

import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bencodeValue, type BInput } from '../../engine/bdecode.ts';
import { toHex } from '../../engine/bytes.ts';
import { encodeCompactAddresses, isIpv4 } from '../../engine/compact-address.ts';
import type { PeerAddress } from '../../engine/ports.ts';
import type { SeededRandom } from '../random.ts';
import { type SwarmReply, TrackerSwarm } from '../tracker-swarm.ts';

/** The loopback tracker's bounds. Not engine settings: they bound a server, not a client. */
export const LOOPBACK_TRACKER_LIMITS = {
  /** Torrents tracked at once; a run moves one, so a few more are only a test's. */
  maxTorrents: 16,
  /** Members per torrent, past which the first to join is forgotten: more than a run's 250 × 255 hosts. */
  maxPeersPerTorrent: 65_536,
  /** Peers a reply holds at most, whatever numwant asks (opentracker's cap is 200 too). */
  maxNumWant: 200,
  /** Peers a reply holds when the request names no numwant (BEP 15's -1, libtorrent's default ask). */
  defaultNumWant: 50,
  /** A UDP connection id is accepted this long after the connect (ms): BEP 15's "up to two minutes". */
  udpConnectionLifetime: 120_000,
  /** Live UDP connection ids at once; past it the oldest is forgotten (its owner connects again). */
  maxUdpConnections: 4_096,
  /** Replies waiting out `delay` at once; a request past it is dropped (the client retries). */
  maxDelayedReplies: 4_096,
  /** HTTP connections open at once. */
  maxHttpConnections: 1_024,
  /** Bytes of an HTTP request's line and headers (node's option; the rest is refused with 431). */
  maxHeaderBytes: 8_192,
  /** An HTTP request must arrive whole within this (ms). */
  httpRequestTimeout: 10_000,
  /** Info-hashes one scrape may ask (BEP 15 fits 74 in a datagram). */
  maxScrapeHashes: 74,
  /** A label in a URL path, in characters. */
  maxLabelLength: 64,
} as const satisfies Record<string, number>;

const L = LOOPBACK_TRACKER_LIMITS;

export interface LoopbackTrackerOptions {
  /** 127.B.0.1 */
  ip: string;
  /** Default 6969, for HTTP and UDP alike; 0 picks a free one. */
  port?: number;
  /** The `tracker` stream: the sample of peers handed out. */
  random: SeededRandom;
  /** ms; replies say whole seconds. */
  announceInterval: number;
  /** Reply delay, ms. */
  delay: number;
  /** label → the address handed out to the others; undefined: an unknown announcer, refused. */
  addressOf: (label: string) => PeerAddress | undefined;
  /** UDP announces: who is this source IP. */
  labelOfIp: (ip: string) => string | undefined;
  log?: (line: string) => void;
  /** Wall-clock ms, for UDP connection ids' lifetime (default Date.now; a test's clock). */
  now?: () => number;
}

const UDP_PROTOCOL_ID = 0x41727101980n;
const UDP_ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const UDP_EVENTS = ['periodic', 'completed', 'started', 'stopped'] as const;
type AnnounceEvent = (typeof UDP_EVENTS)[number];
const HTTP_EVENTS: Record<string, AnnounceEvent> = { '': 'periodic', started: 'started', completed: 'completed', stopped: 'stopped' };

/** What an announce asks, checked, whichever protocol carried it. */
interface Announce {
  label: string;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  left: number;
  event: AnnounceEvent;
  numWant: number;
}

type Outcome = { ok: true; interval: number; reply: SwarmReply } | { ok: false; reason: string };

/** A request that cannot be answered: its failure reason. */
class BadRequest extends Error {}

export class LoopbackTracker {
  /** While set, every announce fails with this reason (a tracker outage). */
  failure: string | undefined;
  /** While true, announces succeed with no peers. */
  empty = false;
  /** Reply delay, ms. */
  delay: number;
  announces = 0;

  private readonly swarms = new Map<string, TrackerSwarm>();
  /** Live UDP connection ids (hex) → the IP they were given to and when they expire; in expiry order. */
  private readonly udpConnections = new Map<string, { ip: string; expires: number }>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly o: LoopbackTrackerOptions,
    private readonly http: Server,
    private readonly udp: Socket,
    readonly port: number,
  ) {
    this.delay = o.delay;
    http.on('request', (req, res) => this.onHttp(req, res));
    http.on('clientError', (_err, socket) => socket.destroy());
    udp.on('message', (msg, rinfo) => this.guard(`UDP from ${rinfo.address}`, () => this.onUdp(msg, rinfo)));
    // Errors after binding (ICMP unreachable and the like) must not end the process.
    udp.on('error', (err) => o.log?.(`tracker: UDP socket: ${err.message}`));
    http.on('error', (err) => o.log?.(`tracker: HTTP server: ${err.message}`));
  }

  /** Binds HTTP (TCP) and UDP on `ip:port`; rejects (EADDRINUSE, say) when either cannot be bound. */
  static async create(o: LoopbackTrackerOptions): Promise<LoopbackTracker> {
    const http = createServer({ maxHeaderSize: L.maxHeaderBytes, requestTimeout: L.httpRequestTimeout, headersTimeout: L.httpRequestTimeout });
    http.maxConnections = L.maxHttpConnections;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(o.port ?? 6969, o.ip, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const port = (http.address() as { port: number }).port;
    const udp = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, o.ip, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => http.close(() => r()));
      udp.close();
      throw err;
    }
    return new LoopbackTracker(o, http, udp, port);
  }

  urlFor(label: string, protocol: 'http' | 'udp' = 'http'): string {
    return protocol === 'http' ? `http://${this.o.ip}:${this.port}/announce/${encodeURIComponent(label)}` : `udp://${this.o.ip}:${this.port}/announce`;
  }

  /** Members of the torrent's swarm (0 for a torrent never announced). */
  sizeOf(infoHashHex: string): number {
    return this.swarms.get(infoHashHex.toLowerCase())?.size ?? 0;
  }

  /** Closes both sockets and every HTTP connection; replies waiting out their delay are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    const httpClosed = new Promise<void>((r) => this.http.close(() => r()));
    this.http.closeAllConnections();
    const udpClosed = new Promise<void>((r) => this.udp.close(() => r()));
    await Promise.all([httpClosed, udpClosed]);
  }

  // ---- the tracker's logic, for both protocols ----

  private answer(a: Announce): Outcome {
    this.announces++;
    if (this.failure !== undefined) return { ok: false, reason: this.failure };
    const address = this.o.addressOf(a.label);
    if (!address) return { ok: false, reason: `unknown announcer "${a.label}": this tracker serves only the run's hosts` };
    const key = toHex(a.infoHash);
    let swarm = this.swarms.get(key);
    if (!swarm) {
      if (this.swarms.size >= L.maxTorrents) return { ok: false, reason: `this tracker tracks at most ${L.maxTorrents} torrents` };
      swarm = new TrackerSwarm(this.o.random, L.maxPeersPerTorrent);
      this.swarms.set(key, swarm);
    }
    const interval = Math.max(1, Math.round(this.o.announceInterval / 1_000));
    if (a.event === 'stopped') {
      swarm.leave(a.label);
      return { ok: true, interval, reply: { peers: [], ...swarm.counts() } };
    }
    const reply = swarm.announce(a.label, { address, peerId: a.peerId, left: a.left }, { numWant: a.numWant, empty: this.empty });
    return { ok: true, interval, reply };
  }

  private scrape(infoHashes: Uint8Array[]): { complete: number; incomplete: number }[] {
    return infoHashes.map((h) => this.swarms.get(toHex(h))?.counts() ?? { complete: 0, incomplete: 0 });
  }

  /** Runs `send` after the tracker's delay (at once when 0), unless the tracker has closed meanwhile. */
  private later(send: () => void): void {
    if (this.delay <= 0) return send();
    if (this.delayed.size >= L.maxDelayedReplies) return;
    const t = setTimeout(() => {
      this.delayed.delete(t);
      if (!this.closed) this.guard('a delayed reply', send);
    }, this.delay);
    this.delayed.add(t);
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.o.log?.(`tracker: internal error handling ${what}: ${(err as Error).message}`);
    }
  }

  // ---- HTTP ----

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const send = (value: BInput) => {
      const body = bencodeValue(value);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, connection: 'close' });
      res.end(body);
    };
    const fail = (reason: string) => {
      this.o.log?.(`tracker: refused ${req.socket.remoteAddress} ${String(req.url).slice(0, 200)}: ${reason}`);
      send({ 'failure reason': reason });
    };
    try {
      if (req.method !== 'GET') throw new BadRequest(`${req.method} is not an announce: use GET`);
      const raw = req.url ?? '';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      const params = parseQuery(q < 0 ? '' : raw.slice(q + 1));
      const m = /^\/(announce|scrape)\/([^/]+)$/.exec(path);
      if (!m) throw new BadRequest(`no such path ${JSON.stringify(path.slice(0, 100))}: announce to /announce/<label>`);
      const label = decodeLabel(m[2]);
      if (m[1] === 'scrape') {
        const hashes = (params.get('info_hash') ?? []).map((h) => checkLength(h, 20, 'info_hash'));
        if (hashes.length > L.maxScrapeHashes) throw new BadRequest(`a scrape asks at most ${L.maxScrapeHashes} info_hash values, got ${hashes.length}`);
        const counts = this.scrape(hashes);
        const files: Record<string, BInput> = {};
        // Keys are raw bytes: bencodeValue writes a key's characters as latin-1 bytes.
        hashes.forEach((h, i) => (files[String.fromCharCode(...h)] = { complete: counts[i].complete, downloaded: 0, incomplete: counts[i].incomplete }));
        return send({ files });
      }
      const announce = readHttpAnnounce(label, params);
      const outcome = this.answer(announce);
      this.later(() => {
        if (!outcome.ok) return fail(outcome.reason);
        const { reply } = outcome;
        send({ interval: outcome.interval, complete: reply.complete, incomplete: reply.incomplete, peers: compactPeers(reply.peers) });
      });
    } catch (err) {
      if (err instanceof BadRequest) return fail(err.message);
      this.o.log?.(`tracker: internal error handling ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) fail('internal error');
    }
  }

  // ---- UDP (BEP 15) ----

  private onUdp(msg: Buffer, rinfo: RemoteInfo): void {
    // Too short to carry an action and a transaction id: nothing to answer.
    if (msg.length < 16) return;
    const action = msg.readUInt32BE(8);
    const tid = msg.readUInt32BE(12);
    const reply = (b: Buffer) => this.udp.send(b, rinfo.port, rinfo.address);
    const error = (reason: string) => {
      this.o.log?.(`tracker: refused UDP from ${rinfo.address}: ${reason}`);
      const b = Buffer.alloc(8 + Buffer.byteLength(reason));
      b.writeUInt32BE(UDP_ACTION.error, 0);
      b.writeUInt32BE(tid, 4);
      b.write(reason, 8);
      reply(b);
    };
    if (action === UDP_ACTION.connect) {
      if (msg.readBigUInt64BE(0) !== UDP_PROTOCOL_ID) return error('a connect must carry the protocol id 0x41727101980');
      const id = this.newConnectionId(rinfo.address);
      const b = Buffer.alloc(16);
      b.writeUInt32BE(UDP_ACTION.connect, 0);
      b.writeUInt32BE(tid, 4);
      id.copy(b, 8);
      return reply(b);
    }
    if (action !== UDP_ACTION.announce && action !== UDP_ACTION.scrape) return error(`unknown action ${action}`);
    const conn = this.udpConnections.get(msg.subarray(0, 8).toString('hex'));
    if (!conn || conn.expires < this.now() || conn.ip !== rinfo.address) return error('unknown or expired connection id: connect first');
    if (action === UDP_ACTION.scrape) {
      const n = Math.floor((msg.length - 16) / 20);
      if (n > L.maxScrapeHashes) return error(`a scrape asks at most ${L.maxScrapeHashes} info-hashes`);
      const hashes = Array.from({ length: n }, (_, i) => new Uint8Array(msg.subarray(16 + 20 * i, 36 + 20 * i)));
      const b = Buffer.alloc(8 + 12 * n);
      b.writeUInt32BE(UDP_ACTION.scrape, 0);
      b.writeUInt32BE(tid, 4);
      this.scrape(hashes).forEach((c, i) => {
        b.writeUInt32BE(c.complete, 8 + 12 * i);
        b.writeUInt32BE(0, 12 + 12 * i);
        b.writeUInt32BE(c.incomplete, 16 + 12 * i);
      });
      return reply(b);
    }
    if (msg.length < 98) return error(`an announce is at least 98 bytes, got ${msg.length}`);
    const label = this.o.labelOfIp(rinfo.address);
    if (label === undefined) return error(`unknown announcer ${rinfo.address}: this tracker serves only the run's hosts`);
    const eventCode = msg.readUInt32BE(80);
    if (eventCode >= UDP_EVENTS.length) return error(`unknown event ${eventCode}`);
    const numWant = msg.readInt32BE(92);
    const left = msg.readBigUInt64BE(64);
    const outcome = this.answer({
      label,
      infoHash: new Uint8Array(msg.subarray(16, 36)),
      peerId: new Uint8Array(msg.subarray(36, 56)),
      left: left > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(left),
      event: UDP_EVENTS[eventCode],
      numWant: numWant < 0 ? L.defaultNumWant : Math.min(numWant, L.maxNumWant),
    });
    this.later(() => {
      if (!outcome.ok) return error(outcome.reason);
      const peers = compactPeers(outcome.reply.peers);
      const b = Buffer.alloc(20 + peers.length);
      b.writeUInt32BE(UDP_ACTION.announce, 0);
      b.writeUInt32BE(tid, 4);
      b.writeUInt32BE(outcome.interval, 8);
      b.writeUInt32BE(outcome.reply.incomplete, 12);
      b.writeUInt32BE(outcome.reply.complete, 16);
      b.set(peers, 20);
      reply(b);
    });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private newConnectionId(ip: string): Buffer {
    const now = this.now();
    // In expiry order (one lifetime for all): drop the expired from the front, then the oldest past the cap.
    for (const [k, c] of this.udpConnections) {
      if (c.expires >= now && this.udpConnections.size < L.maxUdpConnections) break;
      this.udpConnections.delete(k);
    }
    const id = randomBytes(8);
    this.udpConnections.set(id.toString('hex'), { ip, expires: now + L.udpConnectionLifetime });
    return id;
  }
}

// ---- request parsing ----

/** A query string's parameters as raw bytes (percent-decoded, `+` as a space), every value kept in order. */
function parseQuery(query: string): Map<string, Uint8Array[]> {
  const params = new Map<string, Uint8Array[]>();
  if (query === '') return params;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = new TextDecoder().decode(percentDecode(eq < 0 ? part : part.slice(0, eq), 'a parameter name'));
    const value = percentDecode(eq < 0 ? '' : part.slice(eq + 1), name);
    const list = params.get(name) ?? [];
    list.push(value);
    params.set(name, list);
  }
  return params;
}

function percentDecode(s: string, what: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new BadRequest(`${what}: bad percent escape at "${s.slice(i, i + 3)}"`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (c === 0x2b) {
      out.push(0x20);
    } else if (c < 0x80) {
      out.push(c);
    } else {
      throw new BadRequest(`${what}: a raw non-ASCII character in the query`);
    }
  }
  return Uint8Array.from(out);
}

function decodeLabel(raw: string): string {
  let label: string;
  try {
    label = decodeURIComponent(raw);
  } catch {
    throw new BadRequest(`the label in the path is not valid percent-encoding`);
  }
  if (label.length === 0 || label.length > L.maxLabelLength) throw new BadRequest(`a label is 1 to ${L.maxLabelLength} characters`);
  return label;
}

function checkLength(value: Uint8Array, length: number, name: string): Uint8Array {
  if (value.length !== length) throw new BadRequest(`${name} must be ${length} bytes, got ${value.length}`);
  return value;
}

function last(params: Map<string, Uint8Array[]>, name: string): string | undefined {
  const values = params.get(name);
  return values ? new TextDecoder().decode(values[values.length - 1]) : undefined;
}

function integer(params: Map<string, Uint8Array[]>, name: string, required: boolean): number | undefined {
  const text = last(params, name);
  if (text === undefined) {
    if (required) throw new BadRequest(`${name} is missing`);
    return undefined;
  }
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new BadRequest(`${name} must be a non-negative integer, got ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

function readHttpAnnounce(label: string, params: Map<string, Uint8Array[]>): Announce {
  const hash = params.get('info_hash');
  if (!hash) throw new BadRequest('info_hash is missing');
  const id = params.get('peer_id');
  if (!id) throw new BadRequest('peer_id is missing');
  const eventText = last(params, 'event') ?? '';
  const event = HTTP_EVENTS[eventText];
  if (event === undefined) throw new BadRequest(`event must be started, completed, stopped or empty, got ${JSON.stringify(eventText.slice(0, 40))}`);
  // The port is checked, though the address handed out is the label's, not the one claimed.
  const port = integer(params, 'port', true)!;
  if (port < 1 || port > 0xffff) throw new BadRequest(`port must be 1 to 65535, got ${port}`);
  const numWant = integer(params, 'numwant', false);
  return {
    label,
    infoHash: checkLength(hash[hash.length - 1], 20, 'info_hash'),
    peerId: checkLength(id[id.length - 1], 20, 'peer_id'),
    left: integer(params, 'left', true)!,
    event,
    numWant: numWant === undefined ? L.defaultNumWant : Math.min(numWant, L.maxNumWant),
  };
}

/** BEP 23: 4 bytes of IPv4 and 2 of port per peer; an address that is not IPv4 is left out. */
function compactPeers(peers: readonly PeerAddress[]): Uint8Array {
  return encodeCompactAddresses(peers.filter((p) => isIpv4(p.host)), 4);
}
