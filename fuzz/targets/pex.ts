// BEP 11 (engine/pex.ts): the ut_pex codec. Input: a PEX message of IPv4, IPv6 and named peers
// with flags, encoded and maybe mutated, parsed with a random per-message limit. Properties:
// parsePex gives a value or a PexError, never another throw; it keeps at most `limit` added and
// `limit` dropped entries and counts what it left; every address has a port in 1..65535 and every
// flag is a byte; an unmutated message within the limit parses back to what was encoded.

import * as fc from 'fast-check';
import { encodePex, parsePex, PexError, type PexMessage } from '../../engine/pex.ts';
import { ascii, mutatedBytes } from '../mutate.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';

const TOKENS = ['5:added', '7:added.f', '7:dropped', '6:added6', '7:added.h', 'le', 'i5e', 'd', 'e', '0:', '6:\u0000\u0000\u0000\u0000\u0000\u0000'].map(ascii);

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((n) => n.toString(16)).join(':'));
const named = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/);
const address = fc.record({ host: fc.oneof(ipv4, ipv6, named), port: fc.integer({ min: 1, max: 0xffff }) });

const message: fc.Arbitrary<PexMessage> = fc.record({
  added: fc.uniqueArray(fc.record({ address, flags: fc.nat(255) }), { maxLength: 70, selector: (p) => `${p.address.host}:${p.address.port}` }),
  dropped: fc.uniqueArray(address, { maxLength: 70, selector: (a) => `${a.host}:${a.port}` }),
});

interface PexInput {
  value: PexMessage;
  bytes: Uint8Array;
  mutated: boolean;
  limit: number;
}

export const pexTarget: FuzzTarget<PexInput> = {
  name: 'pex',
  description: 'engine/pex.ts: ut_pex codec (typed errors, limits kept and counted, ports and flags in range, round trips)',
  ciRuns: 300,
  slowMs: 200,
  arbitrary: fc
    .record({ value: message, limit: fc.integer({ min: 1, max: 80 }) })
    .chain(({ value, limit }) => mutatedBytes(fc.constant(encodePex(value)), TOKENS).map((m) => ({ value, limit, ...m }))),
  check: ({ value, bytes, mutated, limit }) => {
    const outcome = typedOutcome(() => parsePex(bytes, limit), [PexError], 'parsePex');
    if (!('value' in outcome)) {
      expect(mutated, () => `a valid ut_pex message was refused: ${outcome.error.message}`);
      return;
    }
    const v = outcome.value;
    expect(v.added.length <= limit && v.dropped.length <= limit, `kept ${v.added.length} added and ${v.dropped.length} dropped over the limit ${limit}`);
    expect(v.ignored >= 0, `ignored ${v.ignored}`);
    for (const a of [...v.added.map((p) => p.address), ...v.dropped]) expect(Number.isInteger(a.port) && a.port >= 1 && a.port <= 0xffff, `port ${a.port} accepted`);
    for (const p of v.added) expect(Number.isInteger(p.flags) && p.flags >= 0 && p.flags <= 255, `flags ${p.flags}`);
    if (!mutated) {
      const kept = (n: number) => Math.min(n, limit);
      expect(v.problems.length === 0, () => `problems in a valid message: ${v.problems.join('; ')}`);
      expect(v.ignored === value.added.length - kept(value.added.length) + value.dropped.length - kept(value.dropped.length), `ignored ${v.ignored}`);
      if (value.added.length <= limit && value.dropped.length <= limit) {
        const key = (a: { host: string; port: number }) => `${a.host}|${a.port}`;
        const same = (x: string[], y: string[]) => x.length === y.length && [...x].sort().every((k, i) => k === [...y].sort()[i]);
        expect(same(v.added.map((p) => `${key(p.address)}|${p.flags}`), value.added.map((p) => `${key(p.address)}|${p.flags}`)), 'added did not parse back');
        expect(same(v.dropped.map(key), value.dropped.map(key)), 'dropped did not parse back');
      }
    }
  },
};
