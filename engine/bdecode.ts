// A small, strict, bounded bencode decoder for bytes that come from the network (tracker replies,
// BEP 10 handshakes, BEP 9 metadata messages). Unlike the bencode package it reports where the
// value ends (a ut_metadata message carries raw bytes after its dictionary), bounds nesting, and
// throws only BdecodeError with the position of the fault.

import { concatBytes } from './bytes.ts';

export type BValue = number | Uint8Array | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}

export class BdecodeError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`bad bencoding at byte ${position}: ${message}`);
    this.name = 'BdecodeError';
  }
}

const MAX_DEPTH = 64;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Decodes the value at `start`; returns it and the position just past it. */
export function bdecodePrefix(bytes: Uint8Array, start = 0): { value: BValue; end: number } {
  let pos = start;
  const at = (p: number): number => {
    if (p >= bytes.length) throw new BdecodeError('unexpected end of input', p);
    return bytes[p];
  };
  const digits = (what: string): number => {
    const begin = pos;
    let negative = false;
    if (at(pos) === 0x2d) {
      negative = true;
      pos++;
    }
    const first = pos;
    let n = 0;
    while (at(pos) >= 0x30 && bytes[pos] <= 0x39) {
      n = n * 10 + (bytes[pos] - 0x30);
      pos++;
    }
    if (pos === first) throw new BdecodeError(`expected digits in ${what}`, pos);
    if (pos - first > 16 || !Number.isSafeInteger(n)) throw new BdecodeError(`${what} is too large`, begin);
    if (bytes[first] === 0x30 && pos - first > 1) throw new BdecodeError(`${what} has a leading zero`, first);
    if (negative && n === 0) throw new BdecodeError(`${what} is negative zero`, begin);
    return negative ? -n : n;
  };
  const value = (depth: number): BValue => {
    const c = at(pos);
    if (c === 0x69) {
      pos++;
      const n = digits('integer');
      if (at(pos) !== 0x65) throw new BdecodeError("expected 'e' to end an integer", pos);
      pos++;
      return n;
    }
    if (c >= 0x30 && c <= 0x39) {
      const begin = pos;
      const length = digits('string length');
      if (length < 0) throw new BdecodeError('negative string length', begin);
      if (at(pos) !== 0x3a) throw new BdecodeError("expected ':' after a string length", pos);
      pos++;
      if (pos + length > bytes.length) throw new BdecodeError(`string of ${length} bytes runs past the end`, begin);
      const s = bytes.subarray(pos, pos + length);
      pos += length;
      return s;
    }
    if (depth >= MAX_DEPTH) throw new BdecodeError(`nested deeper than ${MAX_DEPTH}`, pos);
    if (c === 0x6c) {
      pos++;
      const list: BValue[] = [];
      while (at(pos) !== 0x65) list.push(value(depth + 1));
      pos++;
      return list;
    }
    if (c === 0x64) {
      pos++;
      const dict: BDict = Object.create(null);
      while (at(pos) !== 0x65) {
        const keyAt = pos;
        if (!(at(pos) >= 0x30 && bytes[pos] <= 0x39)) throw new BdecodeError('dictionary key must be a string', pos);
        const key = latin1.decode(value(depth + 1) as Uint8Array);
        if (Object.prototype.hasOwnProperty.call(dict, key)) throw new BdecodeError(`duplicate key "${key}"`, keyAt);
        dict[key] = value(depth + 1);
      }
      pos++;
      return dict;
    }
    throw new BdecodeError(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`, pos);
  };
  const v = value(0);
  return { value: v, end: pos };
}

/** Decodes bytes that hold exactly one value. */
export function bdecode(bytes: Uint8Array): BValue {
  const { value, end } = bdecodePrefix(bytes);
  if (end !== bytes.length) throw new BdecodeError('trailing data after the value', end);
  return value;
}

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

export function asInt(v: BValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

export function asBytes(v: BValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

export function asText(v: BValue | undefined): string | undefined {
  return v instanceof Uint8Array ? utf8.decode(v) : undefined;
}

/** What `bencodeValue` takes: decoded values, and strings (encoded as UTF-8) anywhere. */
export type BInput = number | string | Uint8Array | BInput[] | { [key: string]: BInput };

/** Encodes a value (dictionary keys sorted as BEP 3 requires). */
export function bencodeValue(v: BInput): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const put = (x: BInput): void => {
    if (typeof x === 'number') {
      if (!Number.isSafeInteger(x)) throw new RangeError(`bencode: ${x} is not a safe integer`);
      parts.push(enc.encode(`i${x}e`));
    } else if (typeof x === 'string') {
      const b = enc.encode(x);
      parts.push(enc.encode(`${b.length}:`), b);
    } else if (x instanceof Uint8Array) {
      parts.push(enc.encode(`${x.length}:`), x);
    } else if (Array.isArray(x)) {
      parts.push(enc.encode('l'));
      for (const e of x) put(e);
      parts.push(enc.encode('e'));
    } else {
      parts.push(enc.encode('d'));
      const keys = Object.keys(x).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const k of keys) {
        const kb = Uint8Array.from(k, (ch) => ch.charCodeAt(0) & 0xff);
        parts.push(enc.encode(`${kb.length}:`), kb);
        put(x[k]);
      }
      parts.push(enc.encode('e'));
    }
  };
  put(v);
  return concatBytes(parts);
}
