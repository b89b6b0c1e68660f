// The wire checker: one connection's two byte streams in, protocol violations out. Sans-IO and
// independent of any engine state — it learns everything from the bytes each side sent and from
// how much of each stream the other side has been handed. The in-memory network feeds it through
// its write and delivery taps (sim/wire-checks.ts), the TCP relay through its `RelayTap`.
//
// Each side's stream is decoded from its handshake with engine/wire.ts's WireDecoder. The stream
// is cut at message boundaries before it is pushed (`feed`), so that every message of a chunk is
// checked even when a later one does not decode, and the bytes of the offending message are known.
// What one side may do depends on what the other side said *and the sender had received*: a
// REQUEST is judged against the last CHOKE/UNCHOKE delivered to its sender, which is why the
// checker is told of deliveries (`delivered`), not only of writes.

import { parseExtHandshake } from '../engine/metadata.ts';
import { pieceSize } from '../engine/piece-shape.ts';
import { supportsExtensionProtocol, supportsFast } from '../engine/reserved-bits.ts';
import { bytesEqual, toHex } from '../engine/bytes.ts';
import { DEFAULT_MAX_MESSAGE_LENGTH, encodeMessage, HANDSHAKE_LENGTH, type Message, WireDecoder } from '../engine/wire.ts';

/** Every rule the checker judges, with what it means. The trace's check is `wire:<rule>`. */
export const WIRE_RULES = {
  'request-while-choked': 'a REQUEST sent while the other side chokes the sender — as the last CHOKE/UNCHOKE delivered to the sender says, `chokeGrace` ms after a CHOKE allowed — for a piece the other side did not allow fast (BEP 6)',
  'unrequested-piece': 'a PIECE for a block the other side never requested (a cancelled request may still be answered; one a CHOKE discarded, within `chokeGrace` of the CHOKE reaching the requester)',
  'piece-length': 'a PIECE for a requested (index, begin) with a length other than the one requested',
  'late-bitfield': 'a BITFIELD, HAVE ALL or HAVE NONE after any message other than BEP 10 extended and PORT',
  'malformed-bitfield': 'a BITFIELD of the wrong size for the torrent, or with spare bits set (BEP 3)',
  'have-out-of-range': 'a HAVE (or BEP 6 SUGGEST or ALLOWED FAST) naming a piece past the last one',
  'request-out-of-range': 'a REQUEST past the last piece, past the end of its piece, of length 0 or longer than 128 KiB (what libtorrent refuses)',
  'too-many-requests': "more outstanding requests than the other side's BEP 10 handshake allowed (`reqq`): requested minus answered by PIECE or REJECT, minus cancelled; without BEP 6 a CHOKE clears them",
  'bad-data': 'a PIECE whose block differs from the payload',
  'unnegotiated-message': 'a BEP 6 (Fast) or BEP 10 (extension protocol) message on a connection whose two handshakes did not both offer that extension',
  malformed: 'bytes that do not decode as the peer wire protocol (or a BEP 10 handshake that is not a bencoded dictionary); after framing breaks, that direction is not checked further',
  'bad-handshake': 'a handshake with another protocol string or another info-hash; that direction is not checked further',
} as const satisfies Record<string, string>;

export type WireRule = keyof typeof WIRE_RULES;
export const WIRE_RULE_NAMES = Object.keys(WIRE_RULES) as WireRule[];

/** The limits that keep one connection's checker bounded, each with its reason. */
export const WIRE_CHECKER_LIMITS = {
  /** Longest REQUEST a peer may make: libtorrent refuses longer ones. */
  maxRequestLength: 128 * 1024,
  /** Requests tracked per direction: twice libtorrent's largest default `reqq` (2000). Past it, old answered-or-cancelled ones are forgotten first; a direction with more open ones is no longer judged for unrequested pieces. */
  maxTrackedRequests: 4096,
  /** BEP 6 allowed-fast pieces remembered per direction (libtorrent allows 10 by default); past it, every piece counts as allowed. */
  maxAllowedFast: 256,
  /** CHOKE/UNCHOKE messages sent but not yet delivered, per direction; past it the oldest is taken as delivered. */
  maxPendingChokes: 64,
  /** Violations reported per connection (all are counted: `WireCheckerOptions.counted`). */
  maxReportsPerConnection: 20,
  /** Bytes of the offending message shown in a violation. */
  bytesShown: 64,
} as const;

