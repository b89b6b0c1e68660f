import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import bencode from 'bencode';
import { describe, expect, it } from 'vitest';
import {
  METAINFO_LIMITS,
  MetainfoError,
  createTorrent,
  parseInfo,
  parseTorrent,
  pieceSize,
  sha1,
  type Torrent,
} from '../engine/metainfo.ts';
import { albumFiles, payloadBytes, payloadRoot, singleFile, type PayloadFile } from './fixtures/payload.ts';
import fixtureList from './fixtures/torrents.json' with { type: 'json' };

const fixturesDir = join(import.meta.dirname, 'fixtures');

interface Fixture {
  file: string;
  infoHash: string;
  tool: string;
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  files: { path: string[]; length: number }[];
  announce: string[][];
  private?: boolean;
}
const fixtures = fixtureList as Fixture[];

function fixture(file: string): { meta: Fixture; bytes: Uint8Array } {
  const meta = fixtures.find((f) => f.file === file);
  if (!meta) throw new Error(`no fixture ${file}`);
  return { meta, bytes: new Uint8Array(readFileSync(join(fixturesDir, file))) };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const ascii = (text: string) => new TextEncoder().encode(text);

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The obvious reference: concatenate everything, then hash each piece. */
function naivePieceHashes(data: Uint8Array, pieceLength: number): string[] {
  const hashes: string[] = [];
  for (let offset = 0; offset < data.length; offset += pieceLength) {
    hashes.push(hex(sha1(data.slice(offset, offset + pieceLength))));
  }
  return hashes;
}

const albumInput = (files: PayloadFile[]) => files.map((f) => ({ path: f.path, data: payloadBytes(f.length, f.seed) }));

describe('sha1', () => {
  it('matches the FIPS 180 test vector', () => {
    expect(hex(sha1(ascii('abc')))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('hashes several chunks as if concatenated', () => {
    expect(hex(sha1([ascii('a'), ascii(''), ascii('bc')]))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(hex(sha1([]))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('returns a plain 20-byte Uint8Array', () => {
    const digest = sha1(ascii('abc'));
    expect(digest.constructor).toBe(Uint8Array);
    expect(digest.length).toBe(20);
  });
});

describe('fixture payload', () => {
  const committed: [string[], PayloadFile][] = [
    [['hello.bin'], singleFile],
    ...albumFiles.map((f): [string[], PayloadFile] => [['album', ...f.path], f]),
  ];
  it.each(committed)('committed %j matches the formula', (path, file) => {
    const onDisk = new Uint8Array(readFileSync(join(payloadRoot, ...path)));
    expect(onDisk).toEqual(payloadBytes(file.length, file.seed));
  });
});

describe('parseTorrent on tool-made torrents', () => {
  describe.each(fixtures)('$file ($tool)', (meta) => {
    const { bytes } = fixture(meta.file);
    const torrent = parseTorrent(bytes);

    it("gives the tool's info hash", () => {
      expect(torrent.infoHashHex).toBe(meta.infoHash);
      expect(hex(torrent.infoHash)).toBe(meta.infoHash);
    });

    it('reads name, sizes and piece count', () => {
      expect(torrent.name).toBe(meta.name);
      expect(torrent.length).toBe(meta.length);
      expect(torrent.pieceLength).toBe(meta.pieceLength);
      expect(torrent.pieceCount).toBe(meta.pieceCount);
      expect(torrent.pieceHashes).toHaveLength(meta.pieceCount);
      for (const hash of torrent.pieceHashes) expect(hash.length).toBe(20);
    });

    it('lists the files with their offsets', () => {
      expect(torrent.multiFile).toBe(meta.name === 'album');
      let offset = 0;
      const expected = meta.files.map((f) => {
        const file = { path: f.path, length: f.length, offset };
        offset += f.length;
        return file;
      });
      expect(torrent.files).toEqual(expected);
    });

    it('reads announce tiers and the private flag', () => {
      expect(torrent.announce).toEqual(meta.announce);
      expect(torrent.private).toBe(meta.private);
    });

    it('keeps the raw info bytes, whose SHA1 is the info hash', () => {
      expect(hex(sha1(torrent.infoBytes))).toBe(meta.infoHash);
      const raw = Buffer.from(bytes);
      expect(raw.indexOf(Buffer.from(torrent.infoBytes))).toBe(raw.indexOf('4:infod') + 6);
    });

    it('has piece hashes of the payload', () => {
      const data = meta.name === 'album'
        ? concat(albumFiles.map((f) => payloadBytes(f.length, f.seed)))
        : payloadBytes(singleFile.length, singleFile.seed);
      expect(torrent.pieceHashes.map(hex)).toEqual(naivePieceHashes(data, meta.pieceLength));
    });

    it('parseInfo of the info bytes agrees with parseTorrent', () => {
      const { announce, urlList, warnings, ...withoutAnnounce } = torrent;
      expect(announce).toBeDefined();
      expect(urlList).toEqual([]);
      // Tool-made torrents parse without a warning.
      expect(warnings).toEqual([]);
      expect(parseInfo(torrent.infoBytes)).toEqual(withoutAnnounce);
    });
  });
});

describe('createTorrent against the tools', () => {
  it('single file: same info hash and info bytes as mktorrent', () => {
    const { meta, bytes } = fixture('single.torrent');
    const made = createTorrent({
      name: 'hello.bin',
      pieceLength: meta.pieceLength,
      files: payloadBytes(singleFile.length, singleFile.seed),
    });
    expect(made.torrent.infoHashHex).toBe(meta.infoHash);
    expect(made.torrent.infoBytes).toEqual(parseTorrent(bytes).infoBytes);
  });

  it('multi-file with a nested folder and an empty file: same info hash as mktorrent', () => {
    const { meta } = fixture('album.torrent');
    const made = createTorrent({ name: 'album', pieceLength: meta.pieceLength, files: albumInput(albumFiles) });
    expect(made.torrent.infoHashHex).toBe(meta.infoHash);
  });

  it('multi-file with private: false: same info hash as transmission-create', () => {
    const { meta } = fixture('album-transmission.torrent');
    // transmission-create drops 0-byte files and writes `private: 0`.
    const made = createTorrent({
      name: 'album',
      pieceLength: meta.pieceLength,
      files: albumInput(albumFiles.filter((f) => f.length > 0)),
      private: false,
    });
    expect(made.torrent.infoHashHex).toBe(meta.infoHash);
  });

  it('private single file: same pieces as mktorrent, same info dict but for its "source" key', () => {
    const { bytes } = fixture('single-private.torrent');
    const tool = parseTorrent(bytes);
    const made = createTorrent({
      name: 'hello.bin',
      pieceLength: tool.pieceLength,
      files: payloadBytes(singleFile.length, singleFile.seed),
      private: true,
    });
    expect(made.torrent.pieceHashes).toEqual(tool.pieceHashes);
    expect(made.torrent.private).toBe(true);

    const toolInfo = bencode.decode(tool.infoBytes);
    expect(new TextDecoder().decode(toolInfo.source)).toBe('SWARMLAB');
    delete toolInfo.source;
    expect(hex(sha1(bencode.encode(toolInfo)))).toBe(made.torrent.infoHashHex);
  });
});

describe('createTorrent', () => {
  it('round-trips through parseTorrent', () => {
    const files = [
      { path: ['docs', 'read me.txt'], data: payloadBytes(700, 9) },
      { path: ['empty'], data: new Uint8Array(0) },
      { path: ['ünïcødé', '音楽.flac'], data: payloadBytes(1500, 10) },
    ];
    const announce = [['http://a.example/announce', 'http://b.example/announce'], ['udp://c.example:80']];
    const made = createTorrent({ name: 'Mixed ✓', pieceLength: 512, files, announce, createdBy: 'swarmlab', private: true });

    const parsed = parseTorrent(made.bytes);
    expect(parsed).toEqual(made.torrent);
    expect(parsed.name).toBe('Mixed ✓');
    expect(parsed.files.map((f) => f.path)).toEqual(files.map((f) => f.path));
    expect(parsed.files.map((f) => f.offset)).toEqual([0, 700, 700]);
    expect(parsed.length).toBe(2200);
    expect(parsed.pieceCount).toBe(5);
    expect(parsed.announce).toEqual(announce);
    expect(parsed.private).toBe(true);
    expect(new TextDecoder().decode(bencode.decode(made.bytes)['created by'])).toBe('swarmlab');
  });

  it('writes a lone tracker as announce only and leaves out private unless asked', () => {
    const made = createTorrent({ name: 'x', pieceLength: 16, files: payloadBytes(20, 1), announce: [['http://t/a']] });
    const top = bencode.decode(made.bytes);
    expect(Object.keys(top).sort()).toEqual(['announce', 'info']);
    expect(Object.keys(top.info).sort()).toEqual(['length', 'name', 'piece length', 'pieces']);
    expect(made.torrent.announce).toEqual([['http://t/a']]);
    expect(made.torrent.private).toBeUndefined();
  });

  it('without trackers has no announce tiers', () => {
    expect(createTorrent({ name: 'x', pieceLength: 16, files: payloadBytes(20, 1) }).torrent.announce).toEqual([]);
  });

  it('hashes pieces that span several files, including files smaller than a piece', () => {
    const sizes = [1, 0, 1000, 3, 4096, 0, 5000, 17];
    const files = sizes.map((size, i) => ({ path: [`f${i}`], data: payloadBytes(size, i) }));
    const { torrent } = createTorrent({ name: 'spans', pieceLength: 1024, files });
    expect(torrent.pieceHashes.map(hex)).toEqual(naivePieceHashes(concat(files.map((f) => f.data)), 1024));
  });

  it('hashes a single file of 16 MiB + 1 byte', () => {
    const data = payloadBytes(16 * 1024 * 1024 + 1, 7);
    const pieceLength = 256 * 1024;
    const { torrent } = createTorrent({ name: 'big.bin', pieceLength, files: data });
    expect(torrent.pieceCount).toBe(65);
    expect(pieceSize(torrent, 64)).toBe(1);
    expect(hex(torrent.pieceHashes[0])).toBe(hex(sha1(data.subarray(0, pieceLength))));
    expect(hex(torrent.pieceHashes[64])).toBe(hex(sha1(data.subarray(64 * pieceLength))));
  });

  it('rejects a piece length that is not a positive integer', () => {
    expectMetainfoError(() => createTorrent({ name: 'x', pieceLength: 0, files: new Uint8Array(1) }), 'info.piece length');
  });

  it('rejects an invalid file name with the path of the offending value', () => {
    const files = [{ path: ['ok'], data: new Uint8Array(1) }, { path: ['..', 'escape'], data: new Uint8Array(1) }];
    expectMetainfoError(() => createTorrent({ name: 'x', pieceLength: 16, files }), 'info.files[1].path[0]');
  });
});

describe('pieceSize', () => {
  const { torrent } = createTorrent({ name: 'x', pieceLength: 100, files: payloadBytes(250, 1) });

  it('is the piece length except for the short last piece', () => {
    expect([0, 1, 2].map((i) => pieceSize(torrent, i))).toEqual([100, 100, 50]);
  });

  it('is the full piece length when the total divides evenly', () => {
    const even = createTorrent({ name: 'x', pieceLength: 100, files: payloadBytes(300, 1) }).torrent;
    expect(pieceSize(even, 2)).toBe(100);
  });

  it('matches the fixtures', () => {
    expect(pieceSize(parseTorrent(fixture('single.torrent').bytes), 2)).toBe(66000 - 2 * 32768);
    expect(pieceSize(parseTorrent(fixture('album.torrent').bytes), 1)).toBe(33000 - 32768);
  });

  it('rejects indices outside the torrent', () => {
    for (const index of [-1, 3, 1.5]) expect(() => pieceSize(torrent, index)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Validation: every rejected input names the path of the offending value.

function expectMetainfoError(action: () => unknown, path: string, message?: RegExp): MetainfoError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MetainfoError);
  const error = caught as MetainfoError;
  expect(error.name).toBe('MetainfoError');
  expect(error.path).toBe(path);
  if (path) expect(error.message.startsWith(`${path}: `)).toBe(true);
  if (message) expect(error.message).toMatch(message);
  return error;
}

const zeroHashes = (count: number) => new Uint8Array(20 * count);

/** A valid single-file info dict (40000 bytes in 16 KiB pieces); `changes` with undefined values delete keys. */
function singleInfo(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'file.bin', 'piece length': 16384, pieces: zeroHashes(3), length: 40000, ...changes };
}

/** A valid multi-file info dict (30 bytes in one piece). */
function multiInfo(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'folder',
    'piece length': 16384,
    pieces: zeroHashes(1),
    files: [
      { length: 10, path: ['a.txt'] },
      { length: 20, path: ['dir', 'b.txt'] },
    ],
    ...changes,
  };
}

function withSecondFile(file: Record<string, unknown>): Record<string, unknown> {
  return multiInfo({ files: [{ length: 10, path: ['a.txt'] }, { length: 20, path: ['dir', 'b.txt'], ...file }] });
}

function torrentBytes(info: unknown, top: Record<string, unknown> = {}): Uint8Array {
  return bencode.encode({ announce: 'http://tracker.example/announce', info, ...top });
}

describe('validation helpers', () => {
  it('build valid torrents', () => {
    expect(parseTorrent(torrentBytes(singleInfo())).pieceCount).toBe(3);
    expect(parseTorrent(torrentBytes(multiInfo())).files).toHaveLength(2);
  });
});

describe('parseTorrent rejects malformed bencoding', () => {
  const cases: [string, string, string, RegExp][] = [
    ['text that is not bencoding', 'hello', '', /not valid bencoding at byte 0: unexpected byte 'h'/],
    ['empty input', '', '', /at byte 0: unexpected end of input/],
    ['a truncated dictionary', 'd4:info', 'info', /at byte 7: unexpected end of input/],
    ['a string running past the end', 'd4:infod4:name99:abcee', 'info.name', /at byte 14: string of 99 bytes runs past the end/],
    ['trailing bytes after the top-level value', 'de0', '', /at byte 2: trailing data/],
    ['an integer with a leading zero', 'd4:infod6:lengthi01eee', 'info.length', /at byte 17: integer has a leading zero/],
    ['negative zero', 'd4:infod6:lengthi-0eee', 'info.length', /negative zero/],
    ['an integer without digits', 'd1:xiee', 'x', /expected a digit in integer/],
    ['a float', 'd1:xi1.5ee', 'x', /at byte 6: expected 'e' to end the integer/],
    ['a string length with a leading zero', 'd1:x01:ae', 'x', /string length has a leading zero/],
    ['a non-string dictionary key', 'di1ei2ee', '', /at byte 1: dictionary key must be a string/],
    ['a duplicate dictionary key', 'd1:xi1e1:xi2ee', '', /at byte 7: duplicate dictionary key "x"/],
    ['a bad value deep inside info.files', 'd4:infod5:filesld6:lengthi1e4:pathl1:ai-eeeeee', 'info.files[0].path[1]', /expected a digit/],
    ['nesting deeper than 100 levels', 'd1:x' + 'l'.repeat(200) + 'e'.repeat(200) + 'e', 'x' + '[0]'.repeat(99), /nested deeper than 100/],
  ];
  it.each(cases)('%s', (_name, input, path, message) => {
    expectMetainfoError(() => parseTorrent(ascii(input)), path, message);
  });
});

describe('parseTorrent rejects invalid metainfo', () => {
  const cases: [string, Uint8Array, string, RegExp?][] = [
    ['a top level that is not a dictionary', bencode.encode(['info']), '', /expected a dictionary at the top level, got list/],
    ['a missing info', bencode.encode({ announce: 'http://t/a' }), 'info', /info: missing/],
    ['an info that is not a dictionary', torrentBytes('text'), 'info', /expected a dictionary, got string/],

    ['a missing name', torrentBytes(singleInfo({ name: undefined })), 'info.name', /missing/],
    ['a name that is not a string', torrentBytes(singleInfo({ name: 5 })), 'info.name', /expected a string, got integer/],
    ['an empty name', torrentBytes(singleInfo({ name: '' })), 'info.name', /must not be empty/],
    ['a name containing "/"', torrentBytes(singleInfo({ name: 'a/b' })), 'info.name', /path separator/],
    ['a name of ".."', torrentBytes(singleInfo({ name: '..' })), 'info.name', /must not be "\.\."/],
    ['a mistyped name.utf-8', torrentBytes(singleInfo({ 'name.utf-8': ['x'] })), 'info.name.utf-8', /expected a string, got list/],

    ['a missing piece length', torrentBytes(singleInfo({ 'piece length': undefined })), 'info.piece length', /missing/],
    ['a piece length that is a string', torrentBytes(singleInfo({ 'piece length': '16384' })), 'info.piece length',
      /^info\.piece length: expected a positive integer, got string$/],
    ['a piece length of zero', torrentBytes(singleInfo({ 'piece length': 0 })), 'info.piece length', /positive integer, got 0/],
    ['a negative piece length', torrentBytes(singleInfo({ 'piece length': -16384 })), 'info.piece length', /positive integer, got -16384/],

    ['missing pieces', torrentBytes(singleInfo({ pieces: undefined })), 'info.pieces', /missing/],
    ['pieces that are not a string', torrentBytes(singleInfo({ pieces: 3 })), 'info.pieces', /expected a string, got integer/],
    ['pieces not a multiple of 20 bytes', torrentBytes(singleInfo({ pieces: new Uint8Array(59) })), 'info.pieces', /length 59 is not a multiple of 20/],
    ['too few piece hashes', torrentBytes(singleInfo({ pieces: zeroHashes(2) })), 'info.pieces', /holds 2 piece hashes.*need 3/],
    ['too many piece hashes', torrentBytes(singleInfo({ pieces: zeroHashes(4) })), 'info.pieces', /holds 4 piece hashes.*need 3/],

    ['neither length nor files', torrentBytes(singleInfo({ length: undefined })), 'info', /found neither/],
    ['both length and files', torrentBytes(multiInfo({ length: 30 })), 'info', /found both/],
    ['a negative length', torrentBytes(singleInfo({ length: -1 })), 'info.length', /non-negative integer, got -1/],
    ['a length that is a string', torrentBytes(singleInfo({ length: '40000' })), 'info.length', /non-negative integer, got string/],
    ['a length beyond 2^53', ascii('d4:infod6:lengthi99999999999999999999e4:name1:x12:piece lengthi1e6:pieces0:ee'), 'info.length', /too large/],

    ['files that are not a list', torrentBytes(multiInfo({ files: { a: 1 } })), 'info.files', /expected a list, got dictionary/],
    ['an empty files list', torrentBytes(multiInfo({ files: [] })), 'info.files', /non-empty list/],
    ['a file entry that is not a dictionary', torrentBytes(multiInfo({ files: [{ length: 10, path: ['a'] }, 'b'] })), 'info.files[1]',
      /expected a dictionary, got string/],
    ['a missing file length', torrentBytes(withSecondFile({ length: undefined })), 'info.files[1].length', /missing/],
    ['a negative file length', torrentBytes(withSecondFile({ length: -20 })), 'info.files[1].length', /non-negative integer, got -20/],
    ['a file length that is a list', torrentBytes(withSecondFile({ length: [20] })), 'info.files[1].length', /got list/],
    ['a missing file path', torrentBytes(withSecondFile({ path: undefined })), 'info.files[1].path', /missing/],
    ['a file path that is a string', torrentBytes(withSecondFile({ path: 'dir/b.txt' })), 'info.files[1].path', /expected a list, got string/],
    ['an empty file path', torrentBytes(withSecondFile({ path: [] })), 'info.files[1].path', /non-empty list/],
    ['an empty path element', torrentBytes(withSecondFile({ path: ['dir', ''] })), 'info.files[1].path[1]', /must not be empty/],
    ['a path element "."', torrentBytes(withSecondFile({ path: ['.', 'b'] })), 'info.files[1].path[0]', /must not be "\."/],
    ['a path element ".."', torrentBytes(withSecondFile({ path: ['..', 'b'] })), 'info.files[1].path[0]', /must not be "\.\."/],
    ['a path element containing "/"', torrentBytes(withSecondFile({ path: ['dir/b'] })), 'info.files[1].path[0]', /path separator/],
    ['a path element containing "\\"', torrentBytes(withSecondFile({ path: ['dir\\b'] })), 'info.files[1].path[0]', /path separator/],
    ['a path element containing NUL', torrentBytes(withSecondFile({ path: ['b\0.txt'] })), 'info.files[1].path[0]', /NUL/],
    ['an absolute path element', torrentBytes(withSecondFile({ path: ['/etc', 'passwd'] })), 'info.files[1].path[0]', /path separator/],
    ['a drive-letter path element', torrentBytes(withSecondFile({ path: ['C:', 'b'] })), 'info.files[1].path[0]', /absolute/],
    ['a path element that is not a string', torrentBytes(withSecondFile({ path: ['dir', 7] })), 'info.files[1].path[1]', /got integer/],
    ['a bad path.utf-8 element', torrentBytes(withSecondFile({ 'path.utf-8': ['..'] })), 'info.files[1].path.utf-8[0]', /\.\./],
    ['two files with the same path', torrentBytes(withSecondFile({ path: ['a.txt'] })), 'info.files[1].path', /duplicates the path of info\.files\[0\]/],

    ['a private flag that is not an integer', torrentBytes(singleInfo({ private: 'yes' })), 'info.private', /got string/],

    // Strict, as libtorrent is about the info dictionary; announce-list and url-list are lenient (below).
    ['an announce that is not a string', torrentBytes(singleInfo(), { announce: 5 }), 'announce', /expected a string, got integer/],
  ];
  it.each(cases)('%s', (_name, input, path, message) => {
    expectMetainfoError(() => parseTorrent(input), path, message);
  });
});

describe('parseInfo', () => {
  it('rejects malformed bencoding under the "info" path', () => {
    expectMetainfoError(() => parseInfo(ascii('d4:name')), 'info.name', /not valid bencoding at byte 7/);
  });

  it('rejects trailing bytes after the info dict', () => {
    expectMetainfoError(() => parseInfo(concat([bencode.encode(singleInfo()), ascii('x')])), 'info', /trailing data/);
  });

  it('rejects a value that is not a dictionary', () => {
    expectMetainfoError(() => parseInfo(bencode.encode([1, 2])), 'info', /expected a dictionary, got list/);
  });

  it('shares the info validation of parseTorrent', () => {
    expectMetainfoError(() => parseInfo(bencode.encode(withSecondFile({ path: ['..'] }))), 'info.files[1].path[0]');
  });

  it('hashes the bytes it was given', () => {
    const infoBytes = bencode.encode(multiInfo());
    expect(parseInfo(infoBytes).infoHash).toEqual(sha1(infoBytes));
  });
});

describe('parseTorrent leniency', () => {
  it('ignores unknown keys but includes them in the info hash', () => {
    const info = singleInfo({ 'x-custom': { nested: [1, 'two'] }, source: 'somewhere' });
    const bytes = torrentBytes(info, { comment: 'hi', 'creation date': 1700000000, 'url-list': ['http://w/'] });
    const torrent = parseTorrent(bytes);
    expect(torrent.name).toBe('file.bin');
    expect(torrent.infoHash).toEqual(sha1(bencode.encode(info)));
  });

  it('hashes the info dict as written, not re-encoded, when its keys are out of order', () => {
    const pieces = '\0'.repeat(20);
    const unsortedInfo = `d4:name1:x6:lengthi5e12:piece lengthi16e6:pieces20:${pieces}e`;
    const torrent = parseTorrent(ascii(`d4:info${unsortedInfo}e`));
    expect(torrent.infoHash).toEqual(sha1(ascii(unsortedInfo)));
    expect(torrent.infoHash).not.toEqual(sha1(bencode.encode(bencode.decode(ascii(unsortedInfo)))));
  });

  it('prefers name.utf-8 and path.utf-8', () => {
    const info = multiInfo({
      'name.utf-8': 'Mappe ✓',
      files: [{ length: 30, path: ['legacy'], 'path.utf-8': ['ordner', 'überall.txt'] }],
    });
    const torrent = parseTorrent(torrentBytes(info));
    expect(torrent.name).toBe('Mappe ✓');
    expect(torrent.files[0].path).toEqual(['ordner', 'überall.txt']);
  });

  it('falls back to announce when announce-list has no trackers', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo(), { 'announce-list': [[]] }));
    expect(torrent.announce).toEqual([['http://tracker.example/announce']]);
  });

  it('ignores an announce-list that is not a list, with a warning, and uses announce (as parse-torrent and libtorrent)', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo(), { 'announce-list': 'http://t/a' }));
    expect(torrent.announce).toEqual([['http://tracker.example/announce']]);
    expect(torrent.warnings).toEqual(['announce-list: expected a list, got string; ignored, announce is used']);
    const alone = parseTorrent(bencode.encode({ info: singleInfo(), 'announce-list': { a: 1 } }));
    expect(alone.announce).toEqual([]);
    expect(alone.warnings).toEqual(['announce-list: expected a list, got dictionary; ignored, and there is no announce']);
  });

  it('skips an announce-list tier that is not a list and a URL that is not a string, one warning each, and keeps the rest', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo(), { 'announce-list': [['http://t/a', 3], 'http://t/b', [['x']], ['udp://t/c:1']] }));
    expect(torrent.announce).toEqual([['http://t/a'], ['udp://t/c:1']]);
    expect(torrent.warnings).toEqual([
      'announce-list[0][1]: expected a string, got integer; this tracker is ignored',
      'announce-list[1]: expected a list, got string; this tier is ignored',
      'announce-list[2][0]: expected a string, got list; this tracker is ignored',
    ]);
  });

  it('falls back to announce when no tier of announce-list has a usable tracker', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo(), { 'announce-list': [[7], 'x'] }));
    expect(torrent.announce).toEqual([['http://tracker.example/announce']]);
    expect(torrent.warnings).toHaveLength(2);
  });

  it('reads url-list (BEP 19) as one URL or a list of them', () => {
    expect(parseTorrent(torrentBytes(singleInfo(), { 'url-list': 'http://w.example/file.bin' })).urlList).toEqual(['http://w.example/file.bin']);
    const listed = parseTorrent(torrentBytes(singleInfo(), { 'url-list': ['http://a.example/', 'https://b.example/x/'] }));
    expect(listed.urlList).toEqual(['http://a.example/', 'https://b.example/x/']);
    expect(listed.warnings).toEqual([]);
    // An empty string (some creators write one for "no web seed") is nothing, without a warning.
    const empty = parseTorrent(torrentBytes(singleInfo(), { 'url-list': '' }));
    expect([empty.urlList, empty.warnings]).toEqual([[], []]);
    expect(parseTorrent(torrentBytes(singleInfo())).urlList).toEqual([]);
  });

  it('ignores a wrong-typed url-list, or entry of it, with a warning', () => {
    const wrong = parseTorrent(torrentBytes(singleInfo(), { 'url-list': 5 }));
    expect(wrong.urlList).toEqual([]);
    expect(wrong.warnings).toEqual(['url-list: expected a string or a list of strings, got integer; no web seeds are used']);
    const mixed = parseTorrent(torrentBytes(singleInfo(), { 'url-list': ['http://a.example/', { u: 1 }, 'http://b.example/'] }));
    expect(mixed.urlList).toEqual(['http://a.example/', 'http://b.example/']);
    expect(mixed.warnings).toEqual(['url-list[1]: expected a string, got dictionary; this web seed is ignored']);
  });

  it('keeps at most METAINFO_LIMITS.warnings warnings and counts the rest', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo(), { 'url-list': Array.from({ length: 1000 }, (_, i) => i) }));
    expect(torrent.warnings).toHaveLength(METAINFO_LIMITS.warnings + 1);
    expect(torrent.warnings.at(-1)).toBe(`${1000 - METAINFO_LIMITS.warnings} more warnings not shown`);
  });

  it('has no tiers without announce or announce-list', () => {
    expect(parseTorrent(bencode.encode({ info: singleInfo() })).announce).toEqual([]);
  });

  it('reads private: 0 as not private', () => {
    expect(parseTorrent(torrentBytes(singleInfo({ private: 0 }))).private).toBe(false);
  });

  it('accepts an empty single file with no pieces', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo({ length: 0, pieces: new Uint8Array(0) })));
    expect(torrent.pieceCount).toBe(0);
    expect(torrent.files).toEqual([{ path: ['file.bin'], length: 0, offset: 0 }]);
  });

  it('is not fooled by a "__proto__" key', () => {
    const bytes = ascii(`d4:infod9:__proto__d4:name1:xe6:lengthi1e12:piece lengthi1e6:pieces20:${'\0'.repeat(20)}ee`);
    expectMetainfoError(() => parseTorrent(bytes), 'info.name', /missing/);
  });
});

