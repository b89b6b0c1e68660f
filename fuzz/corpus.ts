// The corpus: one JSON file per input under fuzz/corpus/<target>/, replayed before every run.
// Inputs are plain data; byte arrays are written as {"$base64": "..."} so a file can be read and
// edited by hand. A file's name is the SHA1 of its input, so the same reproducer is saved once.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = fileURLToPath(new URL('./corpus/', import.meta.url));

export interface CorpusEntry {
  target: string;
  /** 'crash': a reproducer that must pass once the bug is fixed; 'slow': over the time bound. */
  kind: 'crash' | 'slow';
  /** What the input broke when it was found. */
  found: string;
  seed?: number;
  input: unknown;
}

export function encodeInput(input: unknown): string {
  return JSON.stringify(
    input,
    (_key, value) => (value instanceof Uint8Array ? { $base64: Buffer.from(value).toString('base64') } : value),
    1,
  );
}

export function decodeInput(json: string): unknown {
  return JSON.parse(json, (_key, value) =>
    value !== null && typeof value === 'object' && typeof value.$base64 === 'string' && Object.keys(value).length === 1
      ? new Uint8Array(Buffer.from(value.$base64, 'base64'))
      : value,
  );
}

export function loadCorpus(target: string, dir = CORPUS_DIR): { file: string; entry: CorpusEntry }[] {
  const folder = join(dir, target);
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const file = join(folder, name);
    const entry = decodeInput(readFileSync(file, 'utf8')) as CorpusEntry;
    return { file, entry };
  });
}

/** Writes an entry and returns its path; an input already in the corpus keeps its first record. */
export function saveCorpusEntry(entry: CorpusEntry, dir = CORPUS_DIR): string {
  const folder = join(dir, entry.target);
  mkdirSync(folder, { recursive: true });
  const inputJson = encodeInput(entry.input);
  const name = `${entry.kind}-${createHash('sha1').update(inputJson).digest('hex').slice(0, 16)}.json`;
  const file = join(folder, name);
  if (!existsSync(file)) writeFileSync(file, `${encodeInput(entry)}\n`);
  return file;
}
