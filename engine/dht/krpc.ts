// KRPC (BEP 5): the DHT's messages, bencoded dictionaries in one datagram each. A query
// (`y: q`) names its method (`q`) and arguments (`a`); a response (`y: r`) carries values (`r`)
// and no method, so its meaning comes from the transaction (`t`) it answers; an error (`y: e`) is
// `[code, message]`. Nodes travel as compact node info (20-byte id + 6-byte IPv4 address: 26
// bytes), peers as compact peers (6 bytes). Pure.
//
// Decoding is strict about what the node acts on (ids of 20 bytes, ports in 1..65535, whole
// compact entries) and ignores keys it does not know, as BEP 5 lets extensions add them. A bad
// message is a `KrpcError` naming what is wrong, with the transaction id when one was readable,
// so the node can answer with a KRPC error (203, protocol error) instead of staying silent.

import { asBytes, asInt, asText, BdecodeError, type BDict, type BInput, type BValue, bdecode, bencodeValue, isDict } from '../bdecode.ts';
import { readCompactAddress, writeCompactAddress } from '../compact-address.ts';
import type { PeerAddress } from '../ports.ts';
import { ID_BYTES, type NodeId } from './node-id.ts';

/** BEP 5's error codes. */
export const KRPC_ERROR_CODES = {
  generic: 201,
  server: 202,
  protocol: 203,
  methodUnknown: 204,
} as const satisfies Record<string, number>;

export const KRPC_METHODS = ['ping', 'find_node', 'get_peers', 'announce_peer'] as const;
export type KrpcMethod = (typeof KRPC_METHODS)[number];

/** Compact node info: 20 bytes of id, 4 of IPv4, 2 of port. */
export const COMPACT_NODE_BYTES = ID_BYTES + 6;
/** Compact peer info: 4 bytes of IPv4, 2 of port. */
export const COMPACT_PEER_BYTES = 6;
/** Longest transaction id accepted (clients send 2 to 4 bytes). */
export const MAX_TRANSACTION_BYTES = 16;

/** A node as the DHT names it: its id and where it listens. */
export interface NodeInfo {
  id: NodeId;
  address: PeerAddress;
}

export type KrpcQuery =
  | { method: 'ping'; id: NodeId }
  | { method: 'find_node'; id: NodeId; target: NodeId }
  | { method: 'get_peers'; id: NodeId; infoHash: NodeId }
  /** `impliedPort`: the peer's port is the datagram's source port, not `port` (BEP 5, for peers behind NAT). */
  | { method: 'announce_peer'; id: NodeId; infoHash: NodeId; port: number; token: Uint8Array; impliedPort: boolean };

/** What a response may carry; which fields it must have depends on the query it answers. */
export interface KrpcResponse {
  id: NodeId;
  nodes?: NodeInfo[];
  values?: PeerAddress[];
  token?: Uint8Array;
}

interface Envelope {
  /** The transaction id, echoed by the response. */
  t: Uint8Array;
  /** The sender's client version (`v`), if it gave one. */
  version?: Uint8Array;
}

export type KrpcMessage =
  | (Envelope & { y: 'q'; query: KrpcQuery })
  | (Envelope & { y: 'r'; response: KrpcResponse })
  | (Envelope & { y: 'e'; error: { code: number; message: string } });

export type KrpcErrorKind = 'too-large' | 'bencode' | 'not-a-dictionary' | 'transaction' | 'type' | 'method-unknown' | 'missing-field' | 'bad-field';

/** A datagram that is not a KRPC message we can act on. */
export class KrpcError extends Error {
  constructor(
    readonly kind: KrpcErrorKind,
    detail: string,
    /** The message's transaction id, when it had a readable one (an error reply can echo it). */
    readonly transactionId?: Uint8Array,
    /** True when the message was a query: the sender waits for an answer. */
    readonly wasQuery = false,
  ) {
    super(`KRPC message: ${detail}`);
    this.name = 'KrpcError';
  }
}

export interface KrpcDecodeOptions {
  /** Bytes past which the datagram is refused unread. */
  maxBytes?: number;
  /** Longest token accepted. */
  maxTokenLength?: number;
  /** Entries of `nodes` and of `values` past this many are refused as a bad field. */
  maxEntries?: number;
}

const DEFAULT_MAX_BYTES = 1_500;
const DEFAULT_MAX_TOKEN = 40;
/** Entries of `nodes` or `values`: a full datagram of compact peers is under 250. */
const DEFAULT_MAX_ENTRIES = 250;
/** The deepest a KRPC message nests: the message, `a`/`r`/`e`, `values`. */
const KRPC_DEPTH = 3;

// --- encoding ---

