// Compact peer addresses (BEP 23 and BEP 7, used by BEP 11's ut_pex and BEP 5's DHT): an IPv4
// address in 4 bytes or an IPv6 address in 16, then the port in 2, all big-endian. One codec for
// every message that carries them. Pure.

import type { PeerAddress } from './ports.ts';

export type IpLength = 4 | 16;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for a dotted-quad IPv4 literal (each part 0..255). */
export function isIpv4(host: string): boolean {
  const m = IPV4.exec(host);
  return m !== null && m.slice(1).every((part) => Number(part) <= 255);
}

/** Writes one address as `ipLength + 2` bytes at `at` of `out`. */
export function writeCompactAddress(out: Uint8Array, at: number, a: PeerAddress, ipLength: IpLength): void {
  if (ipLength === 4) writeIpv4(out, at, a.host);
  else out.set(ipv6Bytes(a.host), at);
  out[at + ipLength] = a.port >> 8;
  out[at + ipLength + 1] = a.port & 0xff;
}

/** Addresses as consecutive compact entries. */
export function encodeCompactAddresses(addresses: readonly PeerAddress[], ipLength: IpLength): Uint8Array {
  const out = new Uint8Array(addresses.length * (ipLength + 2));
  addresses.forEach((a, i) => writeCompactAddress(out, i * (ipLength + 2), a, ipLength));
  return out;
}

/** The address at `at` (`ipLength + 2` bytes); its port may be 0, which the caller judges. */
export function readCompactAddress(bytes: Uint8Array, at: number, ipLength: IpLength): PeerAddress {
  const port = (bytes[at + ipLength] << 8) | bytes[at + ipLength + 1];
  const ip = bytes.subarray(at, at + ipLength);
  return { host: ipLength === 4 ? `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}` : ipv6Text(ip), port };
}

/**
 * The whole entries of `bytes`, skipping port 0 (it cannot be dialled); `partial` is true when
 * the length is not a whole number of entries (the tail is ignored).
 */
export function decodeCompactAddresses(bytes: Uint8Array, ipLength: IpLength): { addresses: PeerAddress[]; partial: boolean } {
  const size = ipLength + 2;
  const addresses: PeerAddress[] = [];
  for (let at = 0; at + size <= bytes.length; at += size) {
    const a = readCompactAddress(bytes, at, ipLength);
    if (a.port !== 0) addresses.push(a);
  }
  return { addresses, partial: bytes.length % size !== 0 };
}

/** Dotted-quad digits straight into bytes (no split: the DHT writes 8 nodes per reply). */
function writeIpv4(out: Uint8Array, at: number, host: string): void {
  let part = 0, value = 0;
  for (let i = 0; i < host.length && part < 4; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e) {
      out[at + part++] = value;
      value = 0;
    } else value = value * 10 + (c - 0x30);
  }
  if (part < 4) out[at + part] = value;
}

function ipv6Bytes(host: string): Uint8Array {
  const [head, tail = ''] = host.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const h = parts(head), t = host.includes('::') ? parts(tail) : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16) || 0;
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

function ipv6Text(ip: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  return groups.join(':');
}
