// Randomness from node:crypto for live mode (the simulator uses seeded streams instead).

import { randomInt } from 'node:crypto';
import { makePeerId } from '../engine/peer-id.ts';
import type { Random } from '../engine/ports.ts';

export class CryptoRandom implements Random {
  next(): number {
    return randomInt(0, 2 ** 48 - 1) / 2 ** 48;
  }
}

/** Our peer id (engine/peer-id.ts) with its 12 characters from node:crypto. */
export function livePeerId(): Uint8Array {
  return makePeerId(new CryptoRandom());
}
