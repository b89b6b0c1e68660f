// Engine settings: every tunable of the client, with the defaults a user would expect.

import { OFF_CHART_POLICIES, type OffChartPolicy } from './flowchart.ts';
import { MAX_ALLOWED_FAST } from './allowed-fast.ts';

// ---- the values of string settings ------------------------------------------------------------
// One table each: the setting's type, its limit (`SETTING_LIMITS`) and scenario files' schema
// (sim/scenario/schema.ts) all come from it.

/** Piece pickers (`piecePicker`): rarest first with seeded tie-breaks, or in index order. */
export const PIECE_PICKERS = ['rarest-first', 'sequential'] as const;
export type PiecePicker = (typeof PIECE_PICKERS)[number];

/**
 * Leechers' chokers (`chokeAlgorithm`; a seed always shares round robin): 'tit-for-tat', BEP 3's
 * and libtorrent's (the best uploaders to us); 'random', the same number of slots drawn at random
 * (the control of an experiment on tit-for-tat); 'bittyrant', the strategic client of Piatek et
 * al. (2007, engine/bittyrant.ts).
 */
export const CHOKE_ALGORITHMS = ['tit-for-tat', 'random', 'bittyrant'] as const;
export type ChokeAlgorithm = (typeof CHOKE_ALGORITHMS)[number];