export interface WireViolation {
  /** ms since the run started. */
  t: number;
  /** The offender's label (A0, L3, …). */
  peer: string;
  /** The other end's label. */
  remote: string;
  rule: WireRule;
  /** What is wrong: "REQUEST 3:16384+16384 while L3 chokes it (choked 1.2 s ago)". */
  message: string;
  /** Hex of the offending message, at most 64 bytes shown. */
  bytes: string;
}

export interface WireCheckerOptions {
  torrent: { pieceCount: number; pieceLength: number; length: number; infoHash: Uint8Array };
  /** The torrent's bytes, to check blocks byte by byte. */
  payload?: Uint8Array;
  /** ms a REQUEST may follow a CHOKE's delivery (a socket not yet read): 0 in memory, ~1000 on TCP. */
  chokeGrace: number;
  /** Told of every violation, reported or not (the report stops at `maxReportsPerConnection`). */
  counted?: (peer: string, rule: WireRule) => void;
  /** Told of every message a side sent, decoded, before it is checked (a TCP run traces other clients' messages). */
  decoded?: (peer: string, remote: string, message: Message, t: number) => void;
}

export type Side = 'a' | 'b';

/**
 * One block's requests, seen from both ends. The requester counts the block as outstanding
 * (`counted`) until it is answered, cancelled, or a CHOKE reaches it (no BEP 6). The answerer
 * holds the copies that reached it (`live`; `pending` are still on their way — the requester may
 * ask again after a CHOKE, and the earlier copy may still arrive and be served): each PIECE or
 * REJECT uses one. Its own CHOKE discards the live copies, and so does a copy reaching it while it
 * chokes (`discardedAt`: answering within `chokeGrace` of that is tolerated).
 */
interface TrackedRequest {
  length: number;
  counted: boolean;
  pending: number;
  live: number;
  /** NaN while nothing was discarded. */
  discardedAt: number;
}

/** What one side sends, and what the checker knows of the other side's view of it. */
class Direction {
  decoder: WireDecoder | undefined;
  /** Bytes of this stream seen so far (`sent`). */
  sentBytes = 0;
  // Framing: bytes left of the handshake or of the current message's body; the length prefix read so far.
  need = HANDSHAKE_LENGTH;
  prefix = 0;
  prefixBytes = 0;
  messageLength = 0;
  inHandshake = true;
  /** The head of a message cut by a chunk end, kept only while the decoder may still refuse it. */
  readonly head = new Uint8Array(HANDSHAKE_LENGTH);
  headLength = 0;
  /** Where the current message starts in the stream. */
  messageStart = 0;

  handshake: { fast: boolean; extensions: boolean } | undefined;
  stopped = false;
  /** Nothing but BEP 10 extended, PORT and keep-alives sent yet: a BITFIELD may still come. */
  bitfieldAllowed = true;
  /** The `reqq` this side's BEP 10 handshake allows the other side. */
  reqq: number | undefined;
  readonly allowedFast = new Set<number>();
  allowedFastOverflow = false;

  /** CHOKE/UNCHOKE this side sent, by the stream offset where each ends, not yet delivered. */
  pendingChokes: { end: number; choke: boolean }[] = [];
  /** Bytes of this stream the other side has been handed. */
  deliveredBytes = 0;
  /** Whether this side chokes the other, as the other has been told; since when. */
  chokingAsDelivered = true;
  chokeDeliveredAt = -Infinity;

  /** Requests this side sent, by the block's byte offset in the torrent. */
  readonly requests = new Map<number, TrackedRequest>();
  /** Those not yet delivered to the other side, in stream order (from `inFlightHead`). */
  inFlight: TrackedRequest[] = [];
  /** Where each of them ends in this stream (a parallel array: one object fewer per request). */
  inFlightEnds: number[] = [];
  inFlightHead = 0;
  /** Requests this side counts as outstanding. */
  openRequests = 0;
  /** Whether this side chokes the other, as it last sent. */
  chokingAsSent = true;
  /** Some request was not tracked (over the bound): PIECEs to this side can no longer be judged. */
  untracked = false;
  overReqq = false;

  constructor(
    readonly label: string,
    readonly remote: string,
    maxMessageLength: number,
  ) {
    this.decoder = new WireDecoder({ maxMessageLength });
  }
}

