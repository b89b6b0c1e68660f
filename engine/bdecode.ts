// The one bencode decoder (BEP 3) for every input: .torrent files, tracker replies, BEP 10
// handshakes, BEP 9 metadata messages. Strict and bounded: a value or a BdecodeError that says
// where (byte offset and the path of the value, e.g. info.files[2].path[0]) and what was expected,
// never another throw; nesting is bounded, so no input overflows the stack. It reports where a
// value ends (a ut_metadata message carries raw bytes after its dictionary) and, on request, the
// byte span of every list and dictionary (a torrent's info-hash is the SHA1 of the info
// dictionary's bytes as they appear). Encoding: `bencodeValue` below for network messages; the
// `bencode` package for torrent files (engine/metainfo.ts).

import { utf8Bytes, utf8Text } from './bytes.ts';

/** Dictionary keys are latin-1 strings of the key's bytes: one char per byte, exact and collision-free. */
export type BValue = number | Uint8Array | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}

export interface ByteSpan {
  /** Offset of the value's first byte. */
  start: number;
  /** Offset just past the value's last byte. */
  end: number;
}

/** One step from a value into a child: a dictionary key (latin-1, as in BDict) or a list index. */
export type BPathStep = string | number;

export class BdecodeError extends Error {
  constructor(
    /** What was wrong, or expected, at `position`. */
    readonly detail: string,
    /** Byte offset of the fault in the input. */
    readonly position: number,
    /** Where the faulty value sits under the root; [] is the root (or a fault between values). */
    readonly path: readonly BPathStep[] = [],
  ) {
    super(`bad bencoding at byte ${position}: ${detail}`);
    this.name = 'BdecodeError';
  }

  /** The path as text under `root`, e.g. "info.files[0].path[1]"; keys shown as UTF-8. */
  pathText(root = ''): string {
    let text = root;
    for (const step of this.path) {
      if (typeof step === 'number') text += `[${step}]`;
      else text += text ? `.${keyText(step)}` : keyText(step);
    }
    return text;
  }
}

/** Bounds of the decoder; callers with other needs pass `maxDepth`. */
export const BDECODE_LIMITS = {
  /**
   * Lists and dictionaries inside each other in network input (tracker replies, extension
   * messages): none nests more than 3 deep; 64 is far above that and far below the stack.
   */
  networkDepth: 64,
} as const satisfies Record<string, number>;

export interface BdecodeOptions {
  /** Deepest nesting of lists and dictionaries accepted (the root container is level 1). Default `BDECODE_LIMITS.networkDepth`. */
  maxDepth?: number;
  /**
   * Refuse a dictionary whose keys are not in ascending byte order, as BEP 3 requires of encoders.
   * Off by default: torrents in the wild break it, and libtorrent's bdecode accepts them.
   */
  sortedKeys?: boolean;
  /**
   * An integer beyond ±(2^53 − 1) cannot be held exactly. 'reject' (the default) refuses it;
   * 'approximate' gives the nearest double (not a safe integer), for a reader that judges each
   * field itself — libtorrent, too, checks only an integer's syntax when decoding.
   */
  largeIntegers?: 'reject' | 'approximate';
  /**
   * Record the byte span of every list and dictionary at most this many levels below the root
   * (0: the root alone; 1: also the root's children, such as a torrent's info dictionary), for
   * `spanOf`. None by default; a bound, as a span for each of a million containers costs seconds.
   */
  spansToDepth?: number;
}

export interface BDecoded {
  value: BValue;
  /** Offset just past the value. */
  end: number;
  /** The byte span of a list or dictionary of the result within `spansToDepth`; undefined otherwise. */
  spanOf(container: BValue): ByteSpan | undefined;
}

const CHAR_I = 0x69;
const CHAR_L = 0x6c;
const CHAR_D = 0x64;
const CHAR_E = 0x65;
const CHAR_COLON = 0x3a;
const CHAR_MINUS = 0x2d;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;

/**
 * The prototype of decoded dictionaries: empty, so a "__proto__" or "toString" key is an entry like
 * any other. (Object.create(null) would do too, but gives slow dictionary-mode objects.)
 */
const NO_PROTOTYPE: object = Object.freeze(Object.create(null));

/** Digits past which a number cannot be a safe integer (2^53 − 1 has 16). */
const MAX_SAFE_DIGITS = 16;


function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= CHAR_0 && byte <= CHAR_9;
}

function showByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}' (${hex})` : hex;
}