/** What a BITFIELD after the first message does (`lateBitfield`): `exit` as the diagram says, or `merge` it like HAVEs. */
export const LATE_BITFIELD_RULES = ['exit', 'merge'] as const;
export type LateBitfieldRule = (typeof LATE_BITFIELD_RULES)[number];

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
  /**
   * Send a keep-alive after this long without sending anything (ms). 60 s: libtorrent sends one
   * after half its `peer_timeout`, so a quiet peer of ours never hits the other side's idle time-out.
   */
  keepAliveInterval: number;
  /**
   * Drop a connection that sent nothing for this long (ms): a deadline of the connection's own
   * timer, not the tick. 120 s is libtorrent's `peer_timeout`.
   */
  idleTimeout: number;
  /** Most connections (in and out) at once. */
  maxConnections: number;
  /** Peers asked of the tracker per announce. */
  numWant: number;
  /** Largest wire message accepted (bytes). */
  maxMessageLength: number;
  /**
   * Most PIECE messages handed to the network before it drains; the rest wait in our queue. One:
   * what the network holds is what our REQUESTs, CANCELs and CHOKEs wait behind, and on a slow
   * uplink shared by several connections two blocks each kept them back for seconds (endgame
   * duplicates in scenarios/endgame-slow-peer.yaml fell from 0-12.5 % to 0-1.6 % of the payload
   * over seeds 1-10; the default swarm finishes as fast). libtorrent likewise sizes its send
   * buffer by the upload rate, so a slow uplink keeps little queued.
   */
  maxSendQueue: number;
  /** Most queued incoming requests per peer; more are ignored. */
  maxPeerRequests: number;
  /** Period of the timer that drives rechoke, keep-alive and snub checks (ms). */
  tickInterval: number;
  /** Piece picker (PIECE_PICKERS): 'rarest-first' (default) or 'sequential'. */
  piecePicker: PiecePicker;
  /** Offer the BEP 6 Fast extension (have-all/none, reject, allowed-fast) in the handshake. */
  fastExtension: boolean;
  /** Offer the BEP 10 extension protocol (and serve BEP 9 metadata) in the handshake. */
  extensionProtocol: boolean;
  /**
   * Wait before dialling an address again (ms), counted from when the last dial began, times one
   * more than its failures in a row (capped at 5): libtorrent's reconnect rule, `(failcount + 1) ×
   * min_reconnect_time` (60 s) since `last_connected`. A dead address is dialled at 0, 120 s, 300 s…
   */
  retryDelay: number;
  /**
   * Each redial's wait is `retryDelay × (failures + 1)` stretched by a random share up to this %
   * (25: up to a quarter longer), so dials that failed together are not retried in lock-step.
   * 0: every wait exact.
   */
  retryJitter: number;
  /** A BITFIELD after the first message (LATE_BITFIELD_RULES): 'exit' (the diagram) or 'merge' it like HAVEs (live mode). */
  lateBitfield: LateBitfieldRule;
  /** One extra unchoke rotated among the rest (off for a free rider). */
  optimisticUnchoke: boolean;
  /** How a leecher picks its regular unchokes (CHOKE_ALGORITHMS); 'tit-for-tat' by default. */
  chokeAlgorithm: ChokeAlgorithm;
  /**
   * Our upload capacity (bytes/s), which 'bittyrant' shares out; 0: unknown, measured as the most
   * sent in one rechoke round. The simulator sets it from the peer's uplink.
   */
  uploadCapacity: number;
  // ---- Peer Manager under attack (issue 8) ----
  /**
   * Most addresses kept in the peer list (from tracker replies and the user).
   * libtorrent's `max_peerlist_size` is 3000: far more than we can connect to, small enough that
   * a tracker flooding us with addresses costs a few hundred KiB. Past it, an address that failed
   * is forgotten first, then the oldest never connected; one we are connected to never is.
   */
  maxPeerList: number;
  /**
   * Most addresses taken from one tracker reply. We ask for `numWant` (50); a reply of thousands
   * is broken or hostile, and would only churn the peer list.
   */
  maxPeersPerReply: number;
  /**
   * Most connections (in, out and handshaking) with one IP — in the simulator, one virtual host.
   * libtorrent allows 1 unless `allow_multiple_connections_per_ip`; we allow a few, as NAT'd
   * households and loopback test swarms (aria2, libtorrent, Transmission and swarmlabs all on
   * 127.0.0.1) share one address, while one IP can still not take most of the 50 slots.
   */
  maxConnectionsPerIp: number;
  /**
   * Most connections in their handshake at once, counted apart for each direction and apart from
   * the established slots (`maxConnections`), so sockets that never finish the handshake cannot
   * take an established slot, and an inbound flood does not stop our own dials. As many as the
   * established slots, so a whole tracker reply can be dialled at once.
   */
  maxPendingHandshakes: number;
  // ---- One connection's bounds under a hostile peer (issue 8) ----
  /**
   * A connection (dialled or accepted) that has not completed the BitTorrent handshake this long
   * after it began is closed (ms). A timer of its own, not the tick. libtorrent's
   * `handshake_timeout` is 10 s.
   */
  handshakeTimeout: number;
  /**
   * Send queue watermark (bytes the network has not taken from one connection). Past it we write
   * nothing optional to that peer: it is choked, requests it sends are dropped without a REJECT,
   * and the queue must fall below it before we unchoke it again. libtorrent's
   * `send_buffer_watermark` default is 500 KiB. Also caps what `maxSendQueue` lets the pump queue.
   */
  sendQueueWatermark: number;
  /** A connection whose send queue passes this many bytes is dropped at once (4 × the watermark). */
  sendQueueHardLimit: number;
  /**
   * A peer whose send queue stays at or above the watermark this long is dropped (ms): it takes
   * less than 500 KiB a minute. 60 s is libtorrent's `request_timeout` for a block.
   */
  sendQueueStallTimeout: number;
  /**
   * Requests in a row (REQUEST or ut_metadata) that we could not serve — sent while choked,
   * invalid, past a queue bound, or while the send queue is full — after which the peer is dropped.
   * libtorrent drops a peer after 300 requests it sent while choked (`too_many_requests_when_choked`).
   */
  maxUnservedRequests: number;
  /**
   * ut_metadata requests queued per peer, served as the network takes our writes (like REQUESTs
   * and `maxPeerRequests`); more are rejected. 1024 pieces is the largest info dictionary a BEP 9
   * fetcher accepts (16 MiB, `MAX_METADATA_SIZE`) asked for at once, as our own fetcher does; the
   * queue holds piece numbers only, the replies' bytes are bounded by the send queue.
   */
  maxMetadataRequests: number;
  // ---- Trackers (issue 8) ----
  /**
   * Floor on the tracker's announce interval (ms): a tracker answering `interval 1` is announced
   * to every 5 minutes, not every second. libtorrent's `min_announce_interval` is 5 * 60 s, "a
   * sanity check on what is returned from a tracker" against hammering misbehaving trackers. The
   * simulator, whose scenarios use short intervals on purpose, passes a lower floor.
   */
  minAnnounceInterval: number;
  // ---- The flowchart as a contract (issue 9) ----
  /**
   * What a Peer process does with a step that follows no control edge of the flowchart
   * (engine/flowchart.ts): 'throw' at once, naming both nodes (the simulator and tests, where such
   * a step is a bug to stop at, as h11 refuses an undrawn transition), or 'record' it as a
   * `violation` trace event and go on (live mode: a real peer is not dropped for our bookkeeping).
   */
  offChartSteps: OffChartPolicy;
  // ---- Tracker fidelity (issue 11) ----
  /**
   * The announce interval used when a tracker's reply has no (valid) `interval` (ms). BEP 3 makes
   * `interval` mandatory, but mainstream clients accept a reply without it: libtorrent's parser
   * defaults it to 1800 s (`dict_find_int_value("interval", 1800)`). Still floored by
   * `minAnnounceInterval`.
   */
  trackerDefaultInterval: number;
  // ---- Web seeds (BEP 19, issue 11) ----
  /**
   * HTTP requests in flight to one web seed at once (each a contiguous range of one piece within
   * one file). libtorrent's `urlseed_pipeline_size` is 5. It bounds the bytes a web seed holds in
   * our memory to this many pieces.
   */
  webSeedPipeline: number;
  /**
   * A web seed request not answered in full this long after it was made fails (ms): a slow web
   * seed is treated as a failing one. libtorrent's `urlseed_timeout` is 20 s.
   */
  webSeedTimeout: number;
  /**
   * After a failure (HTTP error, time-out, wrong length, a piece that failed its SHA1) a web seed
   * waits this long before it is asked again (ms), doubling with each failure in a row.
   * libtorrent's `urlseed_wait_retry` is 30 s.
   */
  webSeedRetryDelay: number;
  /**
   * Failures in a row after which a web seed is retired (never asked again); a verified piece
   * starts the count over. libtorrent's `max_failcount`, 3, does the same for a peer's address.
   * A web seed whose bytes fail SHA1 is also retired by the Trust Manager, like a peer, when its
   * trust reaches the floor.
   */
  webSeedMaxFailures: number;
  /** Redirects a live web seed request follows (a loop or a long chain is an error). curl's and Python requests' limits are far higher; 5 is plenty for a mirror redirector. */
  webSeedMaxRedirects: number;
  /**
   * Most `url-list` entries used (the first ones, duplicates dropped). libtorrent uses them all;
   * a torrent listing thousands is hostile, each taking up to `webSeedPipeline` requests.
   */
  maxWebSeeds: number;
  // ---- Time-outs (issue 11) ----
  /**
   * A peer that is interested and unchoked by us, but has sent no REQUEST (and no block) for this
   * long since the later of our UNCHOKE, its last request and our last block to it, is dropped
   * (ms): it holds an upload slot it does not use. libtorrent's fixed 60 s (`timed_out_no_request`
   * in `peer_connection::second_tick`; libtorrent checks it only when seeding, we also while
   * leeching unless the peer gives us blocks). A deadline of the connection's timer, as the idle one.
   */
  noRequestTimeout: number;
  // ---- BEP 6 Fast extension (issue 11) ----
  /**
   * Pieces in the allowed-fast set we send a peer we choke (BEP 6's algorithm on its IPv4 address
   * and the info-hash), whose requests we serve while choking it; 0 sends none. Only with
   * `fastExtension`. libtorrent's `allowed_fast_set_size` is 5 (BEP 6 suggests 10).
   */
  allowedFastSetSize: number;
  /**
   * Whether a seed sends the allowed-fast set too. Off: libtorrent sends it from a seed, but
   * Transmission sends none at all, and a seed's set is served to every leecher it chokes at once.
   * In a flash crowd that spreads the seed's upload over all its connections, so that for the
   * first ~20 s no leecher completes a piece to trade (`npm run bench -- efficiency`, 100
   * leechers, a seed as fast as one of them: 1 % of the swarm's upload in use over the first 30 %
   * of the run, T_last/T_min 2.2-2.3; without a seed's set 1.7-1.8). A leecher's set is sent as
   * before: what it grants is what it holds, and it is one uploader among many.
   */
  allowedFastWhileSeeding: boolean;
  // ---- PEX, peer turnover, re-announce when starved (issue 11) ----
  /**
   * BEP 11 Peer Exchange (`ut_pex` over BEP 10): tell connected peers whom we are connected to,
   * and dial the peers they tell us of. On by default, as in libtorrent, Transmission, qBittorrent
   * and µTorrent; it takes effect only with `extensionProtocol` (on by default, as in those clients).
   */
  pex: boolean;
  /**
   * Our PEX messages to one peer at most this often (ms), and a peer's to us: BEP 11 says at most
   * once a minute; libtorrent sends every 60 s. A peer's messages past 3 in one interval (libtorrent
   * keeps the last 3 arrival times) are ignored, traced.
   */
  pexInterval: number;
  /** Most added and most dropped peers in one PEX message, sent or taken (BEP 11: 50; the rest ignored). */
  maxPexPeers: number;
  /**
   * Peer turnover (libtorrent's `peer_turnover`, 4 %): at or above `peerTurnoverCutoff` % of
   * `maxConnections`, every `peerTurnoverInterval` this % of the established peers (at least one)
   * — the least useful — is disconnected to make room for addresses not tried yet, so a swarm whose
   * connection slots filled up at once does not stay split in cliques. 0 turns it off.
   */
  peerTurnover: number;
  /** Turnover starts at this % of `maxConnections` established (libtorrent's `peer_turnover_cutoff`, 90 %). */
  peerTurnoverCutoff: number;
  /** How often turnover runs (ms; libtorrent's `peer_turnover_interval`, 300 s). */
  peerTurnoverInterval: number;
  /**
   * Starved: fewer than this many established peers and no address in the peer list left to dial.
   * A starved client announces again at once (the tracker's `min interval` permitting) instead of
   * waiting out the tracker's interval, as libtorrent asks its trackers when it runs out of
   * connect candidates. 0 turns it off.
   */
  starvedPeers: number;
  /** A starved client announces at most this often (ms; libtorrent's `min_announce_interval`, 300 s). */
  starvedAnnounceInterval: number;
  // ---- Super-seeding, endgame, incentives (issue 11) ----
  /**
   * BEP 16 super-seeding, for a seed with little upload: it advertises no pieces (an empty
   * bitfield, HAVE NONE with Fast), reveals one piece at a time to each peer with HAVE, and a new
   * one only once the piece it gave that peer is seen on another peer too. Off by default, as in
   * libtorrent (`super_seeding`) and every mainstream client: it slows a swarm with seeds to spare.
   * Only a complete client super-seeds, and only on connections made while it is complete.
   */
  superSeed: boolean;
  /**
   * BEP 6 SUGGEST: a seed that unchokes a peer suggests this many pieces the peer lacks, those of
   * which the fewest copies are out (held by its peers, or suggested to one already: peers
   * unchoked together are offered different pieces); 0 sends none. Off by default, as libtorrent's `suggest_mode`
   * (whose one policy suggests pieces in its read cache). Suggestions received are always taken:
   * suggested pieces come first among new pieces, as in libtorrent.
   */
  suggestPieces: number;
  /**
   * Endgame: the most requests of one block in flight at once, to different peers (the first
   * request included). Transmission sends at most two; libtorrent's endgame also adds one more
   * requester at a time. Each copy past the first is a block downloaded twice when both answer.
   */
  endgameCopies: number;
  /**
   * Endgame: a block is asked of a second peer only once its request has waited this long (ms),
   * and only by a peer with no other request in flight (libtorrent: "if we already have at least
   * one outstanding request, we shouldn't pick any busy pieces"). A block asked a moment ago is
   * about to arrive: its copy would only be a duplicate (both are sent before the CANCEL lands).
   * 20 s is libtorrent's `piece_timeout` (a request unanswered that long has timed out); a
   * pipeline of `hiWatermark` blocks on a 256 KiB/s uplink shared by 5 peers takes 8 s, so 5 s
   * still duplicated 13 % of the payload in scenarios/free-rider.yaml. Far below `snubTimeout`.
   */
  endgameAfter: number;
  /**
   * Requests in flight to a peer are sized to keep it busy this long (ms) at the rate it has sent
   * lately (over the last one or two such spans since it unchoked us, not counting time we had
   * nothing asked of it), between 2 and `hiWatermark` (libtorrent's `request_queue_time`, 3 s,
   * with `min_request_queue` 2): 2 before its first block (or what the rate measured over the
   * last unchoke gives), then slow start (one more per block received, as libtorrent's) until the
   * rate has been measured this long. A slow uplink
   * then holds a few blocks of ours, not 25 that wait tens of seconds, age into endgame copies
   * and arrive twice: the library's duplicates (seeds 1-3) went from up to 10.5 % of the payload
   * (bandwidth-classes) and 1.6 % (endgame-slow-peer) to at most 3.1 % and 0, and with slow
   * start to 0 and 0. 0: always `hiWatermark`. Its cost: free-rider.yaml's honest leechers' lead
   * over the free riders, seeds 1-10, is between −2 and 13 % (10-20 % with 0).
   */
  requestQueueTime: number;
}

