// BEP 6's allowed-fast set: the pieces a peer may request from us while we choke it, generated
// from its IPv4 address and the info-hash with the BEP's algorithm (so both ends could compute it),
// and the address that algorithm takes for a host that is not a dotted IPv4 address.

import { sha1 } from './metainfo.ts';

/** Most allowed-fast pieces we generate for, or remember from, one peer (bounds per-peer state). */
export const MAX_ALLOWED_FAST = 100;

/**
 * BEP 6: x = the first three bytes of the IPv4 address (a /24, so peers behind one NAT share a
 * set) followed by the info-hash; then, until k distinct pieces are found, x = SHA1(x) and each of
 * its five 4-byte big-endian words, modulo the piece count, is a piece (duplicates skipped).
 * `k` is capped at the piece count (and at MAX_ALLOWED_FAST).
 */
export function allowedFastSet(ipv4: Uint8Array, infoHash: Uint8Array, pieceCount: number, k: number): number[] {
  if (ipv4.length !== 4) throw new RangeError(`allowed-fast set: an IPv4 address has 4 bytes, got ${ipv4.length}`);
  if (infoHash.length !== 20) throw new RangeError(`allowed-fast set: an info-hash has 20 bytes, got ${infoHash.length}`);
  const want = Math.min(k, pieceCount, MAX_ALLOWED_FAST);
  const set: number[] = [];
  if (want <= 0) return set;
  let x: Uint8Array = new Uint8Array(24);
  x.set(ipv4.subarray(0, 3)); // & 0xFFFFFF00: the last byte stays 0
  x.set(infoHash, 4);
  while (set.length < want) {
    x = sha1(x);
    const view = new DataView(x.buffer, x.byteOffset, x.byteLength);
    for (let i = 0; i < 5 && set.length < want; i++) {
      const index = view.getUint32(i * 4) % pieceCount;
      if (!set.includes(index)) set.push(index);
    }
  }
  return set;
}

/**
 * The IPv4 address the algorithm takes for `host`: a dotted IPv4 address (or an IPv4-mapped IPv6
 * one) as it is; anything else — a simulator host label, an IPv6 address — the first four bytes
 * of SHA1(host), a stable stand-in, so the simulator's sets are as spread as real ones.
 */
export function allowedFastAddress(host: string): Uint8Array {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(host);
  if (v4) {
    const bytes = v4.slice(1).map(Number);
    if (bytes.every((b) => b <= 255)) return Uint8Array.from(bytes);
  }
  return sha1(new TextEncoder().encode(host)).slice(0, 4);
}
