// The trace: the one contract between engine, simulator and visualizer.
// Documented in docs/trace-format.md; bump TRACE_VERSION on any incompatible change.

export const TRACE_FORMAT = 'swarmlab-trace';
export const TRACE_VERSION = 1;

/** The kinds of event, each with what it says; the visualizer reads the same table. */
export const TRACE_KINDS = {
  step: 'a control-flow step of a Peer process: `node` is a flowchart node id',
  join: "a peer entered the swarm; `role` is 'seed' or 'leecher', `pieces` how many it holds",
  leave: 'a peer left the swarm (or stopped)',
  connect: 'a connection finished its handshake; `inbound` says who dialled',
  disconnect: 'a connection ended; `reason` says why',
  state: 'the choke/interest flags of a connection changed',
  verified: 'a piece passed its SHA1 check',
  hashfail: 'a piece failed its SHA1 check; `from` lists the peers that sent its blocks',
  complete: 'the peer holds every piece',
  announce: 'a tracker announce finished',
  ban: 'a remote peer was banned (`reason`); its connection ends',
  discard: "a banned peer's blocks of unverified pieces were thrown away (`blocks`), to be fetched again from others",
  fault: 'a fault was injected by the simulator',
  violation: "a safety check failed (`check`, `detail`), or the wire checker found `peer` breaking a rule on its connection to `remote` (`check: 'wire:<rule>'`, `bytes`)",
  webseed: "a web seed (BEP 19; `remote` is its URL) failed (`state: 'failed'`, `error`, `failures` in a row, `retryIn` ms) or was retired (`state: 'retired'`, `reason`)",
  pause: 'the torrent was paused: tracker told `stopped`, connections closed; `pieces` verified are kept',
  resume: 'a paused torrent resumed without a re-check (`pieces` held)',
  message: "a wire message another client sent to `remote` (TCP runs): `type` and its numbers, decoded by the relay's tap",
  turnover: 'peer turnover: every slot taken, the `disconnected` least useful peers were dropped to dial others (`connections` left)',
  failure: "a check of the run failed (`check`, `message`; `at`: when, if the check names a time): the run's verdict, traced when it is judged, after every other event",
  krpc: "a DHT message (BEP 5 KRPC) sent (`dir: 'out'`) or received (`dir: 'in'`) by a DHT node: `y` (q, r or e), `tid`, `method` of a query, `nodes` and `values` counts of a reply, `code` of an error; a datagram that is not KRPC has `error` and `errorKind` instead",
  starved: 'too few peers (`connections`) and none left to dial among the `known`: the peer announces again now',
} as const;

export type TraceKind = keyof typeof TRACE_KINDS;

export interface TraceEvent {
  /** Time in ms (virtual in the simulator). */
  t: number;
  /** The peer whose engine emitted the event. */
  peer: string;
  /** The remote peer of the connection, when the event belongs to one. */
  remote?: string;
  kind: TraceKind;
  /** For 'step': the flowchart node id entered. */
  node?: string;
  /** Any further fields, documented per kind in docs/trace-format.md. */
  [field: string]: unknown;
}

export interface TraceSink {
  emit(event: TraceEvent): void;
  /**
   * False when the sink drops `step` and `state` events (a peer-level trace of a huge swarm):
   * the engine then does not build them at all. Absent means true.
   */
  readonly steps?: boolean;
}

export const nullTrace: TraceSink = { emit() {} };

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  version: number;
  seed: string;
  engine: string;
  settings: Record<string, unknown>;
  torrent?: { name: string; length: number; pieceLength: number; pieces: number; infoHash: string };
}