export const defaultSettings: EngineSettings = {
  loWatermark: 5,
  hiWatermark: 25,
  uploadSlots: 4,
  rechokeInterval: 10_000,
  optimisticInterval: 30_000,
  snubTimeout: 60_000,
  keepAliveInterval: 60_000,
  idleTimeout: 120_000,
  maxConnections: 50,
  numWant: 50,
  maxMessageLength: 1_048_576,
  maxSendQueue: 1,
  maxPeerRequests: 256,
  tickInterval: 10_000,
  piecePicker: 'rarest-first',
  optimisticUnchoke: true,
  chokeAlgorithm: 'tit-for-tat',
  uploadCapacity: 0,
  // On, as every mainstream client offers both: BEP 6 makes a choke reject requests explicitly,
  // which a plain BEP 3 swarm races on real sockets (requests sent before a choke arrive after
  // the unchoke and are served twice: 6-12 % duplicate bytes in scenarios/default.yaml on TCP).
  // A scenario or test that wants plain BEP 3 sets both false.
  fastExtension: true,
  extensionProtocol: true,
  retryDelay: 60_000,
  retryJitter: 25,
  lateBitfield: 'exit',
  // Peer Manager under attack (issue 8): see the doc comments above.
  maxPeerList: 3000,
  maxPeersPerReply: 500,
  maxConnectionsPerIp: 8,
  maxPendingHandshakes: 50,
  // One connection's bounds under a hostile peer: see the interface for each value's reason.
  handshakeTimeout: 10_000,
  sendQueueWatermark: 500 * 1024,
  sendQueueHardLimit: 4 * 500 * 1024,
  sendQueueStallTimeout: 60_000,
  maxUnservedRequests: 300,
  maxMetadataRequests: 1024,
  // ---- Trackers (issue 8) ----
  minAnnounceInterval: 300_000,
  // ---- The flowchart as a contract (issue 9) ----
  offChartSteps: 'throw',
  // ---- Tracker fidelity (issue 11) ----
  trackerDefaultInterval: 1_800_000,
  // ---- Web seeds (BEP 19, issue 11): see the interface for each value's reason ----
  webSeedPipeline: 5,
  webSeedTimeout: 20_000,
  webSeedRetryDelay: 30_000,
  webSeedMaxFailures: 3,
  webSeedMaxRedirects: 5,
  maxWebSeeds: 16,
  // ---- Time-outs (issue 11) ----
  noRequestTimeout: 60_000,
  // ---- BEP 6 Fast extension (issue 11) ----
  allowedFastSetSize: 5,
  allowedFastWhileSeeding: false,
  // ---- PEX, peer turnover, re-announce when starved (issue 11): see the interface ----
  pex: true,
  pexInterval: 60_000,
  maxPexPeers: 50,
  peerTurnover: 4,
  peerTurnoverCutoff: 90,
  peerTurnoverInterval: 300_000,
  starvedPeers: 10,
  starvedAnnounceInterval: 300_000,
  // ---- Super-seeding, endgame, incentives (issue 11) ----
  superSeed: false,
  suggestPieces: 0,
  endgameCopies: 2,
  endgameAfter: 20_000,
  requestQueueTime: 3_000,
};

