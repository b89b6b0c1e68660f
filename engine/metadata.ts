// BEP 10 extension-protocol handshake and BEP 9 metadata exchange (ut_metadata): the codecs, and
// the assembler that rebuilds and checks an info dictionary. The fetcher that uses them to resolve
// a magnet link is engine/metadata-fetcher.ts; the handshake's reserved bits are engine/reserved-bits.ts.
//
// Pure. Every fault in what a peer sends (bad bencoding, absurd sizes, wrong piece, wrong hash) is an
// ExtensionError, which the caller turns into a traced exit and a dropped connection.

import { asBytes, asInt, asText, BdecodeError, type BDict, bdecodePrefix, bencodeValue, isDict } from './bdecode.ts';
import { bytesEqual, utf8Bytes } from './bytes.ts';
import { sha1 } from './metainfo.ts';
import { UT_PEX_ID } from './pex.ts';

/** Metadata travels in pieces of 16 KiB (BEP 9). */
export const METADATA_PIECE_SIZE = 16384;
/** The extended message id we assign to ut_metadata in our handshake. */
export const UT_METADATA_ID = 2;
/** Largest info dictionary we accept from a peer. */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024;

export class ExtensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtensionError';
  }
}

// ---- BEP 10 handshake ----------------------------------------------------------------------------

export interface ExtHandshake {
  /** The remote's id for ut_metadata, when it speaks it (0 means it disabled it). */
  utMetadata?: number;
  metadataSize?: number;
  client?: string;
  /** How many outstanding requests the remote allows. */
  reqq?: number;
  /** The remote's listening port. */
  port?: number;
  /** The remote's id for ut_pex (BEP 11), when it speaks it. */
  utPex?: number;
}

export function encodeExtHandshake(o: { metadataSize?: number; port?: number; client?: string; reqq?: number; pex?: boolean }): Uint8Array {
  const d: BDict = { m: o.pex ? { ut_metadata: UT_METADATA_ID, ut_pex: UT_PEX_ID } : { ut_metadata: UT_METADATA_ID } };
  if (o.metadataSize !== undefined) d.metadata_size = o.metadataSize;
  if (o.port !== undefined && o.port > 0) d.p = o.port;
  if (o.client !== undefined) d.v = utf8Bytes(o.client);
  if (o.reqq !== undefined) d.reqq = o.reqq;
  return bencodeValue(d);
}

export function parseExtHandshake(payload: Uint8Array): ExtHandshake {
  const d = decodeDict(payload, 'extension handshake', false).dict;
  const out: ExtHandshake = {};
  const m = d.m;
  if (m !== undefined && !isDict(m)) throw new ExtensionError('extension handshake: "m" is not a dictionary');
  if (isDict(m)) {
    const id = asInt(m.ut_metadata);
    if (id !== undefined) {
      if (!(id >= 0 && id <= 255)) throw new ExtensionError(`extension handshake: ut_metadata id ${id} is not in 0..255`);
      out.utMetadata = id;
    }
    // ut_pex's id: one out of range is ignored (we just do not send PEX), as libtorrent does.
    const pex = asInt(m.ut_pex);
    if (pex !== undefined && pex > 0 && pex <= 255) out.utPex = pex;
  }
  const size = asInt(d.metadata_size);
  if (size !== undefined) {
    if (!(size > 0 && size <= MAX_METADATA_SIZE)) throw new ExtensionError(`extension handshake: metadata_size ${size} is not in 1..${MAX_METADATA_SIZE}`);
    out.metadataSize = size;
  }
  const v = asText(d.v);
  if (v !== undefined) out.client = v.slice(0, 64);
  const reqq = asInt(d.reqq);
  if (reqq !== undefined && reqq > 0) out.reqq = reqq;
  const p = asInt(d.p);
  if (p !== undefined && p > 0 && p <= 0xffff) out.port = p;
  return out;
}

// ---- BEP 9 messages ------------------------------------------------------------------------------

export type MetadataMessage =
  | { kind: 'request'; piece: number }
  | { kind: 'data'; piece: number; totalSize: number; data: Uint8Array }
  | { kind: 'reject'; piece: number };

const MSG_TYPE = { request: 0, data: 1, reject: 2 } as const;

export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  const d: BDict = { msg_type: MSG_TYPE[m.kind], piece: m.piece };
  if (m.kind === 'data') d.total_size = m.totalSize;
  const head = bencodeValue(d);
  if (m.kind !== 'data') return head;
  const out = new Uint8Array(head.length + m.data.length);
  out.set(head);
  out.set(m.data, head.length);
  return out;
}