/** One char per byte (latin-1): the form dictionary keys take. */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** A latin-1 key shown as the UTF-8 text its bytes spell. */
function keyText(key: string): string {
  return utf8Text(Uint8Array.from(key, (ch) => ch.charCodeAt(0)));
}

/** Digits for a message, cut short: a length prefix may be a megabyte of digits. */
function shownDigits(bytes: Uint8Array, start: number, end: number): string {
  const text = latin1(bytes.subarray(start, Math.min(end, start + 20)));
  return end - start > 20 ? `${text}…` : text;
}

/** Walks the bytes once, building values; every fault is a BdecodeError at its byte and path. */
class Decoder {
  private position: number;
  private readonly path: BPathStep[] = [];
  private readonly spans = new Map<object, ByteSpan>();
  private readonly maxDepth: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly options: BdecodeOptions,
  ) {
    this.position = start;
    this.maxDepth = options.maxDepth ?? BDECODE_LIMITS.networkDepth;
  }

  decode(): BDecoded {
    const value = this.value(0);
    const spans = this.spans;
    return { value, end: this.position, spanOf: (container) => (typeof container === 'object' ? spans.get(container) : undefined) };
  }

  private fail(position: number, detail: string): never {
    throw new BdecodeError(detail, position, [...this.path]);
  }

  private byteAt(position: number): number {
    if (position >= this.bytes.length) this.fail(position, 'unexpected end of input');
    return this.bytes[position];
  }

  /** The value at the cursor, `depth` containers deep; leaves the cursor just past it. */
  private value(depth: number): BValue {
    const first = this.byteAt(this.position);
    if (first === CHAR_I) return this.integer();
    if (isDigit(first)) return this.string();
    if (depth >= this.maxDepth) this.fail(this.position, `nested deeper than ${this.maxDepth} levels`);
    const start = this.position;
    let container: BValue[] | BDict;
    if (first === CHAR_L) container = this.list(depth);
    else if (first === CHAR_D) container = this.dictionary(depth);
    else this.fail(this.position, `unexpected byte ${showByte(first)}`);
    if (depth <= (this.options.spansToDepth ?? -1)) this.spans.set(container, { start, end: this.position });
    return container;
  }

  /** Checks the digits at the cursor and moves past them; one form per number, so no leading zero. */
  private digits(what: string): { start: number; end: number } {
    const start = this.position;
    if (!isDigit(this.byteAt(start))) this.fail(start, `expected a digit in ${what}`);
    if (this.bytes[start] === CHAR_0 && isDigit(this.bytes[start + 1])) this.fail(start, `${what} has a leading zero`);
    let end = start;
    while (isDigit(this.bytes[end])) end++;
    this.position = end;
    return { start, end };
  }

  /** The number the digits spell, exact while it is a safe integer. */
  private digitsValue(start: number, end: number): number {
    let n = 0;
    for (let p = start; p < end && p - start <= MAX_SAFE_DIGITS; p++) n = n * 10 + (this.bytes[p] - CHAR_0);
    return end - start > MAX_SAFE_DIGITS ? Number(latin1(this.bytes.subarray(start, end))) : n;
  }

  private integer(): number {
    const begin = this.position;
    this.position++;
    const negative = this.byteAt(this.position) === CHAR_MINUS;
    if (negative) {
      this.position++;
      if (this.byteAt(this.position) === CHAR_0) this.fail(begin, 'integer is negative zero');
    }
    const { start, end } = this.digits('integer');
    if (this.byteAt(end) !== CHAR_E) this.fail(end, `expected 'e' to end the integer, got ${showByte(this.bytes[end])}`);
    this.position = end + 1;
    const magnitude = this.digitsValue(start, end);
    if (!Number.isSafeInteger(magnitude) && this.options.largeIntegers !== 'approximate') {
      this.fail(begin, `integer ${negative ? '-' : ''}${shownDigits(this.bytes, start, end)} is beyond ±(2^53 − 1), the exact range`);
    }
    return negative ? -magnitude : magnitude;
  }

  /** A byte string: a view of the input, not a copy. */
  private string(): Uint8Array {
    const { start: lengthStart, end: lengthEnd } = this.digits('string length');
    if (this.byteAt(lengthEnd) !== CHAR_COLON) this.fail(lengthEnd, `expected ':' after the string length, got ${showByte(this.bytes[lengthEnd])}`);
    const length = this.digitsValue(lengthStart, lengthEnd);
    const start = lengthEnd + 1;
    if (length > this.bytes.length - start) {
      this.fail(lengthStart, `string of ${shownDigits(this.bytes, lengthStart, lengthEnd)} bytes runs past the end of input`);
    }
    this.position = start + length;
    return this.bytes.subarray(start, start + length);
  }

  private list(depth: number): BValue[] {
    this.position++;
    const list: BValue[] = [];
    while (this.byteAt(this.position) !== CHAR_E) {
      this.path.push(list.length);
      list.push(this.value(depth + 1));
      this.path.pop();
    }
    this.position++;
    return list;
  }

  private dictionary(depth: number): BDict {
    this.position++;
    const dictionary: BDict = Object.create(NO_PROTOTYPE);
    let previousKey: string | undefined;
    while (this.byteAt(this.position) !== CHAR_E) {
      const keyAt = this.position;
      if (!isDigit(this.bytes[keyAt])) this.fail(keyAt, `dictionary key must be a string, got ${showByte(this.bytes[keyAt])}`);
      const key = latin1(this.string());
      // Duplicates are refused: a decoder keeps one of them, so what we check could differ from
      // what another client reads out of the same (hashed) bytes.
      if (Object.hasOwn(dictionary, key)) this.fail(keyAt, `duplicate dictionary key "${keyText(key)}"`);
      if (this.options.sortedKeys && previousKey !== undefined && key < previousKey) {
        this.fail(keyAt, `dictionary key "${keyText(key)}" comes after "${keyText(previousKey)}": keys must be in ascending byte order`);
      }
      previousKey = key;
      this.path.push(key);
      dictionary[key] = this.value(depth + 1);
      this.path.pop();
    }
    this.position++;
    return dictionary;
  }
}