// ---- limits: what every setting may be --------------------------------------------------------
// One row per setting, checked by `resolveSettings` and by scenario files (sim/scenario/schema.ts,
// which also takes each numeric setting's unit from here). The type makes a setting without a row
// a compile error: whoever adds a setting adds its limit.

/** A numeric setting's bounds; a bound may be another setting (`loWatermark ≤ hiWatermark`). */
export interface NumberLimit {
  /** How scenario files write it: a duration, a size, a rate (bytes/s) or a plain count. */
  readonly unit: 'ms' | 'bytes' | 'bytes/s' | 'count';
  readonly min: number | NumericSetting;
  readonly max: number | NumericSetting;
  /** Why these bounds: what a value past them does, or what libtorrent does. */
  readonly why: string;
}

export type NumericSetting = { [K in keyof EngineSettings]-?: [NonNullable<EngineSettings[K]>] extends [number] ? K : never }[keyof EngineSettings];

type LimitOf<T> = [T] extends [number] ? NumberLimit : [T] extends [boolean] ? { readonly unit: 'boolean' } : { readonly oneOf: readonly T[] };

export type SettingLimits = { readonly [K in keyof EngineSettings]-?: LimitOf<NonNullable<EngineSettings[K]>> };

const SECOND = 1_000;
const HOUR = 3_600 * SECOND;