export class ConnectionChecker {
  /** Violations found on this connection, reported or not. */
  violationCount = 0;
  private readonly sides: Record<Side, Direction>;
  private reports = 0;
  private readonly maxMessageLength: number;
  private readonly bitfieldLength: number;

  constructor(
    private readonly o: WireCheckerOptions,
    a: string,
    b: string,
    private readonly report: (v: WireViolation) => void,
  ) {
    this.bitfieldLength = Math.ceil(o.torrent.pieceCount / 8);
    // The engine's default bound, or a whole bitfield of a torrent with more pieces.
    this.maxMessageLength = Math.max(DEFAULT_MAX_MESSAGE_LENGTH, this.bitfieldLength + 1);
    this.sides = { a: new Direction(a, b, this.maxMessageLength), b: new Direction(b, a, this.maxMessageLength) };
  }

  /** `side` wrote `bytes` on the connection at time `t`. */
  sent(side: Side, bytes: Uint8Array, t: number): void {
    const d = this.sides[side];
    if (d.stopped || bytes.length === 0) return;
    this.feed(d, side, bytes, t);
  }

  /** `to` has been handed `total` bytes of the other side's stream so far (before it reads them). */
  delivered(to: Side, total: number, t: number): void {
    const d = this.sides[to === 'a' ? 'b' : 'a'];
    d.deliveredBytes = total;
    this.requestsDelivered(d, this.sides[to], t);
    while (d.pendingChokes.length > 0 && d.pendingChokes[0].end <= total) this.chokeDelivered(d, this.sides[to], d.pendingChokes.shift()!.choke, t);
  }

  // --- framing ------------------------------------------------------------------------------

  /** Cuts the chunk at message boundaries and pushes each piece to the decoder. */
  private feed(d: Direction, side: Side, chunk: Uint8Array, t: number): void {
    const n = chunk.length;
    let start = 0;
    let pos = 0;
    while (pos < n) {
      if (d.need > 0) {
        const k = Math.min(d.need, n - pos);
        pos += k;
        d.need -= k;
        d.sentBytes += k;
        if (d.need > 0) break;
        d.inHandshake = false;
        if (!this.push(d, side, start === 0 && pos === n ? chunk : chunk.subarray(start, pos), t, true)) return;
        start = pos;
        continue;
      }
      // A length prefix, byte by byte (it may be cut anywhere).
      d.prefix = d.prefix * 256 + chunk[pos++];
      d.sentBytes++;
      if (++d.prefixBytes < 4) continue;
      d.messageLength = d.need = d.prefix;
      d.prefix = d.prefixBytes = 0;
      if (d.need === 0 || d.need > this.maxMessageLength) {
        // A keep-alive is whole; a length past the bound is refused by the decoder at once.
        if (!this.push(d, side, chunk.subarray(start, pos), t, true)) return;
        start = pos;
      }
    }
    if (start < n) {
      const rest = start === 0 ? chunk : chunk.subarray(start, n);
      if (this.push(d, side, rest, t, false)) this.keepHead(d, rest);
    }
  }

  /**
   * A message cut by the chunk's end: its first bytes are kept while the decoder may still refuse
   * it (a message is judged on its first 5 bytes, a handshake on its first 20), so that a
   * violation can show them.
   */
  private keepHead(d: Direction, part: Uint8Array): void {
    const seen = d.inHandshake ? HANDSHAKE_LENGTH - d.need : d.prefixBytes > 0 || d.need === 0 ? d.prefixBytes : 4 + d.messageLength - d.need;
    if (seen >= (d.inHandshake ? 20 : 5)) return;
    const room = Math.min(part.length, d.head.length - d.headLength);
    d.head.set(part.subarray(0, room), d.headLength);
    d.headLength += room;
  }

  /** Pushes one piece of the stream (`complete`: it ends a message); false when the direction stopped. */
  private push(d: Direction, side: Side, piece: Uint8Array, t: number, complete: boolean): boolean {
    let items;
    try {
      items = d.decoder!.push(piece);
    } catch (error) {
      const shown = new Uint8Array(Math.min(WIRE_CHECKER_LIMITS.bytesShown, d.headLength + piece.length));
      shown.set(d.head.subarray(0, Math.min(d.headLength, shown.length)));
      if (d.headLength < shown.length) shown.set(piece.subarray(0, shown.length - d.headLength), d.headLength);
      const rule = d.handshake === undefined ? 'bad-handshake' : 'malformed';
      this.violation(d, rule, `${(error as Error).message} (at byte ${d.messageStart} of its stream); not checked further`, toHex(shown), t);
      this.stop(d);
      return false;
    }
    if (complete) {
      d.headLength = 0;
      d.messageStart = d.sentBytes;
    }
    for (const item of items) {
      if (item.kind === 'handshake') this.onHandshake(d, item.handshake, t);
      else {
        this.o.decoded?.(d.label, d.remote, item.message, t);
        this.onMessage(d, side, item.message, t);
      }
      if (d.stopped) return false;
    }
    return true;
  }

