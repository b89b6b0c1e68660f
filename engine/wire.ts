// The BEP 3 peer wire protocol: the handshake and the length-prefixed messages, plus the BEP 6
// Fast extension messages and the BEP 10 extended-message envelope.
//
// Pure codec: no I/O. The encoder turns a `Message` into bytes; `WireDecoder` turns a byte stream,
// pushed in arbitrarily split chunks, back into handshakes and messages. The decoder is on the hot
// path of the simulator (one `piece` per 16 KiB block), so it avoids copying wherever it can: a
// piece's block is handed out as a view of the pushed chunk whenever the block lies inside one.

export const PROTOCOL = 'BitTorrent protocol';
export const HANDSHAKE_LENGTH = 68;
/** The conventional request size; the codec itself accepts any block length. */
export const BLOCK_SIZE = 16384;
/**
 * Default bound on a message's length prefix (id + payload). Far above a 16 KiB piece (16393),
 * and large enough for the bitfield of a torrent with up to ~8 million pieces.
 */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1_048_576;

export interface Handshake {
  /** 20 bytes. */
  infoHash: Uint8Array;
  /** 20 bytes. */
  peerId: Uint8Array;
  /** 8 bytes of extension flags (e.g. BEP 6 Fast, BEP 10 extension protocol). */
  reserved: Uint8Array;
}

export type Message =
  | { type: 'keep-alive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'not-interested' }
  | { type: 'have'; index: number }
  | { type: 'bitfield'; bits: Uint8Array }
  | { type: 'request'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Uint8Array }
  | { type: 'cancel'; index: number; begin: number; length: number }
  | { type: 'port'; port: number }
  // BEP 6 Fast extension
  | { type: 'suggest'; index: number }
  | { type: 'have-all' }
  | { type: 'have-none' }
  | { type: 'reject'; index: number; begin: number; length: number }
  | { type: 'allowed-fast'; index: number }
  // BEP 10 extension protocol: `id` is the extended message id, `payload` the raw bytes after it
  | { type: 'extended'; id: number; payload: Uint8Array };

export type MessageType = Message['type'];

/** What `WireDecoder.push` yields. */
export type DecodedItem =
  | { kind: 'handshake'; handshake: Handshake }
  | { kind: 'message'; message: Message };

export class WireError extends Error {
  /** `messageType` names the message at fault ('handshake' for the handshake), when known. */
  constructor(
    message: string,
    readonly messageType?: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

// ---------------------------------------------------------------------------------------------
// Message ids and payload sizes

const MESSAGE_ID = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  'not-interested': 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  'have-all': 0x0e,
  'have-none': 0x0f,
  reject: 0x10,
  'allowed-fast': 0x11,
  extended: 20,
} as const satisfies Record<Exclude<MessageType, 'keep-alive'>, number>;

type IdentifiedType = keyof typeof MESSAGE_ID;

/** Indexed by message id; undefined for ids we do not know. */
const TYPE_BY_ID: (IdentifiedType | undefined)[] = [];
for (const [type, id] of Object.entries(MESSAGE_ID)) TYPE_BY_ID[id] = type as IdentifiedType;

/**
 * The payload size each message allows: a number for an exact size, `{ atLeast }` for messages
 * whose payload ends in a variable-length part.
 */
const PAYLOAD_SIZE: Record<IdentifiedType, number | { atLeast: number }> = {
  choke: 0,
  unchoke: 0,
  interested: 0,
  'not-interested': 0,
  have: 4,
  // The codec does not know the piece count; the caller checks the bitfield's length.
  bitfield: { atLeast: 0 },
  request: 12,
  piece: { atLeast: 8 },
  cancel: 12,
  port: 2,
  suggest: 4,
  'have-all': 0,
  'have-none': 0,
  reject: 12,
  'allowed-fast': 4,
  extended: { atLeast: 1 },
};

/** Length prefix (4) + id (1) + index (4) + begin (4). */
const PIECE_HEADER_LENGTH = 13;

// ---------------------------------------------------------------------------------------------
// Encoding

function checkUint(value: number, max: number, what: string, type: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new WireError(`${type}: ${what} ${value} is not an integer in [0, ${max}]`, type);
  }
}

const checkUint32 = (value: number, what: string, type: string) =>
  checkUint(value, 0xffff_ffff, what, type);

function checkLength(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length !== expected) {
    throw new WireError(`handshake: ${what} is ${bytes.length} bytes, expected ${expected}`, 'handshake');
  }
}

