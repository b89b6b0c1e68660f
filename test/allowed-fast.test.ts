// BEP 6's allowed-fast set: the BEP's worked example as a test vector, and the address the
// algorithm takes for a simulator host label or a real IP.

import { describe, expect, it } from 'vitest';
import { allowedFastAddress, allowedFastInput, allowedFastSet } from '../engine/allowed-fast.ts';

describe('allowed-fast set (BEP 6)', () => {
  const ip = Uint8Array.from([80, 4, 4, 200]);
  const infoHash = new Uint8Array(20).fill(0xaa);

  it("gives BEP 6's worked example: 80.4.4.200, info-hash 0xAA×20, 1313 pieces", () => {
    expect(allowedFastSet(ip, infoHash, 1313, 7)).toEqual([1059, 431, 808, 1217, 287, 376, 1188]);
    expect(allowedFastSet(ip, infoHash, 1313, 9)).toEqual([1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
  });

  it('depends only on the /24 of the address', () => {
    expect(allowedFastSet(Uint8Array.from([80, 4, 4, 1]), infoHash, 1313, 7)).toEqual(allowedFastSet(ip, infoHash, 1313, 7));
  });

  it('is capped at the piece count, and is empty for k = 0', () => {
    expect([...allowedFastSet(ip, infoHash, 3, 5)].sort()).toEqual([0, 1, 2]);
    expect(allowedFastSet(ip, infoHash, 1313, 0)).toEqual([]);
  });

  it('takes a dotted IPv4 address as it is, and a label or IPv6 address through a stable hash', () => {
    expect([...allowedFastAddress('80.4.4.200')]).toEqual([80, 4, 4, 200]);
    expect([...allowedFastAddress('::ffff:127.0.0.1')]).toEqual([127, 0, 0, 1]);
    expect(allowedFastAddress('L3')).toEqual(allowedFastAddress('L3'));
    expect(allowedFastAddress('L3')).not.toEqual(allowedFastAddress('L4'));
    expect(allowedFastAddress('::1')).toHaveLength(4);
  });

  it('keeps the whole address of a loopback or private peer (as libtorrent does on 127.0.0.1), masks a public one', () => {
    expect(allowedFastInput('127.0.0.1').wholeAddress).toBe(true);
    expect(allowedFastInput('192.168.1.20').wholeAddress).toBe(true);
    expect(allowedFastInput('80.4.4.200').wholeAddress).toBe(false);
    expect(allowedFastInput('L3').wholeAddress).toBe(false);
    const whole = allowedFastSet(Uint8Array.from([127, 0, 0, 1]), infoHash, 1313, 5, true);
    expect(whole).not.toEqual(allowedFastSet(Uint8Array.from([127, 0, 0, 1]), infoHash, 1313, 5));
    expect(whole).not.toEqual(allowedFastSet(Uint8Array.from([127, 0, 0, 2]), infoHash, 1313, 5, true));
  });
});
