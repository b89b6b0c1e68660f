// A fast reader for the trace's event lines: flat JSON objects whose values are strings without
// escapes, numbers, booleans or null (arrays and objects are skipped). It reads the bytes in
// place and keeps only the fields the replay needs — about three times faster than decoding the
// text and calling JSON.parse, which matters for traces of millions of events. A line it cannot
// read (an escape in a string, an exponent it cannot parse exactly) is left to JSON.parse.

/** The fields of one event line; string fields are byte ranges [start, end) into the line's bytes. */
export class RawEvent {
  t = NaN;
  peerStart = -1;
  peerEnd = -1;
  remoteStart = -1;
  remoteEnd = -1;
  kindStart = -1;
  kindEnd = -1;
  nodeStart = -1;
  nodeEnd = -1;
  resultStart = -1;
  resultEnd = -1;
  roleStart = -1;
  roleEnd = -1;
  /** A `join`'s `client`: another BitTorrent client plays the peer (TCP runs). */
  clientStart = -1;
  clientEnd = -1;
  piece = NaN;
  pieces = NaN;
  length = NaN;
  inbound = false;
  amChoking = false;
  amInterested = false;
  peerChoking = false;
  peerInterested = false;

  reset(): void {
    this.t = this.piece = this.pieces = this.length = NaN;
    this.peerStart = this.remoteStart = this.kindStart = this.nodeStart = this.resultStart = this.roleStart = this.clientStart = -1;
    this.peerEnd = this.remoteEnd = this.kindEnd = this.nodeEnd = this.resultEnd = this.roleEnd = this.clientEnd = -1;
    this.inbound = this.amChoking = this.amInterested = this.peerChoking = this.peerInterested = false;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

// The keys the replay reads, as numbers for a switch.
const enum Key {
  other, t, peer, remote, kind, node, result, role, client, piece, pieces, length,
  inbound, amChoking, amInterested, peerChoking, peerInterested,
}

/** Keys by length, so a key is compared with at most four names. */
const KEYS_BY_LENGTH: [string, Key][][] = [];
for (const [name, key] of [
  ['t', Key.t], ['peer', Key.peer], ['remote', Key.remote], ['kind', Key.kind], ['node', Key.node],
  ['result', Key.result], ['role', Key.role], ['client', Key.client], ['piece', Key.piece], ['pieces', Key.pieces],
  ['length', Key.length], ['inbound', Key.inbound], ['amChoking', Key.amChoking],
  ['amInterested', Key.amInterested], ['peerChoking', Key.peerChoking], ['peerInterested', Key.peerInterested],
] as [string, Key][]) (KEYS_BY_LENGTH[name.length] ??= []).push([name, key]);

function keyOf(b: Uint8Array, start: number, end: number): Key {
  const candidates = KEYS_BY_LENGTH[end - start];
  if (candidates === undefined) return Key.other;
  for (let c = 0; c < candidates.length; c++) {
    const name = candidates[c][0];
    let k = 0;
    while (k < name.length && name.charCodeAt(k) === b[start + k]) k++;
    if (k === name.length) return candidates[c][1];
  }
  return Key.other;
}

/** JSON whitespace (and any other control byte, which valid JSON has none of between tokens). */
function isSpace(c: number): boolean {
  return c <= 0x20;
}

/**
 * Reads the event line in b[start, end) into `out`. Returns false when the line is not of the
 * simple shape this reader handles; the caller then parses it with JSON.parse.
 */
export function scanLine(b: Uint8Array, start: number, end: number, out: RawEvent): boolean {
  out.reset();
  let i = start;
  while (i < end && isSpace(b[i])) i++;
  if (b[i] !== OPEN_BRACE) return false;
  i++;
  while (i < end && isSpace(b[i])) i++;
  if (b[i] === CLOSE_BRACE) return true;
  for (;;) {
    // "key"
    if (b[i] !== QUOTE) return false;
    const keyStart = ++i;
    while (i < end && b[i] !== QUOTE) if (b[i++] === BACKSLASH) return false;
    if (i >= end) return false;
    const key = keyOf(b, keyStart, i);
    i++;
    while (i < end && isSpace(b[i])) i++;
    if (b[i] !== COLON) return false;
    i++;
    while (i < end && isSpace(b[i])) i++;
    // value
    const c = b[i];
    if (c === QUOTE) {
      const s = ++i;
      while (i < end && b[i] !== QUOTE) if (b[i++] === BACKSLASH) return false;
      if (i >= end) return false;
      const e = i++;
      switch (key) {
        case Key.peer: out.peerStart = s; out.peerEnd = e; break;
        case Key.remote: out.remoteStart = s; out.remoteEnd = e; break;
        case Key.kind: out.kindStart = s; out.kindEnd = e; break;
        case Key.node: out.nodeStart = s; out.nodeEnd = e; break;
        case Key.result: out.resultStart = s; out.resultEnd = e; break;
        case Key.role: out.roleStart = s; out.roleEnd = e; break;
        case Key.client: out.clientStart = s; out.clientEnd = e; break;
        case Key.other: break;
        default: return false; // a field the replay reads as a number or boolean
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const r = readNumber(b, i, end);
      if (r < 0) return false;
      i = r;
      switch (key) {
        case Key.t: out.t = numberValue; break;
        case Key.piece: out.piece = numberValue; break;
        case Key.pieces: out.pieces = numberValue; break;
        case Key.length: out.length = numberValue; break;
        case Key.other: break;
        default: return false;
      }
    } else if (c === 0x74 /* t */ || c === 0x66 /* f */ || c === 0x6e /* n */) {
      const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return false;
      i += word.length;
      const v = c === 0x74;
      switch (key) {
        case Key.inbound: out.inbound = v; break;
        case Key.amChoking: out.amChoking = v; break;
        case Key.amInterested: out.amInterested = v; break;
        case Key.peerChoking: out.peerChoking = v; break;
        case Key.peerInterested: out.peerInterested = v; break;
        case Key.other: break;
        default: if (c !== 0x6e) return false;
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (key !== Key.other) return false;
      i = skipNested(b, i, end);
      if (i < 0) return false;
    } else {
      return false;
    }
    while (i < end && isSpace(b[i])) i++;
    if (b[i] === COMMA) {
      i++;
      while (i < end && isSpace(b[i])) i++;
      continue;
    }
    return b[i] === CLOSE_BRACE;
  }
}

let numberValue = 0;

/** Reads a JSON number at b[i]; sets `numberValue`, returns the index after it, or -1. */
function readNumber(b: Uint8Array, i: number, end: number): number {
  const negative = b[i] === MINUS;
  if (negative) i++;
  let n = 0;
  let digits = 0;
  let decimals = 0;
  while (i < end && b[i] >= ZERO && b[i] <= NINE) {
    n = n * 10 + (b[i++] - ZERO);
    digits++;
  }
  if (digits === 0) return -1;
  if (b[i] === DOT) {
    i++;
    while (i < end && b[i] >= ZERO && b[i] <= NINE) {
      n = n * 10 + (b[i++] - ZERO);
      digits++;
      decimals++;
    }
  }
  // Exponents and long mantissas: let JSON.parse read the line, exactly.
  if (b[i] === 0x65 || b[i] === 0x45 || digits > 15 || decimals > 22) return -1;
  // n and 10^decimals are exact, so one division rounds correctly, as JSON.parse does.
  numberValue = (negative ? -1 : 1) * (decimals ? n / POW10[decimals] : n);
  return i;
}

/** Skips a JSON array or object starting at b[i]; returns the index after it, or -1. */
function skipNested(b: Uint8Array, i: number, end: number): number {
  let depth = 0;
  while (i < end) {
    const c = b[i++];
    if (c === QUOTE) {
      while (i < end && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
      i++;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) depth++;
    else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (--depth === 0) return i;
    }
  }
  return -1;
}

/**
 * Gives each distinct byte string (or string) a small id, without making a string per lookup:
 * an open-addressing hash table of ids, checked against each id's bytes.
 */
export class Interner {
  readonly names: string[] = [];
  private readonly encoded: Uint8Array[] = [];
  private readonly hashes: number[] = [];
  private slots = new Int32Array(64).fill(-1);
  private static readonly encoder = new TextEncoder();
  private static readonly decoder = new TextDecoder();

  constructor(initial: readonly string[] = []) {
    for (const name of initial) this.ofString(name);
  }

  ofBytes(b: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s];
      if (id < 0) return this.add(Interner.decoder.decode(b.subarray(start, end)), b.slice(start, end), h);
      if (this.hashes[id] !== h) continue;
      const e = this.encoded[id];
      if (e.length !== end - start) continue;
      let k = 0;
      while (k < e.length && e[k] === b[start + k]) k++;
      if (k === e.length) return id;
    }
  }

  ofString(name: string): number {
    const bytes = Interner.encoder.encode(name);
    return this.ofBytes(bytes, 0, bytes.length);
  }

  private add(name: string, bytes: Uint8Array, hash: number): number {
    const id = this.names.length;
    this.names.push(name);
    this.encoded.push(bytes);
    this.hashes.push(hash);
    if (this.names.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(id);
    return id;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(-1);
    for (let id = 0; id < this.names.length; id++) this.place(id);
  }

  private place(id: number): void {
    const mask = this.slots.length - 1;
    let s = this.hashes[id] & mask;
    while (this.slots[s] >= 0) s = (s + 1) & mask;
    this.slots[s] = id;
  }
}

/** True when b[start, end) holds exactly the ASCII text `s`. */
export function bytesEqual(b: Uint8Array, start: number, end: number, s: string): boolean {
  if (end - start !== s.length) return false;
  for (let k = 0; k < s.length; k++) if (b[start + k] !== s.charCodeAt(k)) return false;
  return true;
}
