// The extension paths of the Peer process (BEP 6 Fast, BEP 10, BEP 9 serving) and of the
// metadata fetcher (magnet links), each driven by scripted puppets and seen in the trace. The last
// check: together, these tests took every control edge that touches an extension step
// (test/peer-flowchart.test.ts covers the rest of the diagram).

import { afterAll, describe, expect, it } from 'vitest';
import { bdecodePrefix, bencodeValue, type BDict } from '../engine/bdecode.ts';
import { sha1 } from '../engine/metainfo.ts';
import { encodeMetadataMessage, parseMetadataMessage, UT_METADATA_ID } from '../engine/metadata.ts';
import { encodePex, UT_PEX_ID } from '../engine/pex.ts';
import type { MetadataFetcher } from '../engine/metadata-fetcher.ts';
import { reservedBytes } from '../engine/reserved-bits.ts';
import { encodeHandshake, type Message, BLOCK_SIZE } from '../engine/wire.ts';
import { flowNodes } from '../engine/flowchart.ts';
import { allowedFastAddress, allowedFastSet } from '../engine/allowed-fast.ts';
import { EdgeCoverage, EXTENSION_STEPS, touchesExtension } from './helpers/flowchart-coverage.ts';
import { Bench, benchFetcher, PIECE_LENGTH, peerIdOf, Puppet } from './helpers/puppet.ts';

// No allowed-fast set here: on a 4-piece torrent it would hold every piece, and these tests are
// about choked requests being refused (test/fast-extension.test.ts covers the set).
const FAST_EXT = { fastExtension: true, extensionProtocol: true, allowedFastSetSize: 0 };

function expectPath(steps: string[], expected: string[]): void {
  expect(`,${steps.join(',')},`, `steps were: ${steps.join(' ')}`).toContain(`,${expected.join(',')},`);
}

function handshakeWith(p: Puppet, b: Bench, o: { fast?: boolean; ext?: boolean; infoHash?: Uint8Array } = {}): void {
  p.raw(
    encodeHandshake({
      infoHash: o.infoHash ?? b.torrent.infoHash,
      peerId: peerIdOf(p.label),
      reserved: reservedBytes({ fast: o.fast ?? true, extensionProtocol: o.ext ?? true }),
    }),
  );
}

const extHandshake = (d: BDict): Message => ({ type: 'extended', id: 0, payload: bencodeValue(d) });
const extendedOf = (p: Puppet) => p.received.filter((m): m is Extract<Message, { type: 'extended' }> => m.type === 'extended');

const coverage = new EdgeCoverage(touchesExtension);
const record = coverage.record;

