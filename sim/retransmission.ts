// How TCP's retransmission looks from outside, for the `loss` fault: a lost batch is sent again
// after a time-out that doubles per loss, and after too many losses in a row the connection gives
// up. One rule for both transports: the in-memory network (`network.ts`) and the TCP relay
// (`tcp/relay.ts`) draw the same numbers from the same stream in the same order.

import type { Random } from '../engine/ports.ts';

/** A lost batch is sent again after a round trip plus this (Linux's TCP_RTO_MIN, 200 ms), doubling per loss. */
export const RETRANSMIT_MIN_TIMEOUT = 200;
/** After this many losses of one batch in a row the connection is reset, as Linux does (tcp_retries2 = 15). */
export const MAX_RETRANSMISSIONS = 15;

export interface RetransmissionRule {
  minTimeout: number;
  maxRetransmissions: number;
}

export const LINUX_RETRANSMISSION: RetransmissionRule = { minTimeout: RETRANSMIT_MIN_TIMEOUT, maxRetransmissions: MAX_RETRANSMISSIONS };

/**
 * How much later a batch sent with one-way `latency` arrives for the times it is lost first
 * (each a draw under `loss`), or that TCP gave up on it after `delay`.
 */
export function retransmissionDelay(random: Random, loss: number, latency: number, rule: RetransmissionRule = LINUX_RETRANSMISSION): { delay: number; gaveUp: boolean } {
  let timeout = 2 * latency + rule.minTimeout;
  let delay = 0;
  for (let losses = 0; random.next() < loss; losses++) {
    if (losses === rule.maxRetransmissions) return { delay, gaveUp: true };
    delay += timeout;
    timeout *= 2;
  }
  return { delay, gaveUp: false };
}