// Type-level check that the Torrent shape stays as documented for other modules.
const _shape: (keyof Torrent)[] = ['infoHash', 'infoHashHex', 'name', 'pieceLength', 'pieceHashes', 'pieceCount', 'length',
  'files', 'multiFile', 'announce', 'urlList', 'warnings', 'infoBytes', 'private'];
void _shape;

describe('limits (METAINFO_LIMITS)', () => {
  const GiB = 2 ** 30;

  it('a piece length of 2 GiB (or 4 GiB, or 2^53) is a clear error naming the field and the limit, not a RangeError later', () => {
    for (const pieceLength of [2 * GiB, 4 * GiB, 2 ** 53 - 1]) {
      expectMetainfoError(() => parseTorrent(torrentBytes(singleInfo({ 'piece length': pieceLength, length: 10, pieces: zeroHashes(1) }))),
        'info.piece length', new RegExp(`^info\\.piece length: piece length ${pieceLength} is over the limit of 268435456$`));
    }
  });

  it('accepts the largest piece length, 256 MiB', () => {
    const torrent = parseTorrent(torrentBytes(singleInfo({ 'piece length': METAINFO_LIMITS.pieceLength, length: 10, pieces: zeroHashes(1) })));
    expect(torrent.pieceLength).toBe(256 * 1024 * 1024);
  });

  it('the magnet path (parseInfo) and createTorrent check the piece length too', () => {
    expectMetainfoError(() => parseInfo(bencode.encode(singleInfo({ 'piece length': 2 * GiB, length: 10, pieces: zeroHashes(1) }))), 'info.piece length', /over the limit/);
    expectMetainfoError(() => createTorrent({ name: 'x', pieceLength: 2 * GiB, files: new Uint8Array(1) }), 'info.piece length', /over the limit of 268435456/);
  });

  it('a payload over 2^48 - 1 bytes is refused at the file that crosses the limit', () => {
    expectMetainfoError(() => parseTorrent(torrentBytes(singleInfo({ length: 2 ** 48, pieces: zeroHashes(1) }))),
      'info.length', /length 281474976710656 is over the limit of 281474976710655/);
    const files = [{ length: 2 ** 47, path: ['a'] }, { length: 2 ** 47, path: ['b'] }];
    expectMetainfoError(() => parseTorrent(torrentBytes(multiInfo({ files }))), 'info.files[1].length', /total length of the files 281474976710656 is over the limit/);
  });

  it('a file path deeper than 100 components is refused', () => {
    const path = Array.from({ length: 101 }, () => 'd');
    expectMetainfoError(() => parseTorrent(torrentBytes(withSecondFile({ path }))), 'info.files[1].path', /path depth 101 is over the limit of 100/);
    expect(parseTorrent(torrentBytes(withSecondFile({ path: path.slice(1) }))).files[1].path).toHaveLength(100);
  });

  it('more than a million files is refused before any is read', () => {
    const entry = ascii('de');
    const count = METAINFO_LIMITS.fileCount + 1;
    const list = new Uint8Array(2 + count * entry.length);
    list[0] = 0x6c; // 'l'
    for (let i = 0; i < count; i++) list.set(entry, 1 + i * entry.length);
    list[list.length - 1] = 0x65; // 'e'
    const before = ascii('d5:files');
    const after = ascii('4:name1:x12:piece lengthi16384e6:pieces0:e');
    expectMetainfoError(() => parseInfo(concat([before, list, after])), 'info.files', /file count 1000001 is over the limit of 1000000/);
  });
});