describe('extension paths', () => {
  describe('BEP 6 Fast and BEP 10 in the Peer process', () => {
    it('BEP 11: a PEX message is taken (or ignored) and back to the loop; ours goes out on the Peer Manager\'s word', () => {
      const b = new Bench({ settings: FAST_EXT });
      const listener = b.listeningPuppet(); // dialled by us: what our PEX message tells the other
      const p = b.dialingPuppet();
      b.run();
      for (const q of [listener, p]) {
        handshakeWith(q, b);
        q.send(extHandshake({ m: { ut_pex: 9 }, p: 6881 }));
      }
      p.send({ type: 'extended', id: UT_PEX_ID, payload: encodePex({ added: [{ address: { host: 'X', port: 1 }, flags: 0 }], dropped: [] }) });
      p.send({ type: 'extended', id: UT_PEX_ID, payload: new TextEncoder().encode('d5:added') });
      b.run(10_000);
      expectPath(b.steps(p.label), ['caseMsg', 'extended', 'pex', 'loop']);
      expectPath(b.steps(p.label), ['loop', 'casePMMsg', 'opex', 'loop']);
      expect(extendedOf(p).filter((m) => m.id === 9)).toHaveLength(1);
      expect(p.closedReason).toBeUndefined();
      record(b);
    });

    it('a seed answers with HAVE ALL and its extension handshake, and serves its info dictionary', () => {
      const b = new Bench({ initial: 'complete', settings: FAST_EXT });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      expectPath(b.steps(p.label), ['handshake', 'register', 'sendBitfield', 'sendExtHandshake', 'loop']);
      expect(p.received[0]).toEqual({ type: 'have-all' });
      const theirs = extendedOf(p)[0];
      const hs = bdecodePrefix(theirs.payload).value as BDict;
      expect(hs.metadata_size).toBe(b.torrent.infoBytes.length);
      expect((hs.m as BDict).ut_metadata).toBe(UT_METADATA_ID);

      p.send(extHandshake({ m: { ut_metadata: 5 }, v: new TextEncoder().encode('puppet') }));
      p.send({ type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'request', piece: 0 }) });
      p.send({ type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'request', piece: 9 }) });
      p.send({ type: 'extended', id: 77, payload: new Uint8Array([1, 2, 3]) }); // an extension we never announced
      p.send({ type: 'extended', id: UT_METADATA_ID, payload: bencodeValue({ msg_type: 9, piece: 0 }) }); // a msg_type BEP 9 does not define: ignored
      b.run();
      const steps = b.steps(p.label);
      expectPath(steps, ['caseMsg', 'extended', 'extHandshake', 'loop']);
      expectPath(steps, ['caseMsg', 'extended', 'metadataRequest', 'loop']);
      expectPath(steps, ['caseMsg', 'extended', 'loop']);
      const replies = extendedOf(p).slice(1);
      expect(replies.map((m) => m.id)).toEqual([5, 5]);
      const data = parseMetadataMessage(replies[0].payload);
      expect(data.kind).toBe('data');
      expect(data.kind === 'data' && Buffer.compare(data.data, b.torrent.infoBytes)).toBe(0);
      expect(parseMetadataMessage(replies[1].payload)).toEqual({ kind: 'reject', piece: 9 });
      expect(p.closedReason).toBeUndefined();

      // A request while choked is rejected explicitly (Fast), not silently dropped.
      p.send({ type: 'request', index: 0, begin: 0, length: BLOCK_SIZE });
      b.run();
      expectPath(b.steps(p.label), ['request', 'requestChoked', 'requestIgnore', 'oreject', 'loop']);
      expect(p.received.at(-1)).toEqual({ type: 'reject', index: 0, begin: 0, length: BLOCK_SIZE });

      // Bad bencoding in a metadata message: a clear error and a dropped connection.
      p.send({ type: 'extended', id: UT_METADATA_ID, payload: new TextEncoder().encode('d8:msg_typei0e5:piecei') });
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'extended', 'exit', 'cleanup']);
      expect(String(b.events.find((e) => e.node === 'exit')?.reason)).toMatch(/ut_metadata message: bad bencoding/);
      expect(p.closedReason).toBeDefined();
      record(b);
    });

    it('HAVE ALL stands for a BITFIELD; a REJECT gives the block back; ALLOWED FAST and SUGGEST are noted', () => {
      const b = new Bench({ settings: FAST_EXT });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      expect(p.received[0]).toEqual({ type: 'have-none' });
      p.send({ type: 'have-all' }).send({ type: 'unchoke' });
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'haveAll', 'constructPieceSet', 'sizeCheck', 'loop']);
      const asked = p.requests();
      expect(asked.length).toBeGreaterThan(0);
      const first = asked[0];
      p.send({ type: 'reject', index: first.index, begin: first.begin, length: first.length });
      p.send({ type: 'reject', index: 3, begin: 0, length: 7 }); // never asked for
      p.send({ type: 'allowed-fast', index: 1 }).send({ type: 'suggest', index: 2 });
      b.run();
      const steps = b.steps(p.label);
      expectPath(steps, ['caseMsg', 'reject', 'sizeCheck']);
      expectPath(steps, ['caseMsg', 'reject', 'loop']);
      expectPath(steps, ['caseMsg', 'allowedFast', 'sizeCheck']);
      expectPath(steps, ['caseMsg', 'suggest', 'loop']);
      // The rejected block was given back: one request fewer outstanding (still above the low watermark).
      const peer = b.client.connections()[0];
      expect(peer.outstandingCount).toBe(asked.length - 1);
      expect([...peer.ext.allowedFast]).toEqual([1]);
      record(b);
    });

    it('SUGGEST: a suggested piece is fetched before the rarest; a seed with suggestPieces suggests the rarest a peer lacks as it unchokes it, each peer other pieces', () => {
      // Piece 3 is the most common here (both puppets have it), so rarest first alone never starts with it.
      const size = PIECE_LENGTH * 8;
      const leecher = new Bench({ size, settings: FAST_EXT });
      const common = leecher.dialingPuppet();
      const seed = leecher.dialingPuppet();
      for (const q of [common, seed]) handshakeWith(q, leecher);
      common.bitfield([3]);
      seed.send({ type: 'have-all' }).send({ type: 'suggest', index: 3 }).send({ type: 'unchoke' });
      leecher.run();
      expect(seed.requests()[0].index).toBe(3);
      expect(new Set(seed.requests().map((r) => r.index)).size).toBeGreaterThan(1); // then on to the others

      const serving = new Bench({ size, initial: 'complete', settings: { ...FAST_EXT, suggestPieces: 2 } });
      const a = serving.dialingPuppet();
      const b2 = serving.dialingPuppet();
      for (const q of [a, b2]) handshakeWith(q, serving);
      a.bitfield([0, 1]);
      b2.bitfield([0, 2]);
      serving.run(); // both piece sets counted before anyone is unchoked
      for (const q of [a, b2]) q.send({ type: 'interested' });
      serving.run(11_000); // past the first rechoke
      // a lacks 2..7: piece 2 is held by b2, the rest by nobody, so 3 and 4 come first (ties by index).
      expect(a.received.filter((m) => m.type === 'suggest')).toEqual([{ type: 'suggest', index: 3 }, { type: 'suggest', index: 4 }]);
      expectPath(serving.steps(a.label), ['casePMMsg', 'ounchoke', 'osuggest', 'loop']);
      // b2, unchoked in the same rechoke, is offered other pieces: 3 and 4 have a copy on its way.
      expect(b2.received.filter((m) => m.type === 'suggest')).toEqual([{ type: 'suggest', index: 5 }, { type: 'suggest', index: 6 }]);
      record(serving);

      // Off by default, and never without Fast.
      const plain = new Bench({ size, initial: 'complete', settings: { fastExtension: false, extensionProtocol: false, suggestPieces: 2 } });
      const c = plain.dialingPuppet();
      handshakeWith(c, plain, { fast: false, ext: false });
      c.bitfield([0]).send({ type: 'interested' });
      plain.run(11_000);
      expect(c.has('unchoke')).toBe(true);
      expect(c.has('suggest')).toBe(false);
    });

    it('HAVE NONE stands for an empty BITFIELD', () => {
      const b = new Bench({ initial: 'complete', settings: FAST_EXT });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      p.send({ type: 'have-none' });
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'haveNone', 'constructPieceSet', 'sizeCheck', 'loop']);
      record(b);
    });

    it('a BITFIELD after HAVE NONE and HAVEs (as aria2 sends) is merged when lateBitfield is merge', () => {
      const b = new Bench({ initial: 'complete', settings: { ...FAST_EXT, lateBitfield: 'merge' } });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      p.send({ type: 'have-none' }).send({ type: 'have', index: 1 }).bitfield([0, 1, 3]);
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'bitfield', 'constructPieceSet', 'sizeCheck', 'loop']);
      expect(b.events.find((e) => e.node === 'constructPieceSet' && e.late === true)).toBeDefined();
      expect([0, 1, 2, 3].map((i) => b.client.connections()[0].remotePieces.has(i))).toEqual([true, true, false, true]);
      expect([0, 1, 2, 3].map((i) => b.client.pieces.availabilityOf(i))).toEqual([1, 1, 0, 1]);
      record(b);
    });

    it('a malformed extension handshake ends the process (extHandshake -> exit)', () => {
      const b = new Bench({ settings: FAST_EXT });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      p.send({ type: 'extended', id: 0, payload: new TextEncoder().encode('d1:mi99999999999999999999ee') });
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'extended', 'extHandshake', 'exit', 'cleanup']);
      record(b);
    });

    it('Fast messages without the Fast bit in the handshake end the process', () => {
      const b = new Bench({ settings: FAST_EXT });
      const p = b.dialingPuppet();
      handshakeWith(p, b, { fast: false, ext: false });
      b.run();
      expect(p.received).toEqual([]); // no HAVE NONE: the remote did not offer Fast
      p.send({ type: 'have-all' });
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'exit', 'cleanup']);
      expect(String(b.events.find((e) => e.node === 'exit')?.reason)).toMatch(/Fast extension was not agreed/);
    });

    it('choking a peer with queued requests rejects them (ochoke -> oreject)', () => {
      const b = new Bench({ initial: 'complete', settings: { ...FAST_EXT, maxSendQueue: 0 } });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      p.send({ type: 'interested' });
      b.run();
      expect(p.received).toContainEqual({ type: 'unchoke' });
      p.send({ type: 'request', index: 0, begin: 0, length: BLOCK_SIZE }).send({ type: 'not-interested' });
      b.run(10_500);
      expectPath(b.steps(p.label), ['casePMMsg', 'ochoke', 'oreject', 'loop']);
      expect(p.received.slice(-2)).toEqual([{ type: 'choke' }, { type: 'reject', index: 0, begin: 0, length: BLOCK_SIZE }]);
      record(b);
    });
  });

  describe('BEP 6 in full: every request answered once, the allowed-fast set', () => {
    /** 40 pieces, so that a set of 5 is not the whole torrent. */
    const SIZE = 40 * PIECE_LENGTH;
    const FAST_SET = { fastExtension: true, extensionProtocol: true, allowedFastSetSize: 5, allowedFastWhileSeeding: true };
    const setFor = (b: Bench, label: string) => allowedFastSet(allowedFastAddress(label), b.torrent.infoHash, 40, 5);
    const ofType = <T extends Message['type']>(p: Puppet, type: T) => p.received.filter((m): m is Extract<Message, { type: T }> => m.type === type);

    it('sends a peer it chokes its allowed-fast set, serves those pieces while choking it, rejects the others', () => {
      // Fast without BEP 10: the set is the last message of the startup.
      const b = new Bench({ initial: 'complete', size: SIZE, settings: { ...FAST_SET, extensionProtocol: false } });
      const p = b.dialingPuppet();
      handshakeWith(p, b, { ext: false });
      b.run();
      const set = setFor(b, p.label);
      expect(set).toHaveLength(5);
      expectPath(b.steps(p.label), ['register', 'sendBitfield', 'oallowedFast', 'loop']);
      expect(ofType(p, 'allowed-fast').map((m) => m.index)).toEqual(set);
      const other = [...Array(40).keys()].find((i) => !set.includes(i))!;
      p.send({ type: 'have-none' });
      p.send({ type: 'request', index: set[0], begin: 0, length: BLOCK_SIZE }).send({ type: 'request', index: other, begin: 0, length: BLOCK_SIZE });
      b.run();
      expectPath(b.steps(p.label), ['request', 'requestChoked', 'queueRequest', 'loop']);
      expect(b.events.some((e) => e.node === 'requestChoked' && e.allowedFast === true)).toBe(true);
      expect(ofType(p, 'piece').map((m) => [m.index, m.begin])).toEqual([[set[0], 0]]);
      expect(ofType(p, 'reject')).toEqual([{ type: 'reject', index: other, begin: 0, length: BLOCK_SIZE }]);
      expect(p.has('unchoke')).toBe(false);
      record(b);
    });

    it('a seed sends no allowed-fast set by default (allowedFastWhileSeeding), a leecher does', () => {
      const seed = new Bench({ initial: 'complete', size: SIZE, settings: { fastExtension: true, extensionProtocol: false, allowedFastSetSize: 5 } });
      const p = seed.dialingPuppet();
      handshakeWith(p, seed, { ext: false });
      seed.run();
      expectPath(seed.steps(p.label), ['register', 'sendBitfield', 'loop']);
      expect(ofType(p, 'allowed-fast')).toEqual([]);
      const leecher = new Bench({ initial: 'empty', size: SIZE, settings: { fastExtension: true, extensionProtocol: false, allowedFastSetSize: 5 } });
      const q = leecher.dialingPuppet();
      handshakeWith(q, leecher, { ext: false });
      leecher.run();
      expect(ofType(q, 'allowed-fast').map((m) => m.index)).toEqual(setFor(leecher, q.label));
      record(seed);
      record(leecher);
    });

    it('on choking, keeps queued requests for allowed-fast pieces and rejects the rest', () => {
      // maxSendQueue 0: requests wait in the queue until the choke prunes it.
      const b = new Bench({ initial: 'complete', size: SIZE, settings: { ...FAST_SET, maxSendQueue: 0 } });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      p.send({ type: 'have-none' }).send({ type: 'interested' });
      b.run();
      expect(p.has('unchoke')).toBe(true);
      const set = setFor(b, p.label);
      const other = [...Array(40).keys()].find((i) => !set.includes(i))!;
      p.send({ type: 'request', index: other, begin: 0, length: BLOCK_SIZE }).send({ type: 'request', index: set[1], begin: 0, length: BLOCK_SIZE });
      p.send({ type: 'not-interested' });
      b.run(10_500);
      const chokeAt = b.events.findIndex((e) => e.node === 'ochoke');
      expect(b.events[chokeAt].pruned).toBe(1);
      expect(ofType(p, 'reject')).toEqual([{ type: 'reject', index: other, begin: 0, length: BLOCK_SIZE }]);
      expect(b.client.connections()[0].queuedRequests).toBe(1); // the allowed-fast one, still to be served
      record(b);
    });

    it('answers a CANCEL of a queued request with a REJECT', () => {
      const b = new Bench({ initial: 'complete', size: SIZE, settings: { ...FAST_SET, maxSendQueue: 0 } });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      p.send({ type: 'have-none' }).send({ type: 'interested' });
      b.run();
      p.send({ type: 'request', index: 7, begin: 0, length: BLOCK_SIZE }).send({ type: 'cancel', index: 7, begin: 0, length: BLOCK_SIZE });
      p.send({ type: 'cancel', index: 8, begin: 0, length: BLOCK_SIZE }); // nothing to cancel: no answer
      b.run();
      expectPath(b.steps(p.label), ['cancel', 'cancelForward', 'oreject', 'loop']);
      expect(ofType(p, 'reject')).toEqual([{ type: 'reject', index: 7, begin: 0, length: BLOCK_SIZE }]);
      record(b);
    });

    it('asks for allowed-fast pieces while choked; a CHOKE keeps its requests pending until PIECE or REJECT', () => {
      const b = new Bench({ size: SIZE, settings: FAST_SET });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      p.send({ type: 'have-all' }).send({ type: 'allowed-fast', index: 3 }).send({ type: 'allowed-fast', index: 3 });
      b.run();
      // Choked, yet piece 3 (and only it) is asked for.
      expectPath(b.steps(p.label), ['caseMsg', 'allowedFast', 'sizeCheck', 'grabBlocks', 'queueBlocks', 'loop']);
      expectPath(b.steps(p.label), ['caseMsg', 'allowedFast', 'loop']); // the same piece again: nothing new
      expect(new Set(p.requests().map((r) => r.index))).toEqual(new Set([3]));
      p.send({ type: 'unchoke' });
      b.run();
      const peer = b.client.connections()[0];
      const before = peer.outstandingCount;
      expect(before).toBeGreaterThan(2);
      p.send({ type: 'choke' });
      b.run();
      expectPath(b.steps(p.label), ['caseMsg', 'choke', 'keepRequests', 'sizeCheck']);
      expect(peer.outstandingCount).toBe(before); // not dropped: each still gets an answer
      const [a, c] = p.requests().filter((r) => r.index !== 3);
      p.send({ type: 'reject', index: a.index, begin: a.begin, length: a.length });
      p.send({ type: 'piece', index: c.index, begin: c.begin, block: b.block(c.index, c.begin, c.length) });
      b.run();
      expect(peer.outstandingCount).toBe(before - 2);
      expect(b.events.some((e) => e.node === 'pieceStore' && e.piece === c.index && e.begin === c.begin)).toBe(true);
      record(b);
    });

    it('ends the connection on a PIECE it never requested, but takes one it cancelled', () => {
      const b = new Bench({ size: SIZE, settings: { ...FAST_SET, snubTimeout: 1_000, tickInterval: 500 } });
      const p = b.dialingPuppet();
      handshakeWith(p, b);
      b.run();
      p.send({ type: 'have-all' }).send({ type: 'unchoke' });
      b.run(3_000); // no block comes: the peer is snubbed, its requests cancelled
      expect(p.has('cancel')).toBe(true);
      const late = p.requests()[0];
      const another = p.requests()[1];
      p.send({ type: 'piece', index: late.index, begin: late.begin, block: b.block(late.index, late.begin, late.length) });
      p.send({ type: 'reject', index: another.index, begin: another.begin, length: another.length });
      b.run();
      expect(b.events.some((e) => e.node === 'pieceOk' && e.cancelled === true)).toBe(true);
      expect(p.closedReason).toBeUndefined();
      const asked = new Set(p.requests().map((r) => r.index));
      const never = [...Array(40).keys()].find((i) => !asked.has(i))!;
      p.send({ type: 'piece', index: never, begin: 0, block: b.block(never, 0, BLOCK_SIZE) });
      b.run();
      expectPath(b.steps(p.label), ['piece', 'pieceOk', 'exit', 'cleanup']);
      expect(String(b.events.find((e) => e.node === 'exit')?.reason)).toMatch(/never requested \(BEP 6\)/);
      expect(p.closedReason).toBeDefined();
      record(b);
    });
  });

  describe('the metadata fetcher (BEP 9, magnet links)', () => {
    /** A synthetic info dictionary of two metadata pieces; the fetcher only checks its SHA1. */
    const info = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff);
    const infoHash = sha1(info);

    function fetchBench(): { b: Bench; p: Puppet; got: Uint8Array[]; fetcher: MetadataFetcher } {
      const b = new Bench();
      const { fetcher, got } = benchFetcher(b, infoHash);
      const seedHost = b.network.addHost({ label: 'S', address: { host: 'S', port: 6881 }, upload: Infinity, download: Infinity });
      const p = new Puppet(b, 'S', seedHost);
      seedHost.listen((conn) => p.attach(conn));
      fetcher.addPeer(seedHost.address);
      b.run();
      return { b, p, got, fetcher };
    }

    const fSteps = (b: Bench, p: Puppet) => b.events.filter((e) => e.peer === 'F' && e.remote === p.label && e.kind === 'step').map((e) => e.node!);

    function offer(p: Puppet, size = info.length): void {
      p.raw(encodeHandshake({ infoHash, peerId: peerIdOf('seed'), reserved: reservedBytes({ fast: false, extensionProtocol: true }) }));
      p.send({ type: 'bitfield', bits: new Uint8Array([0xff]) });
      p.send(extHandshake({ m: { ut_metadata: 3 }, metadata_size: size }));
    }

    const dataMsg = (piece: number, bytes: Uint8Array, total = info.length): Message => ({
      type: 'extended',
      id: UT_METADATA_ID,
      payload: encodeMetadataMessage({ kind: 'data', piece, totalSize: total, data: bytes }),
    });

    it('asks for every piece, checks the SHA1 and hands the info dictionary over', () => {
      const { b, p, got } = fetchBench();
      offer(p);
      b.run();
      const steps = fSteps(b, p);
      expectPath(steps, ['connect', 'handshake', 'sendExtHandshake', 'loop']);
      expectPath(steps, ['caseMsg', 'ignored', 'loop']);
      expectPath(steps, ['caseMsg', 'extended', 'extHandshake', 'requestMetadata', 'loop']);
      const asked = extendedOf(p).filter((m) => m.id === 3).map((m) => parseMetadataMessage(m.payload));
      expect(asked).toEqual([{ kind: 'request', piece: 0 }, { kind: 'request', piece: 1 }]);
      p.send(dataMsg(0, info.subarray(0, 16384))).send(dataMsg(1, info.subarray(16384)));
      b.run();
      expectPath(fSteps(b, p), ['extended', 'metadataData', 'loop', 'caseMsg', 'extended', 'metadataData', 'metadataCheck', 'exit', 'cleanup']);
      expect(got.length).toBe(1);
      expect(Buffer.compare(got[0], info)).toBe(0);
      record(b);
    });

    it('ignores a ut_metadata msg_type it does not know (BEP 9/10), and still completes', () => {
      const { b, p, got } = fetchBench();
      offer(p);
      b.run();
      p.send({ type: 'extended', id: UT_METADATA_ID, payload: bencodeValue({ msg_type: 9, piece: 0 }) });
      p.send({ type: 'extended', id: 200, payload: new Uint8Array([1]) }); // an id it never announced
      b.run();
      expect(p.closedReason).toBeUndefined();
      p.send(dataMsg(0, info.subarray(0, 16384))).send(dataMsg(1, info.subarray(16384)));
      b.run();
      expect(got.length).toBe(1);
      record(b);
    });

    it('takes metadata from a seed that dials it (an inbound connection)', () => {
      const b = new Bench();
      const { fetcher, got } = benchFetcher(b, infoHash);
      const seedHost = b.network.addHost({ label: 'S', address: { host: 'S', port: 6881 }, upload: Infinity, download: Infinity });
      const p = new Puppet(b, 'S', seedHost);
      p.attach(seedHost.connect({ host: 'F', port: 6881 }));
      p.raw(encodeHandshake({ infoHash, peerId: peerIdOf('seed'), reserved: reservedBytes({ fast: false, extensionProtocol: true }) }));
      p.send(extHandshake({ m: { ut_metadata: 3 }, metadata_size: info.length, p: 7000 }));
      b.run();
      // Where it listens (its BEP 10 `p`), for the download to dial once the fetch is over.
      expect(fetcher.inboundPeers).toEqual([{ host: 'S', port: 7000 }]);
      const steps = fSteps(b, p);
      expectPath(steps, ['connect', 'handshake', 'sendExtHandshake', 'loop']);
      expect(b.events.find((e) => e.peer === 'F' && e.node === 'connect')?.inbound).toBe(true);
      expect(p.handshaken).toBe(true); // the fetcher answered our handshake with its own
      const asked = extendedOf(p).filter((m) => m.id === 3).map((m) => parseMetadataMessage(m.payload));
      expect(asked).toEqual([{ kind: 'request', piece: 0 }, { kind: 'request', piece: 1 }]);
      p.send(dataMsg(0, info.subarray(0, 16384))).send(dataMsg(1, info.subarray(16384)));
      b.run();
      expect(got.length).toBe(1);
      expect(Buffer.compare(got[0], info)).toBe(0);
      record(b);
    });

    it('metadata that does not hash to the info-hash is dropped with the connection', () => {
      const { b, p, got } = fetchBench();
      offer(p);
      b.run();
      const wrong = info.slice();
      wrong[5] ^= 1;
      p.send(dataMsg(0, wrong.subarray(0, 16384))).send(dataMsg(1, wrong.subarray(16384)));
      b.run();
      expectPath(fSteps(b, p), ['metadataData', 'metadataCheck', 'exit', 'cleanup']);
      expect(b.events.find((e) => e.node === 'metadataCheck')?.ok).toBe(false);
      expect(got).toEqual([]);
      record(b);
    });

    it('a piece of the wrong size, a reject, a bad handshake: each ends the connection', () => {
      const one = fetchBench();
      offer(one.p);
      one.b.run();
      one.p.send(dataMsg(0, info.subarray(0, 100)));
      one.b.run();
      expectPath(fSteps(one.b, one.p), ['metadataData', 'exit', 'cleanup']);
      expect(String(one.b.events.find((e) => e.node === 'exit' && e.peer === 'F')?.reason)).toMatch(/metadata piece 0 is 100 bytes, expected 16384/);
      record(one.b);

      const two = fetchBench();
      offer(two.p);
      two.b.run();
      two.p.send({ type: 'extended', id: UT_METADATA_ID, payload: encodeMetadataMessage({ kind: 'reject', piece: 0 }) });
      two.b.run();
      expectPath(fSteps(two.b, two.p), ['extended', 'metadataReject', 'exit', 'cleanup']);
      record(two.b);

      const three = fetchBench();
      three.p.raw(encodeHandshake({ infoHash, peerId: peerIdOf('seed'), reserved: reservedBytes({ fast: false, extensionProtocol: true }) }));
      // An absurd metadata_size is refused before anything is allocated.
      three.p.send(extHandshake({ m: { ut_metadata: 3 }, metadata_size: 2 ** 40 }));
      three.b.run();
      expectPath(fSteps(three.b, three.p), ['extended', 'extHandshake', 'exit', 'cleanup']);
      expect(String(three.b.events.find((e) => e.node === 'extHandshake' && e.peer === 'F')?.reason)).toMatch(/metadata_size/);
      record(three.b);
    });
  });
});

afterAll(() => {
  // Every solid edge that touches an extension step was taken by the tests above...
  expect(coverage.missing()).toEqual([]);
  // ... and no step pair in any trace is an edge the diagram does not have.
  expect(coverage.offChart()).toEqual([]);
});

it('the extension steps are nodes of the flowchart', () => {
  expect([...EXTENSION_STEPS].filter((id) => !flowNodes.some((n) => n.id === id))).toEqual([]);
});
