// Storage for a virtual peer that shares the swarm's one copy of the payload.
//
// A thousand peers of a 16 MiB torrent must not hold sixteen gigabytes. Every block written is
// compared with the payload (or recognised as a view of it, which costs nothing): a matching block
// is only marked, a differing one (corrupt data) is kept privately. Reads of matching ranges are
// views of the shared payload.

import type { Storage } from '../engine/ports.ts';
import { checkRange } from '../engine/memory-storage.ts';
import { BLOCK_SIZE } from '../engine/wire.ts';
import { sha1 } from '../engine/metainfo.ts';

const UNWRITTEN = 0;
const SHARED = 1;
const PRIVATE = 2;

export class SharedPayloadStorage implements Storage {
  /** Per 16 KiB unit: never written, equal to the payload, or held privately. */
  private readonly state: Uint8Array;
  private readonly own = new Map<number, Uint8Array>();

  constructor(
    private readonly payload: Uint8Array,
    complete = false,
    /** Digests of payload ranges, shared by every peer's storage over the same payload. */
    private readonly digests: Map<string, Uint8Array> = new Map(),
  ) {
    this.state = new Uint8Array(Math.ceil(payload.length / BLOCK_SIZE)).fill(complete ? SHARED : UNWRITTEN);
  }

  get privateBytes(): number {
    let n = 0;
    for (const b of this.own.values()) n += b.length;
    return n;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.payload.length);
    const first = Math.floor(offset / BLOCK_SIZE);
    const last = Math.floor((offset + length - 1) / BLOCK_SIZE);
    let allShared = true;
    for (let u = first; u <= last && allShared; u++) allShared = this.state[u] === SHARED;
    if (allShared || length === 0) return this.payload.subarray(offset, offset + length);
    const out = new Uint8Array(length);
    for (let u = first; u <= last; u++) {
      const unitStart = u * BLOCK_SIZE;
      const from = Math.max(offset, unitStart);
      const to = Math.min(offset + length, unitStart + BLOCK_SIZE, this.payload.length);
      const src = this.unit(u);
      if (src) out.set(src.subarray(from - unitStart, to - unitStart), from - offset);
    }
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    checkRange(offset, bytes.length, this.payload.length);
    let pos = 0;
    while (pos < bytes.length) {
      const at = offset + pos;
      const u = Math.floor(at / BLOCK_SIZE);
      const unitStart = u * BLOCK_SIZE;
      const unitEnd = Math.min(unitStart + BLOCK_SIZE, this.payload.length);
      const n = Math.min(bytes.length - pos, unitEnd - at);
      const part = bytes.subarray(pos, pos + n);
      if (at === unitStart && n === unitEnd - unitStart) this.writeWholeUnit(u, part);
      else this.writePartialUnit(u, at - unitStart, part);
      pos += n;
    }
  }

  flush(): void {}

  /**
   * The SHA1 of a range that is all shared: every byte was compared with the payload when it was
   * written, so it is the digest of the payload's own bytes there, hashed once for the whole swarm
   * (1,000 peers verify each piece once each; SHA1 would be most of the run).
   */
  knownDigest(offset: number, length: number): Uint8Array | undefined {
    if (length === 0) return undefined;
    const first = Math.floor(offset / BLOCK_SIZE);
    const last = Math.floor((offset + length - 1) / BLOCK_SIZE);
    for (let u = first; u <= last; u++) if (this.state[u] !== SHARED) return undefined;
    const key = `${offset}+${length}`;
    let digest = this.digests.get(key);
    if (!digest) this.digests.set(key, (digest = sha1(this.payload.subarray(offset, offset + length))));
    return digest;
  }

  /** True when every byte equals the payload. */
  matchesPayload(): boolean {
    return this.state.every((s) => s === SHARED);
  }

  private writeWholeUnit(u: number, part: Uint8Array): void {
    const start = u * BLOCK_SIZE;
    const sameView = part.buffer === this.payload.buffer && part.byteOffset === this.payload.byteOffset + start;
    if (sameView || Buffer.compare(part, this.payload.subarray(start, start + part.length)) === 0) {
      this.state[u] = SHARED;
      this.own.delete(u);
    } else {
      this.state[u] = PRIVATE;
      this.own.set(u, part.slice());
    }
  }

  private writePartialUnit(u: number, within: number, part: Uint8Array): void {
    const start = u * BLOCK_SIZE;
    const size = Math.min(BLOCK_SIZE, this.payload.length - start);
    const current = this.unit(u) ?? new Uint8Array(size);
    const copy = current.slice();
    copy.set(part, within);
    this.writeWholeUnit(u, copy);
  }

  private unit(u: number): Uint8Array | undefined {
    if (this.state[u] === SHARED) {
      const start = u * BLOCK_SIZE;
      return this.payload.subarray(start, Math.min(start + BLOCK_SIZE, this.payload.length));
    }
    return this.own.get(u);
  }
}
