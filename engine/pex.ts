// BEP 11 Peer Exchange (ut_pex): the message codec. A PEX message is a bencoded dictionary of
// peers the sender connected to (`added`, with a flag byte each in `added.f`) and disconnected
// from (`dropped`) since its last message: IPv4 as 6-byte compact entries, IPv6 (`added6`,
// `dropped6`) as 18-byte ones. The simulator's hosts are names, not IP literals; they travel in
// `added.h` / `added.h.f` / `dropped.h` (lists of "host:port" strings), keys of swarmlab's own that
// other clients ignore as BEP 10 says unknown keys are. Pure.
//
// Parsing is lenient, as libtorrent's ut_pex is: a message that is not a bencoded dictionary is an
// error (the caller ignores it, traced), a field of the wrong type or a truncated entry is dropped
// with a problem named, and entries past `limit` per list are counted and ignored.

import { utf8Bytes, utf8Text } from './bytes.ts';
import { asBytes, BdecodeError, type BDict, type BValue, bdecode, bencodeValue, isDict } from './bdecode.ts';
import { decodeCompactAddresses, encodeCompactAddresses, type IpLength, isIpv4 } from './compact-address.ts';
import type { PeerAddress } from './ports.ts';

/** The extended message id we assign to ut_pex in our BEP 10 handshake (libtorrent uses 1 too). */
export const UT_PEX_ID = 1;

/** BEP 11's flag bits of `added.f`. */
export const PEX_FLAGS = {
  /** The peer prefers encryption (we never set it: swarmlab speaks no MSE). */
  prefersEncryption: 0x01,
  /** The peer is a seed (or an upload-only peer). */
  seed: 0x02,
  /** The peer speaks uTP. */
  utp: 0x04,
  /** The peer speaks ut_holepunch. */
  holepunch: 0x08,
  /** The peer is reachable: we dialled it, so it accepts connections. */
  reachable: 0x10,
} as const satisfies Record<string, number>;

export interface PexPeer {
  address: PeerAddress;
  /** `PEX_FLAGS` bits (0 when the sender gave none). */
  flags: number;
}

export interface PexMessage {
  added: PexPeer[];
  dropped: PeerAddress[];
}

export interface PexParsed extends PexMessage {
  /** Entries past the per-message limit, not taken (added and dropped together). */
  ignored: number;
  /** Fields or entries dropped as malformed, each named. */
  problems: string[];
}

/** A PEX message that is not a bencoded dictionary. */
export class PexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PexError';
  }
}

/** Longest "host:port" we take from `added.h` (a DNS name is at most 253 bytes). */
const MAX_NAME_LENGTH = 260;

export function encodePex(m: PexMessage): Uint8Array {
  const v4: PexPeer[] = [], v6: PexPeer[] = [], named: PexPeer[] = [];
  for (const p of m.added) (isIpv4(p.address.host) ? v4 : p.address.host.includes(':') ? v6 : named).push(p);
  const d4: PeerAddress[] = [], d6: PeerAddress[] = [], dn: PeerAddress[] = [];
  for (const a of m.dropped) (isIpv4(a.host) ? d4 : a.host.includes(':') ? d6 : dn).push(a);
  const d: BDict = {
    added: encodeCompactAddresses(v4.map((p) => p.address), 4),
    'added.f': Uint8Array.from(v4.map((p) => p.flags)),
    dropped: encodeCompactAddresses(d4, 4),
  };
  if (v6.length > 0 || d6.length > 0) {
    d.added6 = encodeCompactAddresses(v6.map((p) => p.address), 16);
    d['added6.f'] = Uint8Array.from(v6.map((p) => p.flags));
    d.dropped6 = encodeCompactAddresses(d6, 16);
  }
  if (named.length > 0 || dn.length > 0) {
    d['added.h'] = named.map((p) => text(`${p.address.host}:${p.address.port}`));
    d['added.h.f'] = Uint8Array.from(named.map((p) => p.flags));
    d['dropped.h'] = dn.map((a) => text(`${a.host}:${a.port}`));
  }
  return bencodeValue(d);
}

/** Decodes a ut_pex payload, taking at most `limit` added and `limit` dropped entries. */
export function parsePex(payload: Uint8Array, limit: number): PexParsed {
  let d: BValue;
  try {
    d = bdecode(payload);
  } catch (err) {
    if (err instanceof BdecodeError) throw new PexError(`ut_pex message: ${err.message}`);
    throw err;
  }
  if (!isDict(d)) throw new PexError('ut_pex message: not a dictionary');
  const out: PexParsed = { added: [], dropped: [], ignored: 0, problems: [] };
  const take = <T>(into: T[], items: T[]) => {
    const room = Math.max(0, limit - into.length);
    into.push(...items.slice(0, room));
    out.ignored += Math.max(0, items.length - room);
  };
  const withFlags = (addresses: PeerAddress[], flagsKey: string): PexPeer[] => {
    const f = d[flagsKey];
    const flags = f === undefined ? undefined : asBytes(f);
    if (f !== undefined && (flags === undefined || flags.length !== addresses.length)) out.problems.push(`${flagsKey}: not one flag byte per peer (flags ignored)`);
    const ok = flags !== undefined && flags.length === addresses.length;
    return addresses.map((address, i) => ({ address, flags: ok ? flags[i] : 0 }));
  };
  take(out.added, withFlags(decodeCompact(d, 'added', 4, out.problems), 'added.f'));
  take(out.added, withFlags(decodeCompact(d, 'added6', 16, out.problems), 'added6.f'));
  take(out.added, withFlags(decodeNames(d, 'added.h', out.problems), 'added.h.f'));
  take(out.dropped, decodeCompact(d, 'dropped', 4, out.problems));
  take(out.dropped, decodeCompact(d, 'dropped6', 16, out.problems));
  take(out.dropped, decodeNames(d, 'dropped.h', out.problems));
  return out;
}

function text(s: string): Uint8Array {
  return utf8Bytes(s);
}

function decodeCompact(d: BDict, key: string, ipLength: IpLength, problems: string[]): PeerAddress[] {
  const v = d[key];
  if (v === undefined) return [];
  const bytes = asBytes(v);
  if (bytes === undefined) {
    problems.push(`${key}: not a byte string (ignored)`);
    return [];
  }
  const { addresses, partial } = decodeCompactAddresses(bytes, ipLength);
  if (partial) problems.push(`${key}: ${bytes.length} bytes is not a whole number of ${ipLength + 2}-byte entries (the partial entry ignored)`);
  return addresses;
}

function decodeNames(d: BDict, key: string, problems: string[]): PeerAddress[] {
  const v = d[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push(`${key}: not a list (ignored)`);
    return [];
  }
  const out: PeerAddress[] = [];
  for (const item of v) {
    const bytes = asBytes(item);
    const s = bytes && bytes.length <= MAX_NAME_LENGTH ? utf8Text(bytes) : undefined;
    const colon = s?.lastIndexOf(':') ?? -1;
    const port = s === undefined ? NaN : Number(s.slice(colon + 1));
    if (s === undefined || colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 0xffff) {
      problems.push(`${key}: an entry is not "host:port" (ignored)`);
      continue;
    }
    out.push({ host: s.slice(0, colon), port });
  }
  return out;
}