/** A ut_metadata message of a msg_type BEP 9 does not define: ignored, as the BEP's extensions must be. */
export interface UnknownMetadataMessage {
  kind: 'unknown';
  msgType: number;
}

export function parseMetadataMessage(payload: Uint8Array): MetadataMessage | UnknownMetadataMessage {
  const { dict: d, end } = decodeDict(payload, 'ut_metadata message', true);
  const type = asInt(d.msg_type);
  if (type === undefined) throw new ExtensionError('ut_metadata message: msg_type is missing or not an integer');
  if (type !== 0 && type !== 1 && type !== 2) return { kind: 'unknown', msgType: type };
  const piece = asInt(d.piece);
  if (piece === undefined || piece < 0 || piece > MAX_METADATA_SIZE / METADATA_PIECE_SIZE) {
    throw new ExtensionError(`ut_metadata message: piece ${String(piece)} is missing or out of range`);
  }
  if (type === 0 || type === 2) {
    if (end !== payload.length) throw new ExtensionError('ut_metadata message: trailing bytes after a request or reject');
    return { kind: type === 0 ? 'request' : 'reject', piece };
  }
  const totalSize = asInt(d.total_size);
  if (totalSize === undefined || totalSize <= 0 || totalSize > MAX_METADATA_SIZE) {
    throw new ExtensionError(`ut_metadata data: total_size ${String(totalSize)} is missing or not in 1..${MAX_METADATA_SIZE}`);
  }
  return { kind: 'data', piece, totalSize, data: payload.subarray(end) };
}

function decodeDict(payload: Uint8Array, what: string, prefix: boolean): { dict: BDict; end: number } {
  let decoded;
  try {
    decoded = bdecodePrefix(payload);
  } catch (err) {
    if (err instanceof BdecodeError) throw new ExtensionError(`${what}: ${err.message}`);
    throw err;
  }
  if (!isDict(decoded.value)) throw new ExtensionError(`${what}: not a dictionary`);
  if (!prefix && decoded.end !== payload.length) throw new ExtensionError(`${what}: trailing bytes after the dictionary`);
  return { dict: decoded.value, end: decoded.end };
}

/** Byte size of metadata piece `piece` of an info dictionary of `total` bytes. */
export function metadataPieceLength(total: number, piece: number): number {
  return Math.min(METADATA_PIECE_SIZE, total - piece * METADATA_PIECE_SIZE);
}

export function metadataPieceCount(total: number): number {
  return Math.ceil(total / METADATA_PIECE_SIZE);
}

/** Collects metadata pieces; checks the whole against the info-hash. */
export class MetadataAssembler {
  private readonly bytes: Uint8Array;
  private readonly got: boolean[];
  private count = 0;

  constructor(
    readonly size: number,
    private readonly infoHash: Uint8Array,
  ) {
    if (!(size > 0 && size <= MAX_METADATA_SIZE)) throw new ExtensionError(`metadata size ${size} is not in 1..${MAX_METADATA_SIZE}`);
    this.bytes = new Uint8Array(size);
    this.got = new Array(metadataPieceCount(size)).fill(false);
  }

  get pieceCount(): number {
    return this.got.length;
  }

  get complete(): boolean {
    return this.count === this.got.length;
  }

  missing(): number[] {
    const out: number[] = [];
    this.got.forEach((g, i) => !g && out.push(i));
    return out;
  }

  /** Stores a piece; throws ExtensionError when it does not fit. */
  add(piece: number, totalSize: number, data: Uint8Array): void {
    if (totalSize !== this.size) throw new ExtensionError(`metadata piece says total_size ${totalSize}, expected ${this.size}`);
    if (!(piece >= 0 && piece < this.got.length)) throw new ExtensionError(`metadata piece ${piece} is out of range 0..${this.got.length - 1}`);
    const want = metadataPieceLength(this.size, piece);
    if (data.length !== want) throw new ExtensionError(`metadata piece ${piece} is ${data.length} bytes, expected ${want}`);
    if (this.got[piece]) return;
    this.bytes.set(data, piece * METADATA_PIECE_SIZE);
    this.got[piece] = true;
    this.count++;
  }

  /** The info dictionary when complete and its SHA1 is the info-hash; undefined otherwise. */
  verified(): Uint8Array | undefined {
    if (!this.complete) return undefined;
    const digest = sha1(this.bytes);
    for (let i = 0; i < 20; i++) if (digest[i] !== this.infoHash[i]) return undefined;
    return this.bytes;
  }
}
