// Hostile values that several targets draw from: path components a torrent may carry (traversal,
// separators, control characters, names that collide once sanitised, over-long names), and a
// pool of real torrents (the fixtures, made by mktorrent and Transmission).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));

export interface FixtureTorrent {
  file: string;
  infoHash: string;
  bytes: Uint8Array;
}

export const fixtureTorrents: FixtureTorrent[] = (JSON.parse(readFileSync(`${FIXTURES}torrents.json`, 'utf8')) as { file: string; infoHash: string }[]).map((f) => ({
  file: f.file,
  infoHash: f.infoHash,
  bytes: new Uint8Array(readFileSync(`${FIXTURES}${f.file}`)),
}));

/** A file or folder name: ordinary, or one of the shapes that broke clients before. */
export const pathComponent: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'x', 'x.txt', 'sub', 'README', 'A', 'x_', 'x\u0007', 'x\u0001', 'x\u0002', 'x\u001f') },
  { weight: 2, arbitrary: fc.constantFrom('..', '.', '', '/', '\\', 'a/b', '..\\x', 'C:', 'c:\\x', '\u0000', 'x\u0000y', ' ', '~', '$HOME', 'CON', 'nul.txt', '\u202e', 'é', 'e\u0301') },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 400 }).chain((n) => fc.constantFrom('a', 'é', '日').map((ch) => `${ch.repeat(n)}.bin`)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: 'binary' }) },
);