  private stop(d: Direction): void {
    d.stopped = true;
    d.decoder = undefined;
    d.requests.clear();
    d.inFlight = [];
    d.inFlightEnds = [];
    d.pendingChokes = [];
  }

  // --- the rules ------------------------------------------------------------------------------

  private onHandshake(d: Direction, h: { infoHash: Uint8Array; reserved: Uint8Array }, t: number): void {
    if (!bytesEqual(h.infoHash, this.o.torrent.infoHash)) {
      this.violation(d, 'bad-handshake', `handshake for info-hash ${toHex(h.infoHash)}, not the torrent's ${toHex(this.o.torrent.infoHash)}; not checked further`, toHex(h.infoHash), t);
      this.stop(d);
      return;
    }
    d.handshake = { fast: supportsFast(h.reserved), extensions: supportsExtensionProtocol(h.reserved) };
  }

  private onMessage(d: Direction, side: Side, m: Message, t: number): void {
    const other = this.sides[side === 'a' ? 'b' : 'a'];
    const torrent = this.o.torrent;
    switch (m.type) {
      case 'keep-alive':
        return;
      case 'port':
        return;
      case 'extended':
        if (!this.negotiated(d, other, 'extensions')) return this.unnegotiated(d, m, 'BEP 10', t);
        if (m.id === 0) this.onExtHandshake(d, m, t);
        return;
      case 'bitfield':
      case 'have-all':
      case 'have-none': {
        if (m.type !== 'bitfield' && !this.negotiated(d, other, 'fast')) this.unnegotiated(d, m, 'BEP 6', t);
        if (!d.bitfieldAllowed) this.violation(d, 'late-bitfield', `${name(m)} after other messages (BEP 3: only right after the handshake)`, m, t);
        d.bitfieldAllowed = false;
        if (m.type === 'bitfield') this.checkBitfield(d, m.bits, m, t);
        return;
      }
    }
    d.bitfieldAllowed = false;
    switch (m.type) {
      case 'choke':
      case 'unchoke':
        d.chokingAsSent = m.type === 'choke';
        if (m.type === 'choke' && !this.negotiated(d, other, 'fast')) {
          // Without BEP 6 a CHOKE discards every request that has reached the choker (BEP 3).
          for (const r of other.requests.values()) {
            if (r.live === 0) continue;
            r.live = 0;
            r.discardedAt = t;
          }
        }
        d.pendingChokes.push({ end: d.sentBytes, choke: m.type === 'choke' });
        // Past the bound, the oldest is taken as delivered now; so are any the other side already has.
        if (d.pendingChokes.length > WIRE_CHECKER_LIMITS.maxPendingChokes) this.chokeDelivered(d, other, d.pendingChokes.shift()!.choke, t);
        while (d.pendingChokes.length > 0 && d.pendingChokes[0].end <= d.deliveredBytes) this.chokeDelivered(d, other, d.pendingChokes.shift()!.choke, t);
        return;
      case 'interested':
      case 'not-interested':
        return;
      case 'have':
      case 'suggest':
      case 'allowed-fast':
        if (m.type !== 'have' && !this.negotiated(d, other, 'fast')) this.unnegotiated(d, m, 'BEP 6', t);
        if (m.index >= torrent.pieceCount) {
          this.violation(d, 'have-out-of-range', `${name(m)} ${m.index}, past the last piece (${torrent.pieceCount - 1})`, m, t);
          return;
        }
        if (m.type === 'allowed-fast') {
          if (d.allowedFast.size < WIRE_CHECKER_LIMITS.maxAllowedFast) d.allowedFast.add(m.index);
          else d.allowedFastOverflow = true;
        }
        return;
      case 'request':
        return this.onRequest(d, other, m, t);
      case 'cancel': {
        const key = this.inRange(m.index, m.begin, m.length) ? this.key(m.index, m.begin) : -1;
        const r = d.requests.get(key);
        // Still answerable: BEP 3 lets a PIECE cross a CANCEL.
        if (r?.counted && r.length === m.length) this.uncount(d, r);
        return;
      }
      case 'reject': {
        if (!this.negotiated(d, other, 'fast')) this.unnegotiated(d, m, 'BEP 6', t);
        const key = this.inRange(m.index, m.begin, m.length) ? this.key(m.index, m.begin) : -1;
        const r = other.requests.get(key);
        if (r !== undefined && r.length === m.length) this.answered(other, key, r);
        return;
      }
      case 'piece':
        return this.onPiece(d, other, m, t);
    }
  }

