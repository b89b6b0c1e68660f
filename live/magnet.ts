// Magnet links (BEP 9): xt=urn:btih:<40 hex | 32 base32>, dn, tr (trackers), x.pe (peer addresses).

import type { PeerAddress } from '../engine/ports.ts';

export interface Magnet {
  infoHash: Uint8Array;
  infoHashHex: string;
  name?: string;
  trackers: string[];
  peers: PeerAddress[];
}

export class MagnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MagnetError';
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new MagnetError(`magnet: "${ch}" is not a base32 digit`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

export function parsePeerAddress(text: string): PeerAddress {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port <= 0xffff)) throw new MagnetError(`"${text}" is not HOST:PORT`);
  return { host: m[1], port };
}

export function parseMagnet(uri: string): Magnet {
  if (!uri.startsWith('magnet:?')) throw new MagnetError('magnet: the link must start with "magnet:?"');
  const params = new URLSearchParams(uri.slice('magnet:?'.length));
  let infoHash: Uint8Array | undefined;
  for (const xt of params.getAll('xt')) {
    const m = /^urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})$/.exec(xt);
    if (!m) continue;
    infoHash = m[1].length === 40 ? Uint8Array.from(Buffer.from(m[1], 'hex')) : base32(m[1]);
  }
  if (!infoHash || infoHash.length !== 20) throw new MagnetError('magnet: no xt=urn:btih:<info-hash> (40 hex or 32 base32 characters)');
  const peers: PeerAddress[] = [];
  for (const pe of params.getAll('x.pe')) {
    try {
      peers.push(parsePeerAddress(pe));
    } catch {
      // A bad peer address in a link is skipped, not fatal.
    }
  }
  return {
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    name: params.get('dn') ?? undefined,
    trackers: params.getAll('tr'),
    peers,
  };
}
