// Engine settings: every tunable of the client, with the defaults a user would expect.

export interface EngineSettings {
  /** Refill the request queue when fewer than this many blocks are outstanding to a peer. */
  loWatermark: number;
  /** ...up to this many outstanding requests per peer. */
  hiWatermark: number;
  /** Regular upload slots the choke manager fills every rechoke. */
  uploadSlots: number;
  /** Rechoke period (ms). */
  rechokeInterval: number;
  /** Optimistic unchoke rotation period (ms). */
  optimisticInterval: number;
  /** A peer that sent no block for this long while we wait on it is snubbed (ms). */
  snubTimeout: number;
  /** Send a keep-alive after this long without sending anything (ms). */
  keepAliveInterval: number;
  /** Drop a connection that sent nothing for this long (ms). */
  idleTimeout: number;
  /** Most connections (in and out) at once. */
  maxConnections: number;
  /** Peers asked of the tracker per announce. */
  numWant: number;
  /** Largest wire message accepted (bytes). */
  maxMessageLength: number;
  /** Most PIECE messages handed to the network before it drains; the rest wait in our queue. */
  maxSendQueue: number;
  /** Most queued incoming requests per peer; more are ignored. */
  maxPeerRequests: number;
  /** Period of the timer that drives rechoke, keep-alive and snub checks (ms). */
  tickInterval: number;
  /** Piece picker: 'rarest-first' (default) or 'sequential'. */
  piecePicker: 'rarest-first' | 'sequential';
  /** Offer the BEP 6 Fast extension (have-all/none, reject, allowed-fast) in the handshake. */
  fastExtension: boolean;
  /** Offer the BEP 10 extension protocol (and serve BEP 9 metadata) in the handshake. */
  extensionProtocol: boolean;
  /** Wait before dialling an address again after it failed (ms); doubles with each failure. */
  retryDelay: number;
  /** A BITFIELD after the first message: 'exit' (the diagram) or 'merge' it like HAVEs (live mode). */
  lateBitfield: 'exit' | 'merge';
  /** One extra unchoke rotated among the rest (off for a free rider). */
  optimisticUnchoke: boolean;
  /**
   * TEST ONLY: a bug planted on purpose, to show that swarm testing finds it, reproduces it from
   * its seed and shrinks it. 'trust-single-source' marks a piece whose blocks all came from one
   * peer as verified without checking its SHA1. Never set outside tests.
   */
  plantedBug?: 'trust-single-source';
  // ---- Trackers (issue 8) ----
  /**
   * Floor on the tracker's announce interval (ms): a tracker answering `interval 1` is announced
   * to every 5 minutes, not every second. libtorrent's `min_announce_interval` is 5 * 60 s, "a
   * sanity check on what is returned from a tracker" against hammering misbehaving trackers. The
   * simulator, whose scenarios use short intervals on purpose, passes a lower floor.
   */
  minAnnounceInterval: number;
}

export const defaultSettings: EngineSettings = {
  loWatermark: 5,
  hiWatermark: 25,
  uploadSlots: 4,
  rechokeInterval: 10_000,
  optimisticInterval: 30_000,
  snubTimeout: 60_000,
  keepAliveInterval: 120_000,
  idleTimeout: 180_000,
  maxConnections: 50,
  numWant: 50,
  maxMessageLength: 1_048_576,
  maxSendQueue: 2,
  maxPeerRequests: 256,
  tickInterval: 10_000,
  piecePicker: 'rarest-first',
  optimisticUnchoke: true,
  // Off by default so that simulated swarms stay plain BEP 3; live mode turns both on.
  fastExtension: false,
  extensionProtocol: false,
  retryDelay: 30_000,
  lateBitfield: 'exit',
  // ---- Trackers (issue 8) ----
  minAnnounceInterval: 300_000,
};

export function resolveSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
  const s = { ...defaultSettings, ...overrides };
  if (!(s.loWatermark >= 1 && s.hiWatermark >= s.loWatermark)) {
    throw new Error(`settings: need 1 <= loWatermark <= hiWatermark, got ${s.loWatermark} and ${s.hiWatermark}`);
  }
  if (!(s.uploadSlots >= 0)) throw new Error(`settings: uploadSlots must be >= 0, got ${s.uploadSlots}`);
  return s;
}