  private onExtHandshake(d: Direction, m: Extract<Message, { type: 'extended' }>, t: number): void {
    try {
      const reqq = parseExtHandshake(m.payload).reqq;
      if (reqq !== undefined) d.reqq = reqq;
    } catch (error) {
      this.violation(d, 'malformed', `BEP 10 handshake: ${(error as Error).message}`, m, t);
    }
  }

  private checkBitfield(d: Direction, bits: Uint8Array, m: Message, t: number): void {
    const pieces = this.o.torrent.pieceCount;
    if (bits.length !== this.bitfieldLength) {
      this.violation(d, 'malformed-bitfield', `BITFIELD of ${bits.length} bytes; ${pieces} pieces take ${this.bitfieldLength}`, m, t);
      return;
    }
    const spare = (8 - (pieces % 8)) % 8;
    if (spare > 0 && (bits[bits.length - 1] & ((1 << spare) - 1)) !== 0) {
      this.violation(d, 'malformed-bitfield', `BITFIELD with spare bits set after the last piece (${pieces - 1})`, m, t);
    }
  }

  private onRequest(d: Direction, other: Direction, m: Extract<Message, { type: 'request' }>, t: number): void {
    const torrent = this.o.torrent;
    const block = `${m.index}:${m.begin}+${m.length}`;
    if (m.index >= torrent.pieceCount) return this.violation(d, 'request-out-of-range', `REQUEST ${block}: piece ${m.index} is past the last one (${torrent.pieceCount - 1})`, m, t);
    const size = pieceSize(torrent, m.index);
    if (m.length === 0 || m.length > WIRE_CHECKER_LIMITS.maxRequestLength) {
      return this.violation(d, 'request-out-of-range', `REQUEST ${block}: length ${m.length} (1..${WIRE_CHECKER_LIMITS.maxRequestLength} allowed)`, m, t);
    }
    if (m.begin + m.length > size) return this.violation(d, 'request-out-of-range', `REQUEST ${block} ends past its piece's ${size} bytes`, m, t);

    if (!other.stopped && other.chokingAsDelivered && !other.allowedFastOverflow && !other.allowedFast.has(m.index)) {
      const since = t - other.chokeDeliveredAt;
      if (!(since < this.o.chokeGrace)) {
        const when = other.chokeDeliveredAt === -Infinity ? 'never unchoked it' : `choked ${seconds(since)} ago`;
        this.violation(d, 'request-while-choked', `REQUEST ${block} while ${d.remote} chokes it (${when})`, m, t);
      }
    }

    const key = this.key(m.index, m.begin);
    let r = d.requests.get(key);
    if (r === undefined || r.length !== m.length) {
      if (r !== undefined) d.requests.delete(key);
      if (d.requests.size >= WIRE_CHECKER_LIMITS.maxTrackedRequests) this.makeRoom(d);
      if (d.requests.size >= WIRE_CHECKER_LIMITS.maxTrackedRequests) {
        d.untracked = true;
        return;
      }
      r = { length: m.length, counted: false, pending: 0, live: 0, discardedAt: NaN };
      d.requests.set(key, r);
    }
    r.pending++;
    d.inFlight.push(r);
    d.inFlightEnds.push(d.sentBytes);
    this.requestsDelivered(d, other, t);
    if (r.counted) return; // asked again while outstanding: one block still
    r.counted = true;
    d.openRequests++;
    const reqq = other.reqq;
    if (reqq !== undefined && d.openRequests > reqq && !d.overReqq) {
      d.overReqq = true;
      this.violation(d, 'too-many-requests', `REQUEST ${block} makes ${d.openRequests} outstanding; ${d.remote}'s BEP 10 handshake allows ${reqq} (reqq)`, m, t);
    }
  }

