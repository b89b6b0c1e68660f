// Adversaries that abuse connections rather than messages: `silent` holds connections open and
// never sends a byte, `drop` opens connections and closes them at once, over and over.

import type { Script } from './script.ts';

/** Accepts and dials, then says nothing at all — not even the handshake. Reads and ignores. */
export const silent: Script = {
  claimsEverything: false,
  sendsHandshake: false,
  redialDelay: 10_000,
  attach: () => ({}),
};

/** How soon `drop` dials a peer again: its connections to one peer come at most this often. */
export const DROP_REDIAL = 1_000;

/** Closes every connection the moment it is usable, dialled or accepted; dials again and again. */
export const drop: Script = {
  claimsEverything: false,
  sendsHandshake: false,
  redialDelay: DROP_REDIAL,
  attach: (s) => ({ opened: () => s.close() }),
};
