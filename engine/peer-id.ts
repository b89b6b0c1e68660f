// Peer ids in the Azureus style most clients use (BEP 20): `-` two letters of client, four of
// version, `-`, then 12 random characters. One definition for the simulator's peers, its
// adversaries and live mode; the randomness comes from the caller's Random port.

import { utf8Bytes } from './bytes.ts';
import type { Random } from './ports.ts';
import { ENGINE_VERSION } from './version.ts';

/** Our client code: swarmlab (the simulator's adversaries pass their own). */
export const CLIENT_CODE = 'SL';
/** The version in our peer id: ENGINE_VERSION as four digits, one per part (0.1.0 is `0100`). */
export const PEER_ID_VERSION = `${ENGINE_VERSION.replace(/\./g, '')}0000`.slice(0, 4);

/** Printable characters only: some clients show peer ids as text. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A 20-byte peer id `-<client><version>-` and 12 characters drawn from `random`. */
export function makePeerId(random: Random, client = CLIENT_CODE, version = PEER_ID_VERSION): Uint8Array {
  let id = `-${client.slice(0, 2).padEnd(2, 'X')}${version.slice(0, 4).padEnd(4, '0')}-`;
  for (let i = 0; i < 12; i++) id += ALPHABET[Math.floor(random.next() * ALPHABET.length)];
  return utf8Bytes(id);
}