export function encodeKrpc(m: KrpcMessage): Uint8Array {
  const d: { [key: string]: BInput } = { t: m.t, y: m.y };
  if (m.version !== undefined) d.v = m.version;
  if (m.y === 'q') {
    d.q = m.query.method;
    d.a = queryArguments(m.query);
  } else if (m.y === 'r') {
    const r: { [key: string]: BInput } = { id: m.response.id };
    if (m.response.nodes !== undefined) r.nodes = encodeNodes(m.response.nodes);
    if (m.response.values !== undefined) r.values = m.response.values.map((p) => encodePeer(p));
    if (m.response.token !== undefined) r.token = m.response.token;
    d.r = r;
  } else d.e = [m.error.code, m.error.message];
  return bencodeValue(d);
}

function queryArguments(q: KrpcQuery): { [key: string]: BInput } {
  switch (q.method) {
    case 'ping':
      return { id: q.id };
    case 'find_node':
      return { id: q.id, target: q.target };
    case 'get_peers':
      return { id: q.id, info_hash: q.infoHash };
    case 'announce_peer':
      return { id: q.id, info_hash: q.infoHash, port: q.port, token: q.token, implied_port: q.impliedPort ? 1 : 0 };
  }
}

/** Nodes as concatenated compact node info (IPv4 only: BEP 5's `nodes`). */
export function encodeNodes(nodes: readonly NodeInfo[]): Uint8Array {
  const out = new Uint8Array(nodes.length * COMPACT_NODE_BYTES);
  nodes.forEach((n, i) => {
    out.set(n.id, i * COMPACT_NODE_BYTES);
    writeCompactAddress(out, i * COMPACT_NODE_BYTES + ID_BYTES, n.address, 4);
  });
  return out;
}

export function encodePeer(p: PeerAddress): Uint8Array {
  const out = new Uint8Array(COMPACT_PEER_BYTES);
  writeCompactAddress(out, 0, p, 4);
  return out;
}

// --- decoding ---

export function decodeKrpc(bytes: Uint8Array, options: KrpcDecodeOptions = {}): KrpcMessage {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.length > maxBytes) throw new KrpcError('too-large', `${bytes.length} bytes, more than the ${maxBytes} accepted`);
  let v: BValue;
  try {
    v = bdecode(bytes, { maxDepth: KRPC_DEPTH });
  } catch (err) {
    if (err instanceof BdecodeError) throw new KrpcError('bencode', err.message);
    throw err;
  }
  if (!isDict(v)) throw new KrpcError('not-a-dictionary', 'not a dictionary');
  const t = asBytes(v.t);
  if (t === undefined) throw new KrpcError('transaction', v.t === undefined ? 'no transaction id "t"' : '"t" is not a byte string');
  if (t.length === 0 || t.length > MAX_TRANSACTION_BYTES) throw new KrpcError('transaction', `"t" of ${t.length} bytes (1 to ${MAX_TRANSACTION_BYTES} accepted)`);
  const y = asText(v.y);
  const version = v.v === undefined ? undefined : asBytes(v.v);
  const envelope: Envelope = version === undefined ? { t } : { t, version };
  const read = new FieldReader(t, y === 'q', options);
  if (y === 'q') return { ...envelope, y, query: read.query(v) };
  if (y === 'r') return { ...envelope, y, response: read.response(read.dict(v, 'r')) };
  if (y === 'e') return { ...envelope, y, error: read.error(v) };
  throw new KrpcError('type', y === undefined ? 'no message type "y"' : `message type "y" is ${JSON.stringify(y.slice(0, 8))}, not q, r or e`, t);
}

/** Reads fields, each fault a KrpcError carrying the transaction id. */
class FieldReader {
  constructor(
    private readonly t: Uint8Array,
    private readonly isQuery: boolean,
    private readonly options: KrpcDecodeOptions,
  ) {}

  fail(kind: KrpcErrorKind, detail: string): never {
    throw new KrpcError(kind, detail, this.t, this.isQuery);
  }

  dict(d: BDict, key: string): BDict {
    const v = d[key];
    if (v === undefined) this.fail('missing-field', `no "${key}"`);
    if (!isDict(v)) this.fail('bad-field', `"${key}" is not a dictionary`);
    return v;
  }

  bytes(d: BDict, key: string, where: string): Uint8Array {
    const v = d[key];
    if (v === undefined) this.fail('missing-field', `no "${where}.${key}"`);
    const b = asBytes(v);
    if (b === undefined) this.fail('bad-field', `"${where}.${key}" is not a byte string`);
    return b;
  }