export const SETTING_LIMITS = {
  loWatermark: { unit: 'count', min: 1, max: 'hiWatermark', why: 'at 0 the queue is never refilled; above hiWatermark the refill would overshoot its own cap' },
  hiWatermark: { unit: 'count', min: 'loWatermark', max: 5_000, why: "libtorrent's max_out_request_queue is 500; ten times that is plenty and bounds per-peer state" },
  uploadSlots: { unit: 'count', min: 0, max: 1_000, why: '0 is a free rider; more slots than peers the simulator holds buy nothing' },
  rechokeInterval: { unit: 'ms', min: SECOND, max: HOUR, why: 'libtorrent rechokes every 15 s; below 1 s choking flaps, above an hour nobody is ever unchoked again' },
  optimisticInterval: { unit: 'ms', min: SECOND, max: HOUR, why: 'BEP 3 and libtorrent rotate every 30 s' },
  snubTimeout: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent's peer_timeout is 120 s; below 1 s every peer is snubbed between two blocks" },
  keepAliveInterval: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: 'BEP 3 suggests 2 min; below 1 s the wire is keep-alives' },
  idleTimeout: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent's peer_timeout is 120 s; below 1 s no connection survives a round trip" },
  maxConnections: { unit: 'count', min: 1, max: 10_000, why: "libtorrent's connections_limit defaults to 200; 10,000 is the simulator's peer limit" },
  numWant: { unit: 'count', min: 0, max: 10_000, why: "BEP 3's default is 50, libtorrent's num_want 200; more than the swarm holds is pointless" },
  maxMessageLength: {
    unit: 'bytes',
    min: 16 * 1024 + 13,
    max: 16 * 1024 * 1024,
    why: 'a PIECE of a 16 KiB block must fit (13 bytes of framing); above 16 MiB one message could hold a peer’s whole buffer budget',
  },
  maxSendQueue: { unit: 'count', min: 0, max: 1_024, why: 'PIECEs handed to the network at once; 0 waits for each drain' },
  maxPeerRequests: { unit: 'count', min: 1, max: 10_000, why: "libtorrent's max_allowed_in_request_queue is 2,000; bounds the requests kept per peer" },
  tickInterval: { unit: 'ms', min: 100, max: HOUR, why: 'libtorrent ticks every second; 0 would run the tick forever at one instant' },
  piecePicker: { oneOf: PIECE_PICKERS },
  fastExtension: { unit: 'boolean' },
  extensionProtocol: { unit: 'boolean' },
  retryDelay: { unit: 'ms', min: 100, max: 24 * HOUR, why: "libtorrent's min_reconnect_time is 60 s; 0 would redial a dead address in a loop" },
  retryJitter: { unit: 'count', min: 0, max: 100, why: 'a % of the wait: 0 exact, 100 up to twice as long; the wait never falls below (failures + 1) × retryDelay' },
  lateBitfield: { oneOf: LATE_BITFIELD_RULES },
  optimisticUnchoke: { unit: 'boolean' },
  chokeAlgorithm: { oneOf: CHOKE_ALGORITHMS },
  uploadCapacity: { unit: 'bytes/s', min: 0, max: 100 * 1024 * 1024 * 1024, why: '0 (the default) measures it; a file writes a rate such as 1MiB/s' },
  maxPeerList: { unit: 'count', min: 1, max: 1_000_000, why: "libtorrent's max_peerlist_size is 3,000; the list's memory grows with it" },
  maxPeersPerReply: { unit: 'count', min: 1, max: 1_000_000, why: 'one tracker reply adds at most this many (and never more than maxPeerList holds)' },
  maxConnectionsPerIp: { unit: 'count', min: 1, max: 10_000, why: 'libtorrent allows 1 per IP by default; above maxConnections it limits nothing' },
  maxPendingHandshakes: { unit: 'count', min: 1, max: 10_000, why: "libtorrent's half_open_limit was 8–100; handshakes in flight hold a socket each" },
  handshakeTimeout: { unit: 'ms', min: 100, max: HOUR, why: "libtorrent's handshake_timeout is 10 s; a silent socket holds a handshake slot until then" },
  sendQueueWatermark: { unit: 'bytes', min: 1_024, max: 'sendQueueHardLimit', why: "libtorrent's send_buffer_watermark is 500 KiB; past the hard limit the peer is dropped anyway" },
  sendQueueHardLimit: { unit: 'bytes', min: 'sendQueueWatermark', max: 256 * 1024 * 1024, why: 'the most one connection may hold in our memory before it is dropped' },
  sendQueueStallTimeout: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent's request_timeout is 60 s; a peer that reads nothing for that long is dropped" },
  maxUnservedRequests: { unit: 'count', min: 1, max: 1_000_000, why: "libtorrent drops a peer after 300 requests sent while choked (too_many_requests_when_choked)" },
  maxMetadataRequests: { unit: 'count', min: 1, max: 1_024, why: 'a 16 MiB info dictionary has 1,024 pieces: more queued requests than pieces are a flood' },
  minAnnounceInterval: { unit: 'ms', min: 100, max: 24 * HOUR, why: "libtorrent's min_announce_interval is 300 s; a tracker answering `interval 1` must not be hammered" },
  offChartSteps: { oneOf: OFF_CHART_POLICIES },
  trackerDefaultInterval: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent defaults a missing `interval` to 1800 s; the tracker client caps any interval at a day" },
  webSeedPipeline: { unit: 'count', min: 1, max: 64, why: "libtorrent's urlseed_pipeline_size is 5; each request in flight may hold a piece in memory" },
  webSeedTimeout: { unit: 'ms', min: 100, max: HOUR, why: "libtorrent's urlseed_timeout is 20 s; below 100 ms no real server answers" },
  webSeedRetryDelay: { unit: 'ms', min: 100, max: 24 * HOUR, why: "libtorrent's urlseed_wait_retry is 30 s; 0 would ask a failing server again in a loop" },
  webSeedMaxFailures: { unit: 'count', min: 1, max: 1_000, why: "libtorrent gives up on a peer after max_failcount (3) failures in a row" },
  webSeedMaxRedirects: { unit: 'count', min: 0, max: 20, why: 'browsers stop at about 20 redirects; more is a loop' },
  maxWebSeeds: { unit: 'count', min: 0, max: 1_000, why: 'each web seed holds up to webSeedPipeline requests; 0 turns web seeds off' },
  noRequestTimeout: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent drops an unchoked interested peer after 60 s without a request; below 1 s no request survives a round trip" },
  allowedFastSetSize: { unit: 'count', min: 0, max: MAX_ALLOWED_FAST, why: "libtorrent's allowed_fast_set_size is 5, BEP 6 suggests 10; each piece is one a choked peer may fetch, and the set is kept per peer" },
  allowedFastWhileSeeding: { unit: 'boolean' },
  pex: { unit: 'boolean' },
  pexInterval: { unit: 'ms', min: SECOND, max: HOUR, why: 'BEP 11: at most one PEX message a minute; below 1 s a peer could flood us with them' },
  maxPexPeers: { unit: 'count', min: 1, max: 1_000, why: 'BEP 11 sends at most 50 added and 50 dropped a message; more only churns the peer list' },
  peerTurnover: { unit: 'count', min: 0, max: 50, why: "libtorrent's peer_turnover is 4 %; above half, turnover would empty our connections every interval" },
  peerTurnoverCutoff: { unit: 'count', min: 1, max: 100, why: "libtorrent's peer_turnover_cutoff is 90 %: a % of maxConnections" },
  peerTurnoverInterval: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent's peer_turnover_interval is 300 s; below 1 s no peer would keep a connection" },
  starvedPeers: { unit: 'count', min: 0, max: 10_000, why: 'a client with fewer established peers than this and none left to dial asks the tracker again; 0 never; above maxConnections, whenever none is left to dial' },
  starvedAnnounceInterval: { unit: 'ms', min: SECOND, max: 24 * HOUR, why: "libtorrent's min_announce_interval is 300 s; a starved swarm must not hammer its tracker" },
  superSeed: { unit: 'boolean' },
  suggestPieces: { unit: 'count', min: 0, max: 64, why: 'each is a 9-byte message per unchoke; past a few the receiver cannot fetch them before the next' },
  endgameAfter: { unit: 'ms', min: 0, max: HOUR, why: '0 duplicates a block the moment endgame starts; past snubTimeout a slow peer is given up on first' },
  requestQueueTime: { unit: 'ms', min: 0, max: 60_000, why: "libtorrent's request_queue_time is 3 s; past a minute a slow peer holds requests past the snub time-out" },
  endgameCopies: { unit: 'count', min: 1, max: 50, why: 'Transmission sends a block to at most 2 peers in endgame; 1 turns endgame off, and more than a few copies only buys duplicate bytes' },
} as const satisfies SettingLimits;

