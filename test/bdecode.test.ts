// engine/bdecode.ts, the one bencode decoder: strictness and bounds, errors that say where (byte
// and path) and what was expected, byte spans, the options for key order and large integers, and
// that no other decode path is left in the code.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bdecode, bdecodeDocument, BdecodeError, bdecodePrefix, bencodeValue, isDict } from '../engine/bdecode.ts';
import { createTorrent, parseTorrent } from '../engine/metainfo.ts';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

function errorOf(run: () => unknown): BdecodeError {
  try {
    run();
  } catch (err) {
    if (err instanceof BdecodeError) return err;
    throw err;
  }
  throw new Error('expected a BdecodeError, nothing was thrown');
}

describe('strict, bounded decoding', () => {
  it('refuses huge lengths, deep nesting, leading zeros and trailing bytes with the position', () => {
    expect(() => bdecode(ascii('99999999999999999999:x'))).toThrow(BdecodeError);
    expect(() => bdecode(ascii('4294967296:x'))).toThrow(/runs past the end/);
    expect(() => bdecode(ascii('l'.repeat(10_000)))).toThrow(/nested deeper/);
    expect(() => bdecode(ascii('i03e'))).toThrow(/leading zero/);
    expect(() => bdecode(ascii('i1ex'))).toThrow(/trailing data/);
    expect(() => bdecode(ascii('d1:ai1e1:ai2ee'))).toThrow(/duplicate dictionary key "a"/);
    expect(bdecode(ascii('d1:ali1ei-2eee'))).toEqual({ a: [1, -2] });
  });

  it.each([
    ['i-0e', 0, /integer is negative zero/],
    ['i1.5e', 2, /expected 'e' to end the integer, got '\.' \(0x2e\)/],
    ['ie', 1, /expected a digit in integer/],
    ['3x', 1, /expected ':' after the string length, got 'x'/],
    ['x', 0, /unexpected byte 'x' \(0x78\)/],
    ['di1ei2ee', 1, /dictionary key must be a string, got 'i'/],
    ['l', 1, /unexpected end of input/],
    ['i9007199254740992e', 0, /integer 9007199254740992 is beyond ±\(2\^53 − 1\)/],
  ])('%s: a BdecodeError at byte %d saying what was expected', (text, position, message) => {
    const error = errorOf(() => bdecode(ascii(text)));
    expect(error.position).toBe(position);
    expect(error.detail).toMatch(message);
    expect(error.message).toBe(`bad bencoding at byte ${position}: ${error.detail}`);
  });

  it('the largest exact integers decode; depth is bounded by the option', () => {
    expect(bdecode(ascii(`li${Number.MAX_SAFE_INTEGER}ei${Number.MIN_SAFE_INTEGER}ee`))).toEqual([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);
    expect(bdecode(ascii('llee'), { maxDepth: 2 })).toEqual([[]]);
    expect(errorOf(() => bdecode(ascii('llleee'), { maxDepth: 2 })).detail).toBe('nested deeper than 2 levels');
  });

  it('keys keep their bytes exactly, 0x80-0x9f included, so a value re-encodes to the same bytes', () => {
    // A key of bytes 0x80 0x9f 0xff (not UTF-8): windows-1252 decoding would have turned 0x80 into '€'.
    const bytes = new Uint8Array([...ascii('d3:'), 0x80, 0x9f, 0xff, ...ascii('i1ee')]);
    const value = bdecode(bytes);
    expect(Object.keys(value)).toEqual(['\x80\x9f\xff']);
    expect(bencodeValue(value)).toEqual(bytes);
  });

  it('a "__proto__" key is an entry like any other', () => {
    const value = bdecode(ascii('d9:__proto__i1e8:toStringi2ee')) as Record<string, unknown>;
    expect(Object.hasOwn(value, '__proto__') && Object.hasOwn(value, 'toString')).toBe(true);
    expect([value['__proto__'], value.toString]).toEqual([1, 2]);
  });
});

describe('where an error is: the path of the value', () => {
  it.each([
    ['d4:infod5:filesld6:lengthi1e4:pathl1:ai-eeeeee', 'info.files[0].path[1]', 40],
    ['d4:infod4:name99:abcee', 'info.name', 14],
    ['d4:info', 'info', 7],
    ['d1:xi1e1:xi2ee', '', 7],
    ['de0', '', 2],
  ])('%s fails at %s (byte %d)', (text, path, position) => {
    const error = errorOf(() => bdecode(ascii(text), { maxDepth: 100 }));
    expect(error.pathText()).toBe(path);
    expect(error.position).toBe(position);
  });

  it('a root name prefixes the path; keys show as UTF-8', () => {
    const error = errorOf(() => bdecode(new Uint8Array([...ascii('d2:'), 0xc3, 0xa9, ...ascii('li-ee')])));
    expect(error.path).toEqual(['\xc3\xa9', 0]);
    expect(error.pathText()).toBe('é[0]');
    expect(error.pathText('info')).toBe('info.é[0]');
  });
});

describe('byte spans and prefixes', () => {
  it('reports the span of containers within spansToDepth, as the info-hash needs', () => {
    const text = 'd8:announce3:url4:infod4:name1:xe5:otherld1:ai1eeee';
    const { value, spanOf } = bdecodeDocument(ascii(text), { spansToDepth: 1 });
    if (!isDict(value)) throw new Error('not a dictionary');
    expect(spanOf(value)).toEqual({ start: 0, end: text.length });
    const infoStart = text.indexOf('d4:name');
    expect(spanOf(value.info)).toEqual({ start: infoStart, end: infoStart + 'd4:name1:xe'.length });
    expect(spanOf(value.other)).toEqual({ start: text.indexOf('ld1:a'), end: text.length - 1 });
    // Deeper than asked: no span (a span for each of a million file entries would cost seconds).
    expect(spanOf((value.other as unknown[])[0] as never)).toBeUndefined();
    expect(bdecodeDocument(ascii(text)).spanOf(value)).toBeUndefined();
  });

  it('a prefix ends where its value ends, from any start; positions are offsets in the whole input', () => {
    const bytes = ascii('xxd1:ai1ee<raw bytes>');
    expect(bdecodePrefix(bytes, 2)).toMatchObject({ value: { a: 1 }, end: 10 });
    expect(errorOf(() => bdecodePrefix(ascii('xxd1:ai01ee'), 2)).position).toBe(7);
  });
});

describe('options: key order and large integers', () => {
  it('unsorted keys are accepted by default, as libtorrent does; sortedKeys refuses them at the key', () => {
    const unsorted = ascii('d1:bi1e1:ai2ee');
    expect(bdecode(unsorted)).toEqual({ b: 1, a: 2 });
    const error = errorOf(() => bdecode(unsorted, { sortedKeys: true }));
    expect(error.position).toBe(7);
    expect(error.detail).toBe('dictionary key "a" comes after "b": keys must be in ascending byte order');
    expect(bdecode(ascii('d1:ai2e1:bi1ee'), { sortedKeys: true })).toEqual({ a: 2, b: 1 });
  });

  it("an integer beyond 2^53 is refused by default, and approximated on request for a reader that judges each field", () => {
    const big = ascii('i99999999999999999999e');
    expect(errorOf(() => bdecode(big)).detail).toMatch(/beyond ±\(2\^53 − 1\)/);
    const approximate = bdecode(big, { largeIntegers: 'approximate' });
    expect(approximate).toBe(1e20);
    expect(Number.isSafeInteger(approximate)).toBe(false);
  });

  it('a torrent with a 20-digit integer in a field nobody reads still parses (as before, and as libtorrent)', () => {
    const { bytes, torrent } = createTorrent({ name: 'a.bin', pieceLength: 16384, files: new Uint8Array(10) });
    const withDate = new Uint8Array([...ascii('d13:creation datei99999999999999999999e'), ...bytes.subarray(1)]);
    expect(parseTorrent(withDate).infoHashHex).toBe(torrent.infoHashHex);
  });

  it("a torrent's piece hashes are its own, not views of the caller's buffer", () => {
    const { bytes, torrent } = createTorrent({ name: 'a.bin', pieceLength: 16384, files: new Uint8Array(10) });
    const parsed = parseTorrent(bytes);
    bytes.fill(0);
    expect(parsed.pieceHashes[0]).toEqual(torrent.pieceHashes[0]);
  });
});

describe('one decoder', () => {
  function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
    );
  }

  it('no code outside engine/bdecode.ts decodes bencode another way (the bencode package encodes only)', () => {
    const root = join(import.meta.dirname, '..');
    const offenders = ['engine', 'live', 'sim', 'cli', 'viz', 'fuzz']
      .flatMap((dir) => sourceFiles(join(root, dir)))
      .filter((file) => /\bbencode\.decode\b|class\s+\w*Scanner\b/.test(readFileSync(file, 'utf8')));
    expect(offenders.map((file) => file.slice(root.length + 1))).toEqual([]);
  });
});
