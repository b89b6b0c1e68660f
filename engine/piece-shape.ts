// Piece and block arithmetic: how big a piece is, how it splits into 16 KiB blocks, and which
// byte ranges a REQUEST may ask for. One definition for metainfo, the Piece Manager, the Peer
// process's request check and the simulator's adversaries.

import { BLOCK_SIZE } from './wire.ts';

/** What piece sizes follow from: a torrent, a Piece Manager's layout, an adversary's view. */
export interface PieceShape {
  /** Payload bytes. */
  readonly length: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
}

/** Byte size of piece `index`; only the last piece may be shorter than pieceLength. */
export function pieceSize(t: PieceShape, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= t.pieceCount) {
    throw new RangeError(`piece index ${index} is out of range 0..${t.pieceCount - 1}`);
  }
  return index === t.pieceCount - 1 ? t.length - index * t.pieceLength : t.pieceLength;
}

/** How many blocks piece `index` has (the last one may be short). */
export function blocksIn(t: PieceShape, index: number): number {
  return Math.ceil(pieceSize(t, index) / BLOCK_SIZE);
}

/** Byte length of block `block` of piece `index`. */
export function blockLength(t: PieceShape, index: number, block: number): number {
  return Math.min(BLOCK_SIZE, pieceSize(t, index) - block * BLOCK_SIZE);
}

/** True when a request's range lies inside piece `index` and is at most one block long. */
export function isBlockInPiece(t: PieceShape, index: number, begin: number, length: number): boolean {
  if (!(Number.isInteger(index) && index >= 0 && index < t.pieceCount)) return false;
  return length > 0 && length <= BLOCK_SIZE && begin >= 0 && begin + length <= pieceSize(t, index);
}
