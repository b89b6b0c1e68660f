// Checks on the hand-kept counters (the Piece Manager's `unrequested` and blocks received, a Peer
// process's `wanted` and outstanding requests, the availability of each piece): cheap range
// assertions where a counter changes, and `checkClientCounters`, which recomputes every counter
// of one client from scratch and compares (the simulator runs it after every event in tests:
// sim/debug-checks.ts). A failed check is a bug in the engine: it throws a CounterError naming
// the counter and both values.

import type { Bitfield } from './bitfield.ts';
import type { PeerKey } from './peer-key.ts';

export class CounterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CounterError';
  }
}

/**
 * Throws unless `min <= value <= max`: for the spot where a counter changes. The counter's name is
 * `counter` followed by `of` ('wanted of' + the remote's label): the message is built only when
 * the check fails, so the check costs two comparisons on the hot path.
 */
export function assertCounterInRange(counter: string, value: number, min: number, max: number, of?: string | number): void {
  if (value < min || value > max) {
    throw new CounterError(`counter ${of === undefined ? counter : `${counter} ${of}`} is ${value}, outside its bounds [${min}, ${max}]`);
  }
}

/** Throws unless the kept value equals the one recomputed from scratch. */
export function assertCounterEquals(counter: string, kept: number, recomputed: number): void {
  if (kept !== recomputed) throw new CounterError(`counter ${counter} is ${kept}, but recomputed from scratch it is ${recomputed}`);
}

/** Bits set in `a` and not in `b` (two piece sets of one torrent), a byte at a time. */
export function countAndNot(a: Bitfield, b: Bitfield): number {
  let n = 0;
  for (let k = 0; k < a.bytes.length; k++) {
    let x = a.bytes[k] & ~b.bytes[k] & 0xff;
    for (; x !== 0; x &= x - 1) n++;
  }
  return n;
}

/** What `checkClientCounters` needs of a client (engine/client.ts's Client has it). */
export interface CountedClient {
  readonly label: string;
  readonly pieces: {
    recountCounters(remotePieceSets: readonly Bitfield[]): ReadonlyMap<PeerKey, number>;
  };
  connections(): readonly {
    readonly key: PeerKey;
    readonly remotePieces: Bitfield;
    recountCounters(requestedFromIt: number): void;
  }[];
  /** Web seeds (BEP 19): requests in flight to them, without a piece set in the availability. */
  webSeeds?(): readonly { readonly key: PeerKey; recountCounters(requestedFromIt: number): void }[];
}

/**
 * Recomputes every hand-kept counter of `client` and its connections and compares: the Piece
 * Manager's (and the requests it has in flight per peer), then each connection's against them.
 * O(pieces + blocks in flight) per client: a debug check, off in the CLI and the bench.
 */
export function checkClientCounters(client: CountedClient): void {
  const connections = client.connections();
  const requested = new Map(client.pieces.recountCounters(connections.map((c) => c.remotePieces)));
  for (const c of connections) {
    c.recountCounters(requested.get(c.key) ?? 0);
    requested.delete(c.key);
  }
  for (const seed of client.webSeeds?.() ?? []) {
    seed.recountCounters(requested.get(seed.key) ?? 0);
    requested.delete(seed.key);
  }
  for (const [key, blocks] of requested) {
    if (blocks > 0) throw new CounterError(`${client.label}: ${blocks} blocks requested from ${key}, which is not connected (expected 0)`);
  }
}
