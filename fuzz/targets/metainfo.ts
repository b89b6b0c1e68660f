// Metainfo parsing (engine/metainfo.ts parseTorrent, and its strict scanner) and where storage
// would put each file. Input: a real torrent (the fixtures) or one built with hostile values
// (names, paths, lengths, piece lengths at 2^31 and 2^32, duplicate files, `.utf-8` variants),
// then maybe mutated byte-wise. Properties: parseTorrent gives a Torrent or a MetainfoError, never
// another throw; an accepted torrent is consistent (info-hash = SHA1 of the info value's exact
// bytes, which the scanner located in the input; lengths, offsets and piece count agree; every
// path segment is safe; parseInfo of its info bytes agrees); a fixture keeps its known info-hash;
// trackers and web seeds kept are non-empty strings and warnings bounded (a wrong-typed
// announce-list or url-list is a warning, not an error); the storage-layout properties hold.

import * as fc from 'fast-check';
import { type BInput, bencodeValue } from '../../engine/bdecode.ts';
import { METAINFO_LIMITS, MetainfoError, parseInfo, parseTorrent, sha1, type Torrent } from '../../engine/metainfo.ts';
import { fixtureTorrents, pathComponent } from '../hostile.ts';
import { ascii, mutatedBytes } from '../mutate.ts';
import { bytesEqual, toHex } from '../../engine/bytes.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';
import { checkLayout } from './storage-layout.ts';

const length = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constantFrom(-1, 2 ** 31, 2 ** 32, 2 ** 53 - 1));
const pieceLength = fc.oneof(fc.constantFrom(1, 16384, 32768, 2 ** 31, 2 ** 32, 0, -16384, 2 ** 53 - 1), fc.integer({ min: 1, max: 70_000 }));
const segmentValue: fc.Arbitrary<BInput> = fc.oneof({ weight: 9, arbitrary: pathComponent }, { weight: 1, arbitrary: fc.constantFrom<BInput>(7, [], {}) });

/** Hash bytes for the piece count the lengths need (or a wrong count), never a huge allocation. */
function piecesFor(total: number, pieceLen: number, skew: number): Uint8Array {
  const needed = pieceLen > 0 && total >= 0 ? Math.ceil(total / pieceLen) : 1;
  const count = Math.max(0, (needed <= 4096 ? needed : 3) + skew);
  return new Uint8Array(count * 20).map((_, i) => (i * 37) & 0xff);
}

const builtTorrent = fc
  .record({
    name: pathComponent,
    nameUtf8: fc.option(pathComponent, { freq: 4 }),
    pieceLength,
    multiFile: fc.boolean(),
    single: length,
    files: fc.array(fc.record({ path: fc.array(segmentValue, { maxLength: 4 }), length, pathUtf8: fc.option(fc.array(pathComponent, { minLength: 1, maxLength: 3 }), { freq: 5 }) }), { maxLength: 5 }),
    duplicateFirst: fc.boolean(),
    skew: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 1 }) }),
    privateFlag: fc.option(fc.constantFrom<BInput>(0, 1, 2, -1, 'yes'), { freq: 3 }),
    announce: fc.option(fc.constantFrom<BInput>('http://t.example/announce', 'udp://127.0.0.1:6969', '', 5), { freq: 2 }),
    announceList: fc.option(fc.constantFrom<BInput>([['http://a/']], [[], ['udp://b:1']], [[7]], 'x', [[]], ['y', ['http://c/', 8]]), { freq: 3 }),
    urlList: fc.option(fc.constantFrom<BInput>('http://w.example/', ['http://w/', 'https://v/x/'], ['http://w/', 5, ''], '', 7, { u: 'x' }), { freq: 3 }),
  })
  .map((t) => {
    const info: { [key: string]: BInput } = { name: t.name, 'piece length': t.pieceLength };
    if (t.nameUtf8 !== null) info['name.utf-8'] = t.nameUtf8;
    let total = 0;
    if (t.multiFile) {
      const files = t.files.map((f) => {
        total += f.length;
        const entry: { [key: string]: BInput } = { length: f.length, path: f.path };
        if (f.pathUtf8 !== null) entry['path.utf-8'] = f.pathUtf8;
        return entry;
      });
      if (t.duplicateFirst && files.length > 0) files.push(files[0]);
      info.files = files;
    } else {
      info.length = t.single;
      total = t.single;
    }
    info.pieces = piecesFor(total, t.pieceLength, t.skew);
    if (t.privateFlag !== null) info.private = t.privateFlag;
    const metainfo: { [key: string]: BInput } = { info };
    if (t.announce !== null) metainfo.announce = t.announce;
    if (t.announceList !== null) metainfo['announce-list'] = t.announceList;
    if (t.urlList !== null) metainfo['url-list'] = t.urlList;
    return bencodeValue(metainfo);
  });

