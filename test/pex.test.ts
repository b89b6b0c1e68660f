// BEP 11 Peer Exchange: the ut_pex codec (engine/pex.ts) on good, oversized and malformed input,
// and the engine's use of it against scripted puppets — advertised in the BEP 10 handshake, peers
// learnt from a PEX message added to the peer list (source `pex`) and dialled, the per-message and
// rate limits, bad messages ignored without closing the connection, and our own messages (added
// with flags, dropped, never more often than `pexInterval`).

import { describe, expect, it } from 'vitest';
import { bdecode, bencodeValue, type BDict, isDict } from '../engine/bdecode.ts';
import { encodePex, parsePex, PEX_FLAGS, PexError, UT_PEX_ID } from '../engine/pex.ts';
import { reservedBytes } from '../engine/reserved-bits.ts';
import { encodeHandshake, type Message } from '../engine/wire.ts';
import { Bench, peerIdOf, Puppet } from './helpers/puppet.ts';

const EXT = { extensionProtocol: true };
const PUPPET_PEX_ID = 7;

const compact4 = (...entries: [string, number][]) =>
  Uint8Array.from(entries.flatMap(([ip, port]) => [...ip.split('.').map(Number), port >> 8, port & 0xff]));

describe('ut_pex codec', () => {
  it('round-trips IPv4, IPv6 and named hosts with their flags', () => {
    const m = {
      added: [
        { address: { host: '10.0.0.1', port: 6881 }, flags: PEX_FLAGS.seed | PEX_FLAGS.reachable },
        { address: { host: '2001:db8:0:0:0:0:0:1', port: 51413 }, flags: PEX_FLAGS.reachable },
        { address: { host: 'L7', port: 6881 }, flags: 0 },
      ],
      dropped: [{ host: '10.0.0.2', port: 1 }, { host: 'L9', port: 6881 }],
    };
    const parsed = parsePex(encodePex(m), 50);
    expect(parsed.added).toEqual(m.added);
    expect(parsed.dropped).toEqual(m.dropped);
    expect(parsed).toMatchObject({ ignored: 0, problems: [] });
    // The BEP's keys, as other clients read them.
    const d = bdecode(encodePex(m)) as BDict;
    expect([...(d.added as Uint8Array)]).toEqual([10, 0, 0, 1, 0x1a, 0xe1]);
    expect([...(d['added.f'] as Uint8Array)]).toEqual([0x12]);
  });

  it('takes at most `limit` added and dropped entries and counts the rest as ignored', () => {
    const many = Array.from({ length: 2000 }, (_, i) => [`10.0.${i >> 8}.${i & 0xff}`, 1000 + i] as [string, number]);
    const payload = bencodeValue({ added: compact4(...many), dropped: compact4(...many.slice(0, 60)) });
    const parsed = parsePex(payload, 50);
    expect(parsed.added).toHaveLength(50);
    expect(parsed.dropped).toHaveLength(50);
    expect(parsed.ignored).toBe(1950 + 10);
  });

  it('drops malformed fields and entries with a named problem, and never throws for them', () => {
    const payload = bencodeValue({
      added: new Uint8Array([10, 0, 0, 1, 0, 80, 10, 0, 0]), // one entry and three stray bytes
      'added.f': new Uint8Array([1, 2, 3]), // not one flag per peer
      added6: 5, // wrong type
      dropped: new Uint8Array([10, 0, 0, 9, 0, 0]), // port 0: not dialable
      'added.h': [new TextEncoder().encode('no-port'), new TextEncoder().encode('H1:99999'), new TextEncoder().encode('H2:6881'), 4],
    });
    const parsed = parsePex(payload, 50);
    expect(parsed.added).toEqual([
      { address: { host: '10.0.0.1', port: 80 }, flags: 0 },
      { address: { host: 'H2', port: 6881 }, flags: 0 },
    ]);
    expect(parsed.dropped).toEqual([]);
    expect(parsed.problems.join('\n')).toMatch(/added: 9 bytes is not a whole number of 6-byte entries/);
    expect(parsed.problems.join('\n')).toMatch(/added\.f: not one flag byte per peer/);
    expect(parsed.problems.join('\n')).toMatch(/added6: not a byte string/);
    expect(parsed.problems.filter((p) => p.startsWith('added.h'))).toHaveLength(3);
  });

  it('refuses what is not a bencoded dictionary with a PexError', () => {
    expect(() => parsePex(new TextEncoder().encode('d5:added'), 50)).toThrow(PexError);
    expect(() => parsePex(new TextEncoder().encode('d5:added'), 50)).toThrow(/ut_pex message: /);
    expect(() => parsePex(new TextEncoder().encode('li1ee'), 50)).toThrow(/not a dictionary/);
  });
});

/** The puppet's handshake with the extension bit, then its BEP 10 handshake offering ut_pex. */
function pexHandshake(p: Puppet, b: Bench, port?: number): void {
  p.raw(encodeHandshake({ infoHash: b.torrent.infoHash, peerId: peerIdOf(p.label), reserved: reservedBytes({ fast: false, extensionProtocol: true }) }));
  p.send({ type: 'extended', id: 0, payload: bencodeValue({ m: { ut_pex: PUPPET_PEX_ID }, ...(port ? { p: port } : {}) }) });
}

const pexTo = (payload: Uint8Array): Message => ({ type: 'extended', id: UT_PEX_ID, payload });

/** The PEX messages the client sent a puppet, decoded. */
function pexReceived(p: Puppet): ReturnType<typeof parsePex>[] {
  return p.received.filter((m) => m.type === 'extended' && m.id === PUPPET_PEX_ID).map((m) => parsePex((m as Extract<Message, { type: 'extended' }>).payload, 1000));
}