  private onPiece(d: Direction, other: Direction, m: Extract<Message, { type: 'piece' }>, t: number): void {
    const torrent = this.o.torrent;
    const length = m.block.length;
    const block = `${m.index}:${m.begin}+${length}`;
    const inRange = this.inRange(m.index, m.begin, length);
    if (!other.stopped) {
      // (index, begin) alone finds the request, so that a wrong length is told as such.
      const located = m.index < torrent.pieceCount && m.begin < pieceSize(torrent, m.index);
      const key = located ? this.key(m.index, m.begin) : -1;
      const r = other.requests.get(key);
      if (r === undefined) {
        if (!other.untracked || !located) this.violation(d, 'unrequested-piece', `PIECE ${block}, which ${d.remote} never requested${inRange ? '' : ' (it is not inside the torrent)'}`, m, t);
      } else if (r.length !== length) {
        this.violation(d, 'piece-length', `PIECE ${block}; ${d.remote} requested ${m.index}:${m.begin}+${r.length}`, m, t);
      } else {
        if (r.live === 0 && !(t - r.discardedAt <= this.o.chokeGrace)) {
          const why = Number.isNaN(r.discardedAt) ? `no request of ${d.remote}'s for it is left` : `${d.label} discarded ${d.remote}'s request by choking it ${seconds(t - r.discardedAt)} before (no BEP 6)`;
          this.violation(d, 'unrequested-piece', `PIECE ${block}: ${why}`, m, t);
        }
        this.answered(other, key, r);
      }
    }
    const payload = this.o.payload;
    if (payload !== undefined && m.index < torrent.pieceCount) {
      const at = m.index * torrent.pieceLength + m.begin;
      if (m.begin + length <= pieceSize(torrent, m.index) && !sameBytes(m.block, payload, at)) {
        this.violation(d, 'bad-data', `PIECE ${block}: the block differs from the payload at byte ${at + firstDifference(m.block, payload, at)} of the torrent`, m, t);
      }
    }
  }

  /** A CHOKE or UNCHOKE of `chooser`'s has reached `chosen`. */
  private chokeDelivered(chooser: Direction, chosen: Direction, choke: boolean, t: number): void {
    chooser.chokingAsDelivered = choke;
    if (!choke) return;
    chooser.chokeDeliveredAt = t;
    if (this.negotiated(chooser, chosen, 'fast')) return;
    // Without BEP 6 the choked side counts none of its requests as outstanding any more (BEP 3).
    for (const r of chosen.requests.values()) r.counted = false;
    chosen.openRequests = 0;
    chosen.overReqq = false;
  }

  /** `requester`'s requests that have now reached `answerer`: dropped at once if it chokes the requester (no BEP 6). */
  private requestsDelivered(requester: Direction, answerer: Direction, t: number): void {
    const queue = requester.inFlight;
    const ends = requester.inFlightEnds;
    let head = requester.inFlightHead;
    if (head === queue.length || ends[head] > requester.deliveredBytes) return;
    const dropped = answerer.chokingAsSent && !this.negotiated(answerer, requester, 'fast');
    while (head < queue.length && ends[head] <= requester.deliveredBytes) {
      const r = queue[head++];
      r.pending--;
      if (dropped) r.discardedAt = t;
      else r.live++;
    }
    if (head === queue.length) {
      queue.length = 0;
      ends.length = 0;
      requester.inFlightHead = 0;
    } else requester.inFlightHead = head;
  }

  private uncount(d: Direction, r: TrackedRequest): void {
    r.counted = false;
    d.openRequests--;
    if (d.overReqq && d.openRequests <= (this.sides[d === this.sides.a ? 'b' : 'a'].reqq ?? Infinity)) d.overReqq = false;
  }

  /** A PIECE or REJECT answered one copy of the block's requests. */
  private answered(requester: Direction, key: number, r: TrackedRequest): void {
    if (r.live > 0) r.live--;
    if (r.counted) this.uncount(requester, r);
    if (r.live === 0 && r.pending === 0) requester.requests.delete(key);
  }