/** Decodes the value at `start`; the bytes after it are not looked at. */
export function bdecodePrefix(bytes: Uint8Array, start = 0, options: BdecodeOptions = {}): BDecoded {
  return new Decoder(bytes, start, options).decode();
}

/** Decodes bytes that hold exactly one value, with its spans when asked. */
export function bdecodeDocument(bytes: Uint8Array, options: BdecodeOptions = {}): BDecoded {
  const decoded = bdecodePrefix(bytes, 0, options);
  if (decoded.end !== bytes.length) throw new BdecodeError('trailing data after the end of the value', decoded.end);
  return decoded;
}

/** Decodes bytes that hold exactly one value. */
export function bdecode(bytes: Uint8Array, options: BdecodeOptions = {}): BValue {
  return bdecodeDocument(bytes, options).value;
}

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

/** An integer field, if it is one and exact. */
export function asInt(v: BValue | undefined): number | undefined {
  return Number.isSafeInteger(v) ? (v as number) : undefined;
}

export function asBytes(v: BValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

export function asText(v: BValue | undefined): string | undefined {
  return v instanceof Uint8Array ? utf8Text(v) : undefined;
}

/** What `bencodeValue` takes: decoded values, and strings (encoded as UTF-8) anywhere. */
export type BInput = number | string | Uint8Array | BInput[] | { [key: string]: BInput };

/** Encodes a value (dictionary keys sorted as BEP 3 requires). */
export function bencodeValue(v: BInput): Uint8Array {
  const w = new ByteWriter();
  const put = (x: BInput): void => {
    if (typeof x === 'number') {
      if (!Number.isSafeInteger(x)) throw new RangeError(`bencode: ${x} is not a safe integer`);
      w.ascii(`i${x}e`);
    } else if (typeof x === 'string') {
      if (isAscii(x)) {
        w.ascii(`${x.length}:`);
        w.ascii(x);
      } else {
        const b = utf8Bytes(x);
        w.ascii(`${b.length}:`);
        w.bytes(b);
      }
    } else if (x instanceof Uint8Array) {
      w.ascii(`${x.length}:`);
      w.bytes(x);
    } else if (Array.isArray(x)) {
      w.byte(CHAR_L);
      for (const e of x) put(e);
      w.byte(CHAR_E);
    } else {
      w.byte(CHAR_D);
      const keys = Object.keys(x).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const k of keys) {
        // Keys are latin-1: one byte per char.
        w.ascii(`${k.length}:`);
        w.latin1(k);
        put(x[k]);
      }
      w.byte(CHAR_E);
    }
  };
  put(v);
  return w.result();
}


/** ASCII text is its own UTF-8: written without an encoder (KRPC's keys and method names). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A growing output buffer: network messages are small, so one buffer beats a list of parts. */
class ByteWriter {
  private buf = new Uint8Array(256);
  private length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  /** Text known to be ASCII (digits, `i`, `e`, `:`, ASCII strings). */
  ascii(s: string): void {
    this.latin1(s);
  }

  latin1(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i) & 0xff;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
