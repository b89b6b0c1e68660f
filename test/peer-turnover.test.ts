// How a client escapes a swarm that splits into cliques (issue 11's flash crowd), against scripted
// puppets: peer turnover (libtorrent's peer_turnover: at the connection limit, the least useful
// peer is dropped every peerTurnoverInterval so an address not tried yet can be dialled) and the
// re-announce when starved (too few peers and none left to dial: ask the tracker now).

import { describe, expect, it } from 'vitest';
import { Bench, type Puppet } from './helpers/puppet.ts';

const QUIET = { idleTimeout: 24 * 3_600_000 }; // puppets say nothing for minutes

describe('peer turnover', () => {
  function fullBench(settings: Record<string, unknown> = {}): { b: Bench; givers: Puppet[]; useless: Puppet; waiting: Puppet } {
    const b = new Bench({ settings: { ...QUIET, maxConnections: 3, ...settings } });
    const givers = [b.listeningPuppet('G0'), b.listeningPuppet('G1')];
    const useless = b.listeningPuppet('U');
    b.run();
    for (const p of givers) p.handshake().bitfield([0, 1, 2, 3]); // we want their pieces
    useless.handshake().bitfield([]); // nothing we want
    b.run();
    const waiting = b.listeningPuppet('W'); // known, but no slot is free
    b.run();
    expect(b.client.connectionCount).toBe(3);
    expect(waiting.conn).toBeUndefined();
    return { b, givers, useless, waiting };
  }

  it('at the connection limit, drops the least useful peer every interval and dials an address not tried', () => {
    const { b, givers, useless, waiting } = fullBench();
    b.run(299_000);
    expect(waiting.conn).toBeUndefined(); // not before the interval (300 s)
    // The turnover tick dials W at once; its connection is handed to the puppet by the next tick.
    // (With the time-out deadlines merged it is not there 3 s later: see the closing note.)
    b.run(11_000);
    expect(useless.closedReason).toBeDefined();
    expect(givers.map((p) => p.closedReason)).toEqual([undefined, undefined]);
    expect(String(b.events.find((e) => e.kind === 'disconnect' && e.remote === 'U')?.reason)).toMatch(/peer turnover/);
    expect(b.events.find((e) => e.kind === 'turnover')).toMatchObject({ disconnected: 1 });
    expect(waiting.conn).toBeDefined();
  });

  it('is off at peerTurnover 0, and does nothing when no address is left to dial', () => {
    const off = fullBench({ peerTurnover: 0 });
    off.b.run(600_000);
    expect(off.useless.closedReason).toBeUndefined();
    const b = new Bench({ settings: { ...QUIET, maxConnections: 2 } });
    const ps = [b.listeningPuppet(), b.listeningPuppet()];
    b.run();
    for (const p of ps) p.handshake().bitfield([]);
    b.run(600_000);
    expect(ps.map((p) => p.closedReason)).toEqual([undefined, undefined]);
    expect(b.events.some((e) => e.kind === 'turnover')).toBe(false);
  });
});

describe('re-announce when starved', () => {
  it('with too few peers and none to dial, announces again every starvedAnnounceInterval instead of the tracker interval', () => {
    const b = new Bench(); // its tracker answers no peers, interval 30 min
    b.run(900_500);
    expect(b.announces.map((a) => a.event)).toEqual(['started', 'periodic', 'periodic', 'periodic']);
    expect(b.events.filter((e) => e.kind === 'starved').map((e) => e.t)).toEqual([300_000, 600_000, 900_000]);
  });

  it('does not while it has enough peers, or with starvedPeers 0', () => {
    const off = new Bench({ settings: { starvedPeers: 0 } });
    off.run(900_500);
    expect(off.announces.map((a) => a.event)).toEqual(['started']);
    const b = new Bench({ settings: { ...QUIET, starvedPeers: 1 } });
    const p = b.listeningPuppet();
    b.run();
    p.handshake().bitfield([]);
    b.run(900_500);
    expect(b.announces.map((a) => a.event)).toEqual(['started']);
  });
});