export function encodeHandshake(h: Handshake): Uint8Array {
  checkLength(h.reserved, 8, 'reserved');
  checkLength(h.infoHash, 20, 'info hash');
  checkLength(h.peerId, 20, 'peer id');
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out[0] = PROTOCOL.length;
  for (let i = 0; i < PROTOCOL.length; i++) out[1 + i] = PROTOCOL.charCodeAt(i);
  out.set(h.reserved, 20);
  out.set(h.infoHash, 28);
  out.set(h.peerId, 48);
  return out;
}

/**
 * Allocates a whole message (length prefix, id, payload) and writes the prefix and id; the caller
 * fills in the payload from offset 5.
 */
function frame(type: IdentifiedType, payloadLength: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(5 + payloadLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1 + payloadLength);
  bytes[4] = MESSAGE_ID[type];
  return { bytes, view };
}

/** The message's first 13 bytes, up to (not including) the block. */
function encodePieceHeader(m: Extract<Message, { type: 'piece' }>): Uint8Array {
  checkUint32(m.index, 'index', m.type);
  checkUint32(m.begin, 'begin', m.type);
  checkUint32(m.block.length + 9, 'message length', m.type);
  const header = new Uint8Array(PIECE_HEADER_LENGTH);
  const view = new DataView(header.buffer);
  view.setUint32(0, 9 + m.block.length);
  header[4] = MESSAGE_ID.piece;
  view.setUint32(5, m.index);
  view.setUint32(9, m.begin);
  return header;
}

/**
 * Encodes one message. For 'piece' returns [header (13 bytes), block] without copying the block,
 * ready for `Connection.write`; for every other message returns a single Uint8Array.
 */
export function encodeMessage(m: Message): Uint8Array | Uint8Array[] {
  if (m.type === 'piece') return [encodePieceHeader(m), m.block];
  return encodeMessageBytes(m);
}

/** Like `encodeMessage`, but always one contiguous Uint8Array (copies the block of a piece). */
export function encodeMessageBytes(m: Message): Uint8Array {
  switch (m.type) {
    case 'keep-alive':
      return new Uint8Array(4);
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'not-interested':
    case 'have-all':
    case 'have-none':
      return frame(m.type, 0).bytes;
    case 'have':
    case 'suggest':
    case 'allowed-fast': {
      checkUint32(m.index, 'index', m.type);
      const { bytes, view } = frame(m.type, 4);
      view.setUint32(5, m.index);
      return bytes;
    }
    case 'request':
    case 'cancel':
    case 'reject': {
      checkUint32(m.index, 'index', m.type);
      checkUint32(m.begin, 'begin', m.type);
      checkUint32(m.length, 'length', m.type);
      const { bytes, view } = frame(m.type, 12);
      view.setUint32(5, m.index);
      view.setUint32(9, m.begin);
      view.setUint32(13, m.length);
      return bytes;
    }
    case 'port': {
      checkUint(m.port, 0xffff, 'port', m.type);
      const { bytes, view } = frame(m.type, 2);
      view.setUint16(5, m.port);
      return bytes;
    }
    case 'bitfield': {
      checkUint32(m.bits.length + 1, 'message length', m.type);
      const { bytes } = frame(m.type, m.bits.length);
      bytes.set(m.bits, 5);
      return bytes;
    }
    case 'extended': {
      checkUint(m.id, 0xff, 'extended id', m.type);
      checkUint32(m.payload.length + 2, 'message length', m.type);
      const { bytes } = frame(m.type, 1 + m.payload.length);
      bytes[5] = m.id;
      bytes.set(m.payload, 6);
      return bytes;
    }
    case 'piece': {
      const header = encodePieceHeader(m);
      const bytes = new Uint8Array(header.length + m.block.length);
      bytes.set(header);
      bytes.set(m.block, header.length);
      return bytes;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

const NO_BYTES = new Uint8Array(0);

/**
 * The bytes pushed but not yet decoded, kept as the list of chunks they arrived in so that a push
 * costs nothing and a message lying inside one chunk can be handed out as a view of it.
 */
class ChunkQueue {
  /** Chunks in [head, tail); the slots outside hold NO_BYTES (the array's length is never set: that is slow). */
  private chunks: Uint8Array[] = [];
  /** Index of the first chunk with unread bytes. */
  private head = 0;
  /** Index one past the last chunk. */
  private tail = 0;
  /** Read position inside `chunks[head]`. */
  private offset = 0;
  /** Unread bytes in total. */
  length = 0;

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks[this.tail++] = chunk;
    this.length += chunk.length;
  }

  /** Copies the next `n` (<= length) bytes into `target` without consuming them. */
  peekInto(target: Uint8Array, n: number): void {
    let index = this.head;
    let chunk = this.chunks[index];
    let position = this.offset;
    for (let i = 0; i < n; i++) {
      while (position === chunk.length) {
        chunk = this.chunks[++index];
        position = 0;
      }
      target[i] = chunk[position++];
    }
  }

  /** Consumes `n` (<= length) bytes. */
  skip(n: number): void {
    this.length -= n;
    let remaining = n;
    while (remaining > 0) {
      const available = this.chunks[this.head].length - this.offset;
      if (remaining < available) {
        this.offset += remaining;
        return;
      }
      // Drop the spent chunk at once, so that what is read next starts at a chunk's real start.
      remaining -= available;
      this.chunks[this.head++] = NO_BYTES;
      this.offset = 0;
    }
  }

  /**
   * Consumes the next `n` (<= length) bytes and returns them: a view of the chunk holding them
   * when they lie inside one, otherwise a fresh copy.
   */
  take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[this.head];
    if (this.offset + n <= first.length) {
      const view = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return view;
    }
    const out = new Uint8Array(n);
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[this.head];
      const part = Math.min(chunk.length - this.offset, n - written);
      out.set(chunk.subarray(this.offset, this.offset + part), written);
      written += part;
      this.skip(part);
    }
    return out;
  }

  /** Forgets the spent chunks at the front of the list. */
  compact(): void {
    const { chunks, head, tail } = this;
    if (head === 0) return;
    // Once everything is read the unread bytes lie in very few chunks, so this moves almost nothing.
    const left = tail - head;
    for (let i = 0; i < left; i++) chunks[i] = chunks[head + i];
    for (let i = left; i < tail; i++) chunks[i] = NO_BYTES;
    this.head = 0;
    this.tail = left;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.tail = 0;
    this.offset = 0;
    this.length = 0;
  }
}

