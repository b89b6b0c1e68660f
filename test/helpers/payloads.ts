// Payloads on disk for the live tests: temporary folders, random files and folders whose sizes do
// not line up with pieces, and a byte-for-byte comparison of a download with its original.

import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `swarmlab-${tag}-`));
}

/** A single file of `size` random bytes at dir/name. */
export function singlePayload(dir: string, name: string, size: number): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, randomBytes(size));
  return path;
}

/** A folder dir/name with files whose sizes do not line up with pieces (pieces span files). */
export function multiPayload(dir: string, name: string, withEmpty = true): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'a.bin'), randomBytes(1_500_001));
  writeFileSync(join(root, 'sub', 'b.txt'), randomBytes(70_000));
  writeFileSync(join(root, 'sub', 'deeper', 'c.dat'), randomBytes(900_123));
  if (withEmpty) writeFileSync(join(root, 'sub', 'empty'), new Uint8Array(0));
  return root;
}

export function copyTree(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

function listTree(root: string): string[] {
  if (statSync(root).isFile()) return [''];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Byte-for-byte comparison of a downloaded file or folder with the original. Returns the
 * differences (empty when equal). Zero-length files may be absent when `allowMissingEmpty`.
 */
export function compareTrees(original: string, copy: string, o: { allowMissingEmpty?: boolean } = {}): string[] {
  if (!existsSync(copy)) return [`${copy} does not exist`];
  const diffs: string[] = [];
  for (const rel of listTree(original)) {
    const a = join(original, rel);
    const b = join(copy, rel);
    const dataA = readFileSync(a);
    if (!existsSync(b)) {
      if (!(o.allowMissingEmpty && dataA.length === 0)) diffs.push(`missing: ${rel || copy}`);
      continue;
    }
    if (Buffer.compare(dataA, readFileSync(b)) !== 0) diffs.push(`differs: ${rel || copy}`);
  }
  return diffs;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