  /** Makes room among the tracked requests: first those nobody waits for, then those no longer counted (cancelled, cleared by a CHOKE). */
  private makeRoom(d: Direction): void {
    for (const [key, r] of d.requests) if (!r.counted && r.live === 0 && r.pending === 0) d.requests.delete(key);
    if (d.requests.size < WIRE_CHECKER_LIMITS.maxTrackedRequests) return;
    for (const [key, r] of d.requests) if (!r.counted && r.pending === 0) d.requests.delete(key);
  }

  private negotiated(x: Direction, y: Direction, what: 'fast' | 'extensions'): boolean {
    // Before both handshakes are seen, nothing is known: give the benefit of the doubt.
    if (x.handshake === undefined || y.handshake === undefined) return true;
    return x.handshake[what] && y.handshake[what];
  }

  private unnegotiated(d: Direction, m: Message, bep: string, t: number): void {
    this.violation(d, 'unnegotiated-message', `${name(m)} (${bep}) though the two handshakes did not both offer ${bep}`, m, t);
  }

  private inRange(index: number, begin: number, length: number): boolean {
    const t = this.o.torrent;
    return index < t.pieceCount && length > 0 && begin + length <= pieceSize(t, index);
  }

  /** A block's byte offset in the torrent: unique per (index, begin) inside it, and exact (< 2^53). */
  private key(index: number, begin: number): number {
    return index * this.o.torrent.pieceLength + begin;
  }

  private violation(d: Direction, rule: WireRule, message: string, what: Message | string, t: number): void {
    this.violationCount++;
    this.o.counted?.(d.label, rule);
    if (this.reports >= WIRE_CHECKER_LIMITS.maxReportsPerConnection) return;
    this.reports++;
    this.report({ t, peer: d.label, remote: d.remote, rule, message, bytes: typeof what === 'string' ? what : messageHex(what) });
  }
}

/** Collects one run's violations: a capped list, and counts per peer and rule. */
export class WireViolationLog {
  readonly list: WireViolation[] = [];
  count = 0;
  /** Per offender: how many, and the first one. */
  readonly byPeer = new Map<string, { count: number; first?: WireViolation; rules: Map<WireRule, number> }>();

  constructor(readonly maxListed = 100) {}

  /** For `WireCheckerOptions.counted`. */
  readonly counted = (peer: string, rule: WireRule): void => {
    this.count++;
    let p = this.byPeer.get(peer);
    if (!p) this.byPeer.set(peer, (p = { count: 0, rules: new Map() }));
    p.count++;
    p.rules.set(rule, (p.rules.get(rule) ?? 0) + 1);
  };

  /** For the ConnectionChecker's `report`. */
  readonly add = (v: WireViolation): void => {
    const p = this.byPeer.get(v.peer);
    if (p && !p.first) p.first = v;
    if (this.list.length < this.maxListed) this.list.push(v);
  };
}

const name = (m: Message) => m.type.toUpperCase().replace('-', ' ');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The block equals the payload at `at` (compared in place; a view of the payload itself is equal at once). */
function sameBytes(block: Uint8Array, payload: Uint8Array, at: number): boolean {
  if (block.buffer === payload.buffer && block.byteOffset === payload.byteOffset + at) return true;
  return Buffer.compare(block, payload.subarray(at, at + block.length)) === 0;
}

function firstDifference(block: Uint8Array, payload: Uint8Array, at: number): number {
  for (let i = 0; i < block.length; i++) if (block[i] !== payload[at + i]) return i;
  return 0;
}

/** The first bytes of a message as it went on the wire, without copying a long payload. */
function messageHex(m: Message): string {
  const max = WIRE_CHECKER_LIMITS.bytesShown;
  let head: Uint8Array;
  let tail: Uint8Array;
  if (m.type === 'piece') [head, tail] = encodeMessage(m) as Uint8Array[];
  else if (m.type === 'bitfield' || m.type === 'extended') {
    const body = m.type === 'bitfield' ? m.bits : m.payload;
    head = new Uint8Array(m.type === 'bitfield' ? 5 : 6);
    new DataView(head.buffer).setUint32(0, head.length - 4 + body.length);
    head[4] = m.type === 'bitfield' ? 5 : 20;
    if (m.type === 'extended') head[5] = m.id;
    tail = body;
  } else {
    head = encodeMessage(m) as Uint8Array;
    tail = new Uint8Array(0);
  }
  return toHex(head.subarray(0, max)) + toHex(tail.subarray(0, Math.max(0, max - head.length)));
}