  id(d: BDict, key: string, where: string): NodeId {
    const b = this.bytes(d, key, where);
    if (b.length !== ID_BYTES) this.fail('bad-field', `"${where}.${key}" is ${b.length} bytes, not ${ID_BYTES}`);
    return b;
  }

  token(d: BDict, where: string): Uint8Array {
    const b = this.bytes(d, 'token', where);
    const max = this.options.maxTokenLength ?? DEFAULT_MAX_TOKEN;
    if (b.length === 0 || b.length > max) this.fail('bad-field', `"${where}.token" is ${b.length} bytes (1 to ${max} accepted)`);
    return b;
  }

  query(v: BDict): KrpcQuery {
    const method = asText(v.q);
    if (method === undefined) this.fail(v.q === undefined ? 'missing-field' : 'bad-field', v.q === undefined ? 'no method "q"' : '"q" is not a byte string');
    if (!(KRPC_METHODS as readonly string[]).includes(method)) this.fail('method-unknown', `unknown method ${JSON.stringify(method.slice(0, 32))}`);
    const a = this.dict(v, 'a');
    const id = this.id(a, 'id', 'a');
    switch (method as KrpcMethod) {
      case 'ping':
        return { method: 'ping', id };
      case 'find_node':
        return { method: 'find_node', id, target: this.id(a, 'target', 'a') };
      case 'get_peers':
        return { method: 'get_peers', id, infoHash: this.id(a, 'info_hash', 'a') };
      case 'announce_peer': {
        const infoHash = this.id(a, 'info_hash', 'a');
        const implied = a.implied_port === undefined ? 0 : asInt(a.implied_port);
        if (implied !== 0 && implied !== 1) this.fail('bad-field', '"a.implied_port" is not 0 or 1');
        const port = asInt(a.port);
        if (a.port === undefined) this.fail('missing-field', 'no "a.port"');
        // With implied_port the field is still sent but not used, so any integer does.
        if (port === undefined || (implied === 0 && (port < 1 || port > 0xffff))) this.fail('bad-field', '"a.port" is not a port in 1..65535');
        return { method: 'announce_peer', id, infoHash, port, token: this.token(a, 'a'), impliedPort: implied === 1 };
      }
    }
  }

  response(r: BDict): KrpcResponse {
    const out: KrpcResponse = { id: this.id(r, 'id', 'r') };
    const maxEntries = this.options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (r.nodes !== undefined) {
      const b = this.bytes(r, 'nodes', 'r');
      if (b.length % COMPACT_NODE_BYTES !== 0) this.fail('bad-field', `"r.nodes" is ${b.length} bytes, not a whole number of ${COMPACT_NODE_BYTES}-byte nodes`);
      if (b.length / COMPACT_NODE_BYTES > maxEntries) this.fail('bad-field', `"r.nodes" holds ${b.length / COMPACT_NODE_BYTES} nodes, more than ${maxEntries}`);
      out.nodes = decodeNodes(b);
    }
    if (r.values !== undefined) {
      const list = r.values;
      if (!Array.isArray(list)) this.fail('bad-field', '"r.values" is not a list');
      if (list.length > maxEntries) this.fail('bad-field', `"r.values" holds ${list.length} peers, more than ${maxEntries}`);
      const values: PeerAddress[] = [];
      list.forEach((item, i) => {
        const b = asBytes(item);
        if (b === undefined || b.length !== COMPACT_PEER_BYTES) this.fail('bad-field', `"r.values[${i}]" is not a ${COMPACT_PEER_BYTES}-byte compact peer`);
        const peer = readCompactAddress(b, 0, 4);
        if (peer.port !== 0) values.push(peer);
      });
      out.values = values;
    }
    if (r.token !== undefined) out.token = this.token(r, 'r');
    return out;
  }

  error(v: BDict): { code: number; message: string } {
    const e = v.e;
    if (e === undefined) this.fail('missing-field', 'no "e"');
    if (!Array.isArray(e) || e.length < 2) this.fail('bad-field', '"e" is not a list of a code and a message');
    const code = asInt(e[0]);
    const message = asText(e[1]);
    if (code === undefined) this.fail('bad-field', '"e[0]" is not an integer code');
    if (message === undefined) this.fail('bad-field', '"e[1]" is not a string');
    return { code, message };
  }
}

/** Compact node info, entries with port 0 left out (they cannot be queried). */
export function decodeNodes(b: Uint8Array): NodeInfo[] {
  const nodes: NodeInfo[] = [];
  for (let at = 0; at + COMPACT_NODE_BYTES <= b.length; at += COMPACT_NODE_BYTES) {
    const address = readCompactAddress(b, at + ID_BYTES, 4);
    if (address.port !== 0) nodes.push({ id: b.subarray(at, at + ID_BYTES), address });
  }
  return nodes;
}