const TOKENS = ['i', 'e', 'l', 'd', ':', '-', 'i-1e', 'i0e', '4:info', '6:length', '2:..', '1:/', 'i2147483648e', 'i4294967296e', 'i9007199254740993e', 'de', 'le'].map(ascii);

export interface MetainfoInput {
  bytes: Uint8Array;
  mutated: boolean;
  /** The known info-hash (hex) of a fixture. */
  fixtureHash?: string;
}

export const metainfoTarget: FuzzTarget<MetainfoInput> = {
  name: 'metainfo',
  description: 'engine/metainfo.ts parseTorrent/parseInfo: typed errors, consistent torrents, info-hash over exact bytes, safe layout',
  ciRuns: 300,
  slowMs: 200,
  arbitrary: fc.oneof(
    fc.constantFrom(...fixtureTorrents).chain((f) => mutatedBytes(fc.constant(f.bytes), TOKENS).map(({ bytes, mutated }) => ({ bytes, mutated, ...(mutated ? {} : { fixtureHash: f.infoHash }) }))),
    mutatedBytes(builtTorrent, TOKENS, 3),
  ),
  check: checkMetainfo,
};

function checkMetainfo(input: MetainfoInput): void {
  const outcome = typedOutcome(() => parseTorrent(input.bytes), [MetainfoError], 'parseTorrent');
  if ('error' in outcome) {
    expect(typeof (outcome.error as MetainfoError).path === 'string', 'MetainfoError without a path');
    expect(!input.fixtureHash, () => `a real torrent (${input.fixtureHash}) was refused: ${outcome.error.message}`);
    return;
  }
  const t = outcome.value;
  checkConsistent(t, input.bytes);
  if (input.fixtureHash) expect(t.infoHashHex === input.fixtureHash, `info-hash ${t.infoHashHex}, the tools that made the file say ${input.fixtureHash}`);
  const info = typedOutcome(() => parseInfo(t.infoBytes), [MetainfoError], 'parseInfo');
  expect('value' in info, () => `parseInfo refused the info bytes parseTorrent accepted: ${'error' in info ? info.error.message : ''}`);
  expect(info.value.infoHashHex === t.infoHashHex && info.value.length === t.length && info.value.files.length === t.files.length, 'parseInfo disagrees with parseTorrent');
  checkLayout(t);
}

function checkConsistent(t: Torrent, bytes: Uint8Array): void {
  expect(bytesEqual(t.infoHash, sha1(t.infoBytes)) && t.infoHashHex === toHex(t.infoHash), 'info-hash is not the SHA1 of infoBytes');
  const key = ascii('4:info');
  let found = false;
  for (let at = 0; at + key.length + t.infoBytes.length <= bytes.length && !found; at++) {
    found = bytesEqual(bytes.subarray(at, at + key.length), key) && bytesEqual(bytes.subarray(at + key.length, at + key.length + t.infoBytes.length), t.infoBytes);
  }
  expect(found, 'infoBytes are not the bytes after the "info" key of the input');
  expect(Number.isSafeInteger(t.pieceLength) && t.pieceLength > 0, `piece length ${t.pieceLength}`);
  let offset = 0;
  for (const [i, f] of t.files.entries()) {
    expect(f.offset === offset && Number.isSafeInteger(f.length) && f.length >= 0, `file ${i}: offset ${f.offset} / length ${f.length}, expected offset ${offset}`);
    offset += f.length;
    expect(f.path.length > 0, `file ${i} has an empty path`);
    for (const s of f.path) expect(s !== '' && s !== '.' && s !== '..' && !/[/\\\0]/.test(s), `file ${i} has the unsafe path segment ${JSON.stringify(s)}`);
  }
  expect(offset === t.length, `files add up to ${offset} bytes, the torrent says ${t.length}`);
  expect(t.pieceCount === Math.ceil(t.length / t.pieceLength) && t.pieceHashes.length === t.pieceCount, `piece count ${t.pieceCount} for ${t.length} bytes in pieces of ${t.pieceLength}`);
  expect(t.pieceHashes.every((h) => h.length === 20), 'a piece hash is not 20 bytes');
  const joined = new Set(t.files.map((f) => f.path.join('/')));
  expect(joined.size === t.files.length, 'two files have the same path');
  // Lenient outside the info dictionary, but what it keeps is usable and its warnings are bounded.
  expect(t.announce.every((tier) => tier.length > 0 && tier.every((u) => typeof u === 'string' && u !== '')), 'an empty tier or tracker URL was kept');
  expect(t.urlList.every((u) => typeof u === 'string' && u !== ''), 'an empty or non-string web seed was kept');
  expect(t.warnings.length <= METAINFO_LIMITS.warnings + 1, `${t.warnings.length} warnings, over the limit`);
}
