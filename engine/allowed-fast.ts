// BEP 6's allowed-fast set: the pieces a peer may request from us while we choke it, generated
// from its IPv4 address and the info-hash with the BEP's algorithm (so both ends could compute it),
// and the address that algorithm takes for a host that is not a dotted IPv4 address.

import { utf8Bytes } from './bytes.ts';
import { sha1 } from './metainfo.ts';

/** Most allowed-fast pieces we generate for, or remember from, one peer (bounds per-peer state). */
export const MAX_ALLOWED_FAST = 100;

/**
 * BEP 6: x = the first three bytes of the IPv4 address (a /24, so peers behind one NAT share a
 * set) followed by the info-hash; then, until k distinct pieces are found, x = SHA1(x) and each of
 * its five 4-byte big-endian words, modulo the piece count, is a piece (duplicates skipped).
 * `k` is capped at the piece count (and at MAX_ALLOWED_FAST). `wholeAddress` keeps the last byte
 * (see `allowedFastInput`).
 */
export function allowedFastSet(ipv4: Uint8Array, infoHash: Uint8Array, pieceCount: number, k: number, wholeAddress = false): number[] {
  if (ipv4.length !== 4) throw new RangeError(`allowed-fast set: an IPv4 address has 4 bytes, got ${ipv4.length}`);
  if (infoHash.length !== 20) throw new RangeError(`allowed-fast set: an info-hash has 20 bytes, got ${infoHash.length}`);
  const want = Math.min(k, pieceCount, MAX_ALLOWED_FAST);
  const set: number[] = [];
  if (want <= 0) return set;
  let x: Uint8Array = new Uint8Array(24);
  x.set(wholeAddress ? ipv4 : ipv4.subarray(0, 3)); // & 0xFFFFFF00 unless whole: the last byte stays 0
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
 * What the algorithm takes for `host`: its IPv4 address (`allowedFastAddress`), whole when it is a
 * loopback or private address. libtorrent does so: against libtorrent 2.0.8 on 127.0.0.1 its set
 * for us is the one of the unmasked 127.0.0.1 (test/live-libtorrent-fast.test.ts) — on a LAN every
 * peer shares one /24, and masking would give them all the same set. Private ranges are treated
 * like loopback on that reasoning (not observed).
 */
export function allowedFastInput(host: string): { ipv4: Uint8Array; wholeAddress: boolean } {
  const ipv4 = allowedFastAddress(host);
  const literal = /^(?:::ffff:)?\d{1,3}(?:\.\d{1,3}){3}$/i.test(host);
  const [a, b] = ipv4;
  const local = literal && (a === 127 || a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 169 && b === 254));
  return { ipv4, wholeAddress: local };
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
  return sha1(utf8Bytes(host)).slice(0, 4);
}