export interface DecoderOptions {
  /** Largest length prefix (id + payload) accepted; default DEFAULT_MAX_MESSAGE_LENGTH. */
  maxMessageLength?: number;
  /** Whether the stream starts with the 68-byte handshake; default true. */
  expectHandshake?: boolean;
}

/** Latin-1 rendering of raw bytes, quoted and escaped, for error messages. */
function quoteBytes(bytes: Uint8Array): string {
  return JSON.stringify(String.fromCharCode(...bytes));
}

/**
 * Streaming decoder: push bytes split anywhere; each push returns whatever complete items are now
 * available.
 *
 * Views and copies: a piece's `block`, a bitfield's `bits` and an extended message's `payload` are
 * views of the pushed chunk when they lie inside one, and fresh copies when they straddle chunks.
 * Views pin the chunk they come from, and must not be modified. The handshake's fields are always
 * fresh copies.
 *
 * Errors: a protocol violation throws a WireError. The decoder is then broken: every later push
 * throws the same error. Messages completed earlier in the failing push are not returned — the
 * connection is to be dropped anyway.
 */
export class WireDecoder {
  private readonly queue = new ChunkQueue();
  private readonly maxMessageLength: number;
  private awaitingHandshake: boolean;
  private failure: unknown = undefined;
  /** Room for the handshake or a message's fixed fields, read through one long-lived DataView. */
  private readonly scratch = new Uint8Array(HANDSHAKE_LENGTH);
  private readonly scratchView = new DataView(this.scratch.buffer);

  constructor(options: DecoderOptions = {}) {
    const max = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    if (!Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
      throw new RangeError(`maxMessageLength ${max} is not an integer in [0, 2^32 - 1]`);
    }
    this.maxMessageLength = max;
    this.awaitingHandshake = options.expectHandshake ?? true;
  }

  /**
   * Bytes held waiting for the rest of the handshake or a message. After any push this is below
   * the handshake's 68 bytes or 4 + maxMessageLength, whichever is larger.
   */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /**
   * Takes bytes split anywhere and returns every item they complete. A malformed stream throws a
   * WireError, then and on every later call, and none of this call's items is returned.
   */
  push(bytes: Uint8Array): DecodedItem[] {
    this.append(bytes);
    const items: DecodedItem[] = [];
    for (let item = this.next(); item !== undefined; item = this.next()) items.push(item);
    return items;
  }

  /** Takes bytes split anywhere; `next` then reads the items they complete (after a fault, it throws it again). */
  append(bytes: Uint8Array): void {
    if (this.failure === undefined) this.queue.append(bytes);
  }