/** A setting outside its limit, naming the setting, the value and the bound it breaks. */
export class SettingsError extends Error {
  constructor(
    readonly key: keyof EngineSettings,
    message: string,
  ) {
    super(`settings: ${key}: ${message}`);
    this.name = 'SettingsError';
  }
}

/** What is wrong with one setting's value, in the context of the others; undefined if nothing. */
export function settingProblem(key: keyof EngineSettings, value: unknown, all: Readonly<Record<string, unknown>>): string | undefined {
  const limit: NumberLimit | { unit: 'boolean' } | { oneOf: readonly unknown[] } = SETTING_LIMITS[key];
  if (value === undefined) return undefined;
  if ('oneOf' in limit) return limit.oneOf.includes(value) ? undefined : `expected one of ${limit.oneOf.join(', ')}, got ${String(value)}`;
  if (limit.unit === 'boolean') return typeof value === 'boolean' ? undefined : `expected true or false, got ${String(value)}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a number, got ${String(value)}`;
  if (limit.unit !== 'ms' && !Number.isInteger(value)) return `expected a whole number, got ${value}`;
  const unit = { ms: ' ms', bytes: ' bytes', 'bytes/s': ' bytes/s', count: '' }[limit.unit];
  const bound = (b: number | NumericSetting) => (typeof b === 'number' ? { n: b, name: `${b}${unit}` } : { n: all[b] as number, name: `${b} (${String(all[b])}${unit})` });
  const [lo, hi] = [bound(limit.min), bound(limit.max)];
  if (value < lo.n) return `must be at least ${lo.name}, got ${value}${unit} (limit ${key} ≥ ${lo.name}: ${limit.why})`;
  if (value > hi.n) return `must be at most ${hi.name}, got ${value}${unit} (limit ${key} ≤ ${hi.name}: ${limit.why})`;
  return undefined;
}

/** The defaults with `overrides` on top, every value checked against SETTING_LIMITS. */
export function resolveSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
  const s = { ...defaultSettings, ...overrides };
  for (const key of Object.keys(SETTING_LIMITS) as (keyof EngineSettings)[]) {
    const problem = settingProblem(key, s[key], s);
    if (problem) throw new SettingsError(key, problem);
  }
  return s;
}
