// The Peer Manager's dial loop on its own (`dialFromList`, shared with the metadata fetcher).

import { describe, expect, it } from 'vitest';
import { dialFromList } from '../engine/peer-manager.ts';
import { PeerList } from '../engine/peer-list.ts';
import { addressKey, type PeerAddress } from '../engine/ports.ts';

function listOf(addresses: PeerAddress[]): PeerList {
  const list = new PeerList({ maxSize: 100, backoff: () => 1000, countFrom: 'dial-end' });
  for (const a of addresses) list.add(a);
  return list;
}

const plan = (o: { connections?: { label: string; banKey: string }[]; maxPerIp?: number; banned?: string[]; room?: number; now?: number }) => {
  const dialled: string[] = [];
  return {
    dialled,
    plan: {
      now: o.now ?? 0,
      connections: o.connections ?? [],
      maxPerIp: o.maxPerIp ?? 8,
      labelOf: addressKey,
      banKeyOf: (a: PeerAddress) => a.host,
      isBanned: (banKey: string) => (o.banned ?? []).includes(banKey),
      room: () => dialled.length < (o.room ?? Infinity),
      dial: (a: PeerAddress) => void dialled.push(addressKey(a)),
    },
  };
};

describe('dialFromList', () => {
  it('dials in the order learnt, within the room, skipping connected labels, banned and full IPs', () => {
    const list = listOf([
      { host: 'a', port: 1 },
      { host: 'a', port: 2 },
      { host: 'a', port: 3 },
      { host: 'b', port: 1 },
      { host: 'c', port: 1 },
      { host: 'd', port: 1 },
    ]);
    const { dialled, plan: p } = plan({ connections: [{ label: 'a:1', banKey: 'a' }], maxPerIp: 2, banned: ['b'], room: 2 });
    dialFromList(list, p);
    // a:1 is connected; a:2 fills IP a (2 with a:1); a:3 is over it; b is banned; c fits; the room ends at d.
    expect(dialled).toEqual(['a:2', 'c:1']);
  });

  it('dials addresses that never failed before those that did, each in the order learnt: dead ones back from their backoff cannot take every slot', () => {
    const dead = [1, 2, 3, 4].map((i) => ({ host: `192.0.2.${i}`, port: 6881 }));
    const list = listOf([...dead, { host: 'real', port: 1 }]);
    for (const a of dead) list.dialEnded(a, false, 0); // each failed once; back from its backoff at 1 s
    list.add({ host: 'later', port: 1 });
    const { dialled, plan: p } = plan({ room: 3, now: 5_000 });
    dialFromList(list, p);
    expect(dialled).toEqual(['real:1', 'later:1', '192.0.2.1:6881']);
  });

  it('skips an address in its backoff or retired', () => {
    const list = listOf([
      { host: 'a', port: 1 },
      { host: 'b', port: 1 },
      { host: 'c', port: 1 },
    ]);
    list.dialEnded({ host: 'a', port: 1 }, false, 0); // not before 1000
    list.retire({ host: 'b', port: 1 });
    const early = plan({ now: 999 });
    dialFromList(list, early.plan);
    expect(early.dialled).toEqual(['c:1']);
    const later = plan({ now: 1000 });
    dialFromList(list, later.plan);
    expect(later.dialled).toEqual(['c:1', 'a:1']); // a failed once: after those that never did
  });
});
