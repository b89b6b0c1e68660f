// The peer list on its own: bounded, what it forgets when full, and the backoff after failed dials.

import { describe, expect, it } from 'vitest';
import { PeerList } from '../engine/peer-list.ts';

const at = (port: number) => ({ host: '10.0.0.1', port });

describe('PeerList', () => {
  it('when full, forgets the oldest that failed, else the oldest never connected, else the oldest; never one in use', () => {
    const list = new PeerList({ maxSize: 3, backoff: () => 1000, countFrom: 'dial-end' });
    for (const p of [1, 2, 3]) list.add(at(p));
    list.connected(at(1));
    list.dialEnded(at(3), false, 0);
    expect(list.full).toBe(true);
    expect(list.forgetOne(new Set())).toBe(true); // 3 failed
    list.add(at(4));
    expect(list.forgetOne(new Set(['10.0.0.1:2']))).toBe(true); // 2 is in use: 4 was never connected
    expect(list.addresses().map((a) => a.port)).toEqual([1, 2]);
    list.connected(at(2));
    expect(list.forgetOne(new Set(['10.0.0.1:2']))).toBe(true); // both connected: the oldest not in use
    expect(list.addresses().map((a) => a.port)).toEqual([2]);
    expect(list.forgetOne(new Set(['10.0.0.1:2']))).toBe(false);
  });

  it('backs off by failures in a row; a dial that got through its handshake resets them', () => {
    const waits: number[] = [];
    const list = new PeerList({ maxSize: 10, backoff: (failures) => (waits.push(failures), failures * 100), countFrom: 'dial-end' });
    list.add(at(1));
    list.dialEnded(at(1), false, 1000);
    list.dialEnded(at(1), false, 2000);
    expect(list.get(at(1))).toMatchObject({ failures: 2, notBefore: 2200 });
    list.dialEnded(at(1), true, 3000);
    expect(list.get(at(1))).toMatchObject({ failures: 0, notBefore: 3000 });
    expect(waits).toEqual([1, 2, 0]);
  });

  it('keeps a copy of the address it was given, and retires an address for good', () => {
    const address = at(7);
    const list = new PeerList({ maxSize: 10, backoff: () => 0, countFrom: 'dial-end' });
    list.add(address);
    address.port = 8;
    expect(list.has(at(7))).toBe(true);
    list.retire(at(7));
    expect(list.get(at(7))?.retired).toBe(true);
  });
});