  /**
   * The next complete item, or undefined until more bytes come. Throws a WireError for a malformed
   * stream, then and on every later call. Reading item by item lets a caller act on each message
   * before the next is decoded, as a client reading its socket does, with no array per chunk.
   */
  next(): DecodedItem | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      if (this.awaitingHandshake) {
        const handshake = this.decodeHandshake();
        if (handshake !== undefined) {
          this.awaitingHandshake = false;
          return { kind: 'handshake', handshake };
        }
      } else {
        const message = this.decodeMessage();
        if (message !== undefined) return { kind: 'message', message };
      }
    } catch (error) {
      this.failure = error;
      this.queue.clear();
      throw error;
    }
    this.queue.compact();
    return undefined;
  }

  /** The handshake, or undefined while incomplete. Rejects a foreign protocol on its first bytes. */
  private decodeHandshake(): Handshake | undefined {
    const queue = this.queue;
    const scratch = this.scratch;
    const prefixAvailable = Math.min(queue.length, 1 + PROTOCOL.length);
    queue.peekInto(scratch, prefixAvailable);
    if (prefixAvailable >= 1 && scratch[0] !== PROTOCOL.length) {
      throw new WireError(
        `handshake: unexpected protocol string length ${scratch[0]}, expected ${PROTOCOL.length} ("${PROTOCOL}")`,
        'handshake',
      );
    }
    for (let i = 1; i < prefixAvailable; i++) {
      if (scratch[i] !== PROTOCOL.charCodeAt(i - 1)) {
        throw new WireError(
          `handshake: unexpected protocol string ${quoteBytes(scratch.subarray(1, prefixAvailable))}, expected "${PROTOCOL}"`,
          'handshake',
        );
      }
    }
    if (queue.length < HANDSHAKE_LENGTH) return undefined;
    queue.peekInto(scratch, HANDSHAKE_LENGTH);
    queue.skip(HANDSHAKE_LENGTH);
    return {
      reserved: scratch.slice(20, 28),
      infoHash: scratch.slice(28, 48),
      peerId: scratch.slice(48, 68),
    };
  }

  /** The next message, or undefined while incomplete. */
  private decodeMessage(): Message | undefined {
    const queue = this.queue;
    const scratch = this.scratch;
    const view = this.scratchView;
    if (queue.length < 4) return undefined;

    // Validate the length prefix and id as soon as they arrive, before buffering any body.
    queue.peekInto(scratch, Math.min(queue.length, 5));
    const length = view.getUint32(0);
    if (length > this.maxMessageLength) {
      throw new WireError(`message length ${length} exceeds the limit of ${this.maxMessageLength} bytes`);
    }
    if (length === 0) {
      queue.skip(4);
      return { type: 'keep-alive' };
    }
    if (queue.length < 5) return undefined;
    const id = scratch[4];
    const type = TYPE_BY_ID[id];
    if (type === undefined) throw new WireError(`unknown message id ${id} (length ${length})`);
    const payloadLength = length - 1;
    checkPayloadLength(type, payloadLength);
    if (queue.length < 4 + length) return undefined;

    queue.skip(5);
    // The fixed fields (at most 12 bytes) are copied into the scratch buffer and read from there,
    // so they read the same way whether or not they straddle chunks.
    switch (type) {
      case 'choke':
      case 'unchoke':
      case 'interested':
      case 'not-interested':
      case 'have-all':
      case 'have-none':
        return { type };
      case 'have':
      case 'suggest':
      case 'allowed-fast':
        queue.peekInto(scratch, 4);
        queue.skip(4);
        return { type, index: view.getUint32(0) };
      case 'request':
      case 'cancel':
      case 'reject':
        queue.peekInto(scratch, 12);
        queue.skip(12);
        return { type, index: view.getUint32(0), begin: view.getUint32(4), length: view.getUint32(8) };
      case 'port':
        queue.peekInto(scratch, 2);
        queue.skip(2);
        return { type, port: view.getUint16(0) };
      case 'piece': {
        queue.peekInto(scratch, 8);
        queue.skip(8);
        const index = view.getUint32(0);
        const begin = view.getUint32(4);
        return { type, index, begin, block: queue.take(payloadLength - 8) };
      }
      case 'bitfield':
        return { type, bits: queue.take(payloadLength) };
      case 'extended': {
        queue.peekInto(scratch, 1);
        queue.skip(1);
        return { type, id: scratch[0], payload: queue.take(payloadLength - 1) };
      }
    }
  }
}

function checkPayloadLength(type: IdentifiedType, payloadLength: number): void {
  const size = PAYLOAD_SIZE[type];
  if (typeof size === 'number') {
    if (payloadLength !== size) {
      throw new WireError(`${type}: payload is ${payloadLength} bytes, expected ${size}`, type);
    }
  } else if (payloadLength < size.atLeast) {
    throw new WireError(`${type}: payload is ${payloadLength} bytes, expected at least ${size.atLeast}`, type);
  }
}
