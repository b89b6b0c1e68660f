// The metadata fetcher's peer list and dial loop are the Peer Manager's (engine/peer-list.ts,
// `dialFromList`): bounded by maxPeerList, and a full list makes room for a new address by
// forgetting one that failed, instead of ignoring every address learnt after the first 3000.

import { describe, expect, it } from 'vitest';
import { MetadataFetcher } from '../engine/metadata-fetcher.ts';
import type { Connection, ConnectionHandler, PeerAddress } from '../engine/ports.ts';
import { defaultSettings } from '../engine/settings.ts';

/** Dials that never open: each stays in its handshake until the test fails it. */
function fakeFetcher() {
  const dials: { address: PeerAddress; handler?: ConnectionHandler }[] = [];
  let now = 0;
  const fetcher = new MetadataFetcher({
    infoHash: new Uint8Array(20).fill(1),
    peerId: new Uint8Array(20).fill(2),
    label: 'F',
    clock: { now: () => now, setTimer: () => ({ cancel() {} }) },
    network: {
      localAddress: { host: 'self', port: 1 },
      connect(address) {
        const dial: (typeof dials)[number] = { address };
        dials.push(dial);
        const conn: Connection = {
          remote: address,
          inbound: false,
          setHandler: (h) => void (dial.handler = h),
          write() {},
          bufferedBytes: () => 0,
          close() {},
        };
        return conn;
      },
      listen: () => ({ stop() {} }),
    },
    tracker: { announce: () => {} },
    trace: { emit() {} },
    onMetadata() {},
  });
  return { fetcher, dials, advance: (ms: number) => void (now += ms) };
}

const at = (i: number): PeerAddress => ({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 });

describe('metadata fetcher peer list', () => {
  it('a full list forgets an address that failed to make room for a new one, and stays bounded', () => {
    const { fetcher, dials } = fakeFetcher();
    fetcher.start();
    const max = defaultSettings.maxPeerList;
    fetcher.addPeers(Array.from({ length: max }, (_, i) => at(i)));
    expect(dials.length).toBe(8); // the fetcher's own connection limit
    for (const d of dials.slice(0, 8)) d.handler!.close('refused'); // eight dials fail...
    const fresh = at(max + 1);
    fetcher.addPeer(fresh);
    const known = fetcher['known'];
    expect(known.has(fresh)).toBe(true); // ...and the first of them makes room
    expect(known.has(at(0))).toBe(false);
    expect(known.size).toBe(max);
    fetcher.stop();
  });

  it('an address that failed is not dialled again before the fetcher\'s retry delay, which grows with its failures', () => {
    const { fetcher, dials, advance } = fakeFetcher();
    fetcher.start();
    fetcher.addPeer(at(1));
    dials[0].handler!.close('refused');
    fetcher.addPeer(at(2)); // dials again: at(1) is still waiting
    expect(dials.map((d) => d.address.host)).toEqual([at(1).host, at(2).host]);
    advance(5_000);
    fetcher.addPeer(at(3));
    // An address never tried goes before one that failed.
    expect(dials.map((d) => d.address.host)).toEqual([at(1).host, at(2).host, at(3).host, at(1).host]);
    // A second failure in a row waits twice as long.
    dials[3].handler!.close('refused');
    advance(9_000);
    fetcher.addPeer(at(4));
    expect(dials.filter((d) => d.address.host === at(1).host)).toHaveLength(2);
    advance(1_000);
    fetcher.addPeer(at(5));
    expect(dials.filter((d) => d.address.host === at(1).host)).toHaveLength(3);
    fetcher.stop();
  });
});
