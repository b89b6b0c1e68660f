// Node ids and info-hashes share one 160-bit space (BEP 5); closeness is the XOR of two ids read
// as an unsigned integer. Pure.

import type { Random } from '../ports.ts';

export const ID_BYTES = 20;
export const ID_BITS = ID_BYTES * 8;

/** A 20-byte node id or info-hash. */
export type NodeId = Uint8Array;

/** A uniformly random id from the port's randomness. */
export function randomId(random: Random): NodeId {
  const id = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) id[i] = Math.floor(random.next() * 256);
  return id;
}

/** a XOR b. */
export function xorDistance(a: NodeId, b: NodeId): Uint8Array {
  const d = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) d[i] = a[i] ^ b[i];
  return d;
}

/** Negative when `a` is closer to `target` than `b`, positive when farther, 0 when a = b. */
export function compareDistance(a: NodeId, b: NodeId, target: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i] ^ target[i], db = b[i] ^ target[i];
    if (da !== db) return da - db;
  }
  return 0;
}

/** Leading bits `a` and `b` share (160 when equal): the index of the bucket `b` falls in for `a`. */
export function commonPrefixLength(a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/** A random id sharing exactly `prefix` leading bits with `ours` (the range of bucket `prefix`); `prefix` ≤ 159. */
export function randomIdWithPrefix(random: Random, ours: NodeId, prefix: number): NodeId {
  const id = randomId(random);
  const whole = prefix >> 3, bit = prefix & 7;
  for (let i = 0; i < whole; i++) id[i] = ours[i];
  // Bits before `bit` from ours, bit `bit` flipped, the rest random.
  const keep = (0xff00 >> bit) & 0xff;
  const flip = 0x80 >> bit;
  id[whole] = (ours[whole] & keep) | (~ours[whole] & flip) | (id[whole] & ~(keep | flip) & 0xff);
  return id;
}

/** The id as a string key for maps (latin-1, one char per byte). */
export function idKey(id: NodeId): string {
  return String.fromCharCode.apply(null, id as unknown as number[]);
}
