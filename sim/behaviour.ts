// How a peer of a simulated swarm behaves, and when it leaves: words the swarm runner
// (sim/swarm.ts), the adversaries (sim/adversary.ts) and the scenario format (sim/scenario/) share.
// They live in sim/, not sim/scenario/, because sim/ may not import sim/scenario/ (the layer table
// in docs/ARCHITECTURE.md).

/** How a malicious peer misbehaves (sim/adversary.ts). Honest peers run the real engine. */
export type Behaviour =
  | 'honest'
  /** Serves blocks with flipped bytes. */
  | 'corrupt'
  /** Claims every piece, serves none (or garbage). */
  | 'liar'
  /** Sends PIECE messages nobody asked for. */
  | 'unsolicited'
  /** Sends messages with wrong lengths. */
  | 'malformed'
  /** Sends a length prefix of ~2 GiB. */
  | 'huge-length'
  /** Floods REQUESTs. */
  | 'request-flood'
  /** Accepts connections and never answers. */
  | 'silent'
  /** Connects and drops at once. */
  | 'drop'
  /** Downloads and never uploads (a free rider): the real engine with no upload slots. */
  | 'free-rider';

export type LeavePolicy = { when: 'never' } | { when: 'on-complete'; linger?: number } | { when: 'after'; time: number };