/** A host the client does not know of, listening: a puppet once dialled. */
function unknownListener(b: Bench, label: string): { puppet: Puppet; dials: () => number } {
  const host = b.network.addHost({ label, address: { host: label, port: 6881 }, upload: Infinity, download: Infinity });
  const puppet = new Puppet(b, label, host);
  let dials = 0;
  host.listen((conn) => {
    dials++;
    puppet.attach(conn);
  });
  return { puppet, dials: () => dials };
}

describe('PEX in the engine', () => {
  it('offers ut_pex in the extension handshake, and not with pex off', () => {
    for (const pex of [true, false]) {
      const b = new Bench({ settings: { ...EXT, pex } });
      const p = b.dialingPuppet();
      pexHandshake(p, b);
      b.run();
      const hs = p.received.find((m) => m.type === 'extended' && m.id === 0) as Extract<Message, { type: 'extended' }>;
      const m = (bdecode(hs.payload) as BDict).m;
      expect(isDict(m) && m.ut_pex).toBe(pex ? UT_PEX_ID : undefined);
    }
  });

  it('adds the peers of a PEX message to the peer list (source pex) and dials them', () => {
    const b = new Bench({ settings: EXT });
    const q = unknownListener(b, 'Q');
    const p = b.dialingPuppet();
    pexHandshake(p, b);
    b.run();
    p.send(pexTo(encodePex({ added: [{ address: q.puppet.address, flags: PEX_FLAGS.reachable }], dropped: [] })));
    b.run(200);
    expect(b.client.knownSources()).toContainEqual({ address: q.puppet.address, source: 'pex' });
    expect(q.dials()).toBe(1);
    expect(b.events.find((e) => e.node === 'pex')).toMatchObject({ ok: true, added: 1, dropped: 0 });
  });

  it('ignores a 4th PEX message within pexInterval, and bad messages, without closing the connection', () => {
    const b = new Bench({ settings: EXT });
    const p = b.dialingPuppet();
    pexHandshake(p, b);
    b.run();
    p.send(pexTo(new TextEncoder().encode('d5:added'))); // not bencoding
    p.send(pexTo(bencodeValue([1, 2]))); // not a dictionary
    p.send(pexTo(encodePex({ added: [], dropped: [] })));
    p.send(pexTo(encodePex({ added: [{ address: { host: 'R', port: 6881 }, flags: 0 }], dropped: [] }))); // the 4th
    b.run();
    const pexSteps = b.events.filter((e) => e.node === 'pex');
    expect(pexSteps.map((e) => e.ok)).toEqual([false, false, true, false]);
    expect(String(pexSteps[0].reason)).toMatch(/ut_pex message: /);
    expect(String(pexSteps[1].reason)).toMatch(/not a dictionary/);
    expect(String(pexSteps[3].reason)).toMatch(/too frequent/);
    expect(b.client.knownPeers()).not.toContainEqual({ host: 'R', port: 6881 });
    expect(p.closedReason).toBeUndefined();
    expect(b.client.connectionCount).toBe(1);
    // A minute later the peer may send again.
    b.run(60_000);
    p.send(pexTo(encodePex({ added: [{ address: { host: 'R', port: 6881 }, flags: 0 }], dropped: [] })));
    b.run();
    expect(b.client.knownSources()).toContainEqual({ address: { host: 'R', port: 6881 }, source: 'pex' });
  });

  it('takes at most maxPexPeers added from one message', () => {
    const b = new Bench({ settings: { ...EXT, maxPexPeers: 3 } });
    const p = b.dialingPuppet();
    pexHandshake(p, b);
    b.run();
    const added = Array.from({ length: 10 }, (_, i) => ({ address: { host: `X${i}`, port: 6881 }, flags: 0 }));
    p.send(pexTo(encodePex({ added, dropped: [] })));
    b.run();
    expect(b.client.knownSources().filter((k) => k.source === 'pex')).toHaveLength(3);
    expect(b.events.find((e) => e.node === 'pex')).toMatchObject({ ok: true, added: 3, ignored: 7 });
  });

  it('tells a peer whom it is connected to (flags, its own address left out), then whom it lost, at most once per pexInterval', () => {
    const b = new Bench({ settings: EXT });
    const dialled = b.listeningPuppet('D'); // we dial it: reachable
    const inbound = b.dialingPuppet('I'); // it dials us; its extension handshake gives its port
    b.run();
    pexHandshake(dialled, b);
    dialled.bitfield([0, 1, 2, 3]);
    pexHandshake(inbound, b, 6881);
    b.run(10_000); // the first tick
    const toInbound = pexReceived(inbound);
    expect(toInbound).toHaveLength(1);
    expect(toInbound[0].added).toEqual([{ address: dialled.address, flags: PEX_FLAGS.reachable | PEX_FLAGS.seed }]);
    expect(pexReceived(dialled)[0].added).toEqual([{ address: { host: 'I', port: 6881 }, flags: 0 }]);
    inbound.close(); // (a dialled peer that closes would be dialled again)
    b.run(30_000);
    expect(pexReceived(dialled)).toHaveLength(1); // within the interval: nothing yet
    b.run(30_000);
    const later = pexReceived(dialled);
    expect(later).toHaveLength(2);
    expect(later[1]).toMatchObject({ added: [], dropped: [{ host: 'I', port: 6881 }] });
    b.run(120_000);
    expect(pexReceived(dialled)).toHaveLength(2); // nothing changed: nothing sent
    expect(b.events.filter((e) => e.node === 'opex' && e.remote === 'D').map((e) => e.t)).toEqual([10_000, 70_000]);
  });
});
