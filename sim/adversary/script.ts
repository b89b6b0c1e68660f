// What a malicious behaviour is made of: a Script says how the adversary presents itself to the
// swarm and what it does on each connection. sim/adversary/peer.ts runs it (tracker, listening,
// dialling); sim/adversary/session.ts gives it one connection at a time, through `SessionTools`
// (declared here, so that scripts depend on this contract and not on the session that runs them).

import type { Torrent } from '../../engine/metainfo.ts';
import { blockLength, blocksIn, isBlockInPiece, pieceSize } from '../../engine/piece-shape.ts';
import type { Clock, Network, TrackerPort } from '../../engine/ports.ts';
import type { TraceSink } from '../../engine/trace.ts';
import { BLOCK_SIZE, type Message } from '../../engine/wire.ts';
import type { SeededRandom } from '../random.ts';

export interface AdversaryContext {
  /** The adversary's name in the trace; honest peers know it by its host's label. */
  label: string;
  /** Where it listens and dials: only the engine's Network port, so it runs on any transport. */
  host: Network;
  /** The swarm's clock: virtual time in memory, real time on TCP. */
  scheduler: Clock;
  /** Every random choice the adversary makes comes from here. */
  random: SeededRandom;
  torrent: Torrent;
  /** The real payload: a corrupting peer flips bytes of it, a flooder asks for it. */
  payload: Uint8Array;
  tracker: TrackerPort;
  trace: TraceSink;
  /** 20 bytes, sent in every handshake. */
  peerId: Uint8Array;
  /** `corrupt` only: the share of blocks it flips, drawn per block (default 1: every block). */
  corruptFraction?: number;
}

/** What a script can do on its connection; sim/adversary/session.ts's `Session` is the one implementation. */
export interface SessionTools {
  /** This is the adversary's n-th connection (0-based), inbound and outbound counted together. */
  readonly index: number;
  readonly shape: TorrentShape;
  readonly inbound: boolean;
  /** True once the connection has ended, by either side. */
  readonly ended: boolean;
  readonly random: SeededRandom;
  readonly ctx: AdversaryContext;
  send(...messages: Message[]): void;
  /** Writes bytes as they are, encoded or not. */
  raw(bytes: Uint8Array | Uint8Array[]): void;
  /** Closes the connection from our side. */
  close(): void;
  /** Runs `fn` after `delay` ms, unless the connection has ended by then. */
  after(delay: number, fn: () => void): void;
  /** Runs `fn` every `period` ms while the connection lasts, at most `times` times. */
  every(period: number, fn: () => void, times?: number): void;
}

/** What a script does on one connection. Every hook is optional. */
export interface SessionScript {
  /** The connection is usable: accepted, or dialled and open. Called before any handshake. */
  opened?(): void;
  /** The remote's handshake arrived and ours is sent: the message loop starts. */
  handshaken?(): void;
  /** A message from the remote. */
  message?(m: Message): void;
}

export interface Script {
  /** Announced to the tracker as a seed (left = 0) and traced as holding every piece. */
  readonly claimsEverything: boolean;
  /** False for a peer that never sends a byte, not even the handshake. */
  readonly sendsHandshake: boolean;
  /** Wait (ms) before dialling a peer again once our connection to it has ended. */
  readonly redialDelay: number;
  /** The script of a new connection. */
  attach(session: SessionTools): SessionScript;
}

/** The torrent's shape, as the scripts need it. */
export class TorrentShape {
  constructor(private readonly torrent: Torrent) {}

  get pieceCount(): number {
    return this.torrent.pieceCount;
  }

  pieceSize(index: number): number {
    return pieceSize(this.torrent, index);
  }

  blocksIn(index: number): number {
    return blocksIn(this.torrent, index);
  }

  blockLength(index: number, block: number): number {
    return blockLength(this.torrent, index, block);
  }

  /** True when the range lies inside the torrent's piece `index` (the engine's own rule for requests). */
  holds(index: number, begin: number, length: number): boolean {
    return isBlockInPiece(this.torrent, index, begin, length);
  }

  /** A BITFIELD claiming every piece, spare bits clear. */
  fullBitfield(): Uint8Array {
    const bits = new Uint8Array(Math.ceil(this.pieceCount / 8));
    for (let i = 0; i < this.pieceCount; i++) bits[i >> 3] |= 0x80 >> (i & 7);
    return bits;
  }

  /** A random block of the torrent: a piece index, an aligned offset and the block's real length. */
  randomBlock(random: SeededRandom): { index: number; begin: number; length: number } {
    const index = random.int(0, this.pieceCount - 1);
    const block = random.int(0, this.blocksIn(index) - 1);
    return { index, begin: block * BLOCK_SIZE, length: this.blockLength(index, block) };
  }
}
