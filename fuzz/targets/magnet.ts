// Magnet links (live/magnet.ts). Input: a link built from an info-hash (hex or base32, either
// case), `dn`, `tr` and `x.pe` values (some of them bad), in any order, maybe mutated as text.
// Properties: parseMagnet gives a Magnet or a MagnetError, never another throw; a Magnet has a
// 20-byte info-hash whose hex is infoHashHex, and only usable peer addresses; an unmutated link
// gives back exactly its info-hash, name, trackers and good peers.

import * as fc from 'fast-check';
import { type Magnet, MagnetError, parseMagnet } from '../../live/magnet.ts';
import { mutatedBytes } from '../mutate.ts';
import { bytesEqual, toHex } from '../../engine/bytes.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function toBase32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

const peerAddress = fc.oneof(
  fc.record({ host: fc.ipV4(), port: fc.integer({ min: 1, max: 0xffff }) }).map((p) => ({ text: `${p.host}:${p.port}`, good: p })),
  fc.record({ host: fc.ipV6(), port: fc.integer({ min: 1, max: 0xffff }) }).map((p) => ({ text: `[${p.host}]:${p.port}`, good: p })),
  fc.constantFrom('1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', ':80', 'x:-1', '[::1]:99999', 'a:b').map((text) => ({ text, good: undefined })),
);

const linkArbitrary = fc.record({
  hash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  base32: fc.boolean(),
  lower: fc.boolean(),
  name: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  trackers: fc.array(fc.oneof(fc.webUrl(), fc.constantFrom('udp://127.0.0.1:6969/announce', 'http://t/a?x=1&y=2')), { maxLength: 3 }),
  peers: fc.array(peerAddress, { maxLength: 4 }),
  junkXt: fc.option(fc.constantFrom('urn:btih:xyz', 'urn:sha1:abc', 'urn:btmh:1220aa'), { nil: undefined }),
});

type LinkSpec = typeof linkArbitrary extends fc.Arbitrary<infer S> ? S : never;

export interface MagnetInput {
  uri: string;
  spec?: LinkSpec;
}

function buildLink(spec: LinkSpec): string {
  let digits = spec.base32 ? toBase32(spec.hash) : toHex(spec.hash);
  digits = spec.lower ? digits.toLowerCase() : digits.toUpperCase();
  const params = new URLSearchParams();
  if (spec.junkXt) params.append('xt', spec.junkXt);
  params.append('xt', `urn:btih:${digits}`);
  if (spec.name !== undefined) params.append('dn', spec.name);
  for (const t of spec.trackers) params.append('tr', t);
  for (const p of spec.peers) params.append('x.pe', p.text);
  return `magnet:?${params.toString()}`;
}

const TOKENS = ['%', '%zz', '&', '=', '&xt=', 'urn:btih:', '+', '#', '\u0000', '\ud800', 'é'].map((t) => new TextEncoder().encode(t));

export const magnetTarget: FuzzTarget<MagnetInput> = {
  name: 'magnet',
  description: 'live/magnet.ts parseMagnet: typed errors, 20-byte hash, usable peers, exact fields of a valid link',
  ciRuns: 300,
  slowMs: 200,
  arbitrary: linkArbitrary.chain((spec) =>
    mutatedBytes(fc.constant(new TextEncoder().encode(buildLink(spec))), TOKENS, 4).map(({ bytes, mutated }) => {
      const uri = new TextDecoder().decode(bytes);
      return mutated ? { uri } : { uri, spec };
    }),
  ),
  check: checkMagnet,
};

function checkMagnet(input: MagnetInput): void {
  const outcome = typedOutcome(() => parseMagnet(input.uri), [MagnetError], 'parseMagnet');
  if ('error' in outcome) {
    expect(!input.spec, () => `a valid magnet link was refused: ${outcome.error.message}`);
    return;
  }
  const m: Magnet = outcome.value;
  expect(m.infoHash.length === 20 && m.infoHashHex === toHex(m.infoHash), `info-hash of ${m.infoHash.length} bytes / hex ${m.infoHashHex}`);
  for (const p of m.peers) expect(Number.isInteger(p.port) && p.port > 0 && p.port <= 0xffff && p.host.length > 0, `peer ${p.host}:${p.port}`);
  if (!input.spec) return;
  const s = input.spec;
  expect(bytesEqual(m.infoHash, s.hash), `info-hash ${m.infoHashHex}, the link has ${toHex(s.hash)}`);
  expect(m.name === s.name, `name ${JSON.stringify(m.name)}, the link has ${JSON.stringify(s.name)}`);
  expect(m.trackers.length === s.trackers.length && m.trackers.every((t, i) => t === s.trackers[i]), 'trackers differ from the link');
  const good = s.peers.filter((p) => p.good).map((p) => p.good!);
  expect(m.peers.length === good.length && m.peers.every((p, i) => p.host === good[i].host && p.port === good[i].port), () => `peers ${JSON.stringify(m.peers)}, the link has ${JSON.stringify(good)}`);
}
