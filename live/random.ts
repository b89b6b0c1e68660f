// Randomness from node:crypto for live mode (the simulator uses seeded streams instead).

import { randomBytes, randomInt } from 'node:crypto';
import type { Random } from '../engine/ports.ts';

export class CryptoRandom implements Random {
  next(): number {
    return randomInt(0, 2 ** 48 - 1) / 2 ** 48;
  }
}

/** An Azureus-style peer id: `-SL0100-` and 12 random bytes. */
export function makePeerId(version = '0100'): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode(`-SL${version.slice(0, 4).padEnd(4, '0')}-`));
  // Printable random characters: some clients show peer ids as text.
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const r = randomBytes(12);
  for (let i = 0; i < 12; i++) id[8 + i] = alphabet.charCodeAt(r[i] % alphabet.length);
  return id;
}
