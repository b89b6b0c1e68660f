// Every bound of the DHT node (BEP 5), with the reason for each. One object, so the simulator,
// the bench and tests can tighten or loosen a limit without reaching into the code.

import type { Millis } from '../ports.ts';

export interface DhtSettings {
  /** Contacts per k-bucket, and how many closest nodes a lookup converges on. BEP 5: K = 8. */
  k: number;
  /** Queries a lookup keeps in flight at once. Kademlia's α = 3: parallel enough to hide a lost reply, few enough not to flood. */
  alpha: number;
  /** A query without a reply after this long has failed. libtorrent waits about as long before giving up on a node (BEP 5 names no figure). */
  queryTimeout: Millis;
  /** A good node unheard from this long becomes questionable. BEP 5: 15 minutes. */
  questionableAfter: Millis;
  /** Failed queries in a row after which a node is bad and may be replaced. BEP 5 says "multiple"; 2 keeps one lost datagram from evicting a node. */
  badAfterFailures: number;
  /** Candidates kept per bucket to replace bad nodes. As many as the bucket holds (libtorrent keeps a replacement bucket of the same size). */
  replacementsPerBucket: number;
  /** A bucket untouched this long is refreshed by a lookup of a random id in its range. BEP 5: 15 minutes. */
  bucketRefresh: Millis;
  /** How often the node looks for stale buckets: coarse, so 10,000 nodes cost few timer events. */
  maintenanceInterval: Millis;
  /** The token secret changes this often; tokens from the current and the previous secret are accepted. BEP 5: every 5 minutes, up to 10 minutes old. */
  tokenRotation: Millis;
  /** Bytes of a token we hand out: 8 bytes of a SHA1 are unguessable enough and keep replies short. */
  tokenLength: number;
  /** Longest token we accept from a remote (other clients send 4 to 20 bytes; a longer one is abuse). */
  maxTokenLength: number;
  /** A stored peer is dropped this long after its last announce. Clients re-announce every 15-30 minutes; 30 minutes keeps one missed announce from losing the peer. */
  peerExpiry: Millis;
  /** Peers kept per info-hash: bounds memory against an announce flood (libtorrent: max_peers, 500 in recent versions; we take less, the simulation's swarms are small). */
  maxPeersPerInfoHash: number;
  /** Info-hashes kept in the peer store (libtorrent's max_torrents is 2000). */
  maxInfoHashes: number;
  /** Peers returned in one get_peers reply: 50 compact peers keep the datagram under 1,500 bytes (libtorrent sends up to 100 when they fit). */
  maxPeersPerReply: number;
  /** Queries of ours awaiting a reply, all lookups and pings together: bounds memory and our own send rate. */
  maxPendingQueries: number;
  /** Lookups running at once; more wait in a queue of this same length, then are refused. */
  maxLookups: number;
  /** Queries one lookup may send: bounds its work when replies keep naming new nodes (a Sybil crowd, a lossy network). */
  maxQueriesPerLookup: number;
  /** A lookup asks a node that timed out once more before dropping it: at 20 % loss a third of round trips fail, and the closest nodes are the ones worth a second try. A second silence drops it (and makes it bad in the table). */
  lookupRetry: boolean;
  /** Candidates a lookup keeps, closest first: enough to have k responders after failures, bounded so a flood of nodes costs nothing. */
  lookupCandidates: number;
  /** Largest datagram decoded: a KRPC message fits in one Ethernet frame; larger input is refused unread. */
  maxDatagramBytes: number;
  /** Nodes taken from one reply's `nodes` (BEP 5 sends k = 8): the rest ignored, so a reply cannot stuff a lookup. */
  maxNodesPerReply: number;
}

export const DHT_SETTINGS: Readonly<DhtSettings> = Object.freeze({
  k: 8,
  alpha: 3,
  queryTimeout: 2_000,
  questionableAfter: 15 * 60_000,
  badAfterFailures: 2,
  replacementsPerBucket: 8,
  bucketRefresh: 15 * 60_000,
  maintenanceInterval: 60_000,
  tokenRotation: 5 * 60_000,
  tokenLength: 8,
  maxTokenLength: 40,
  peerExpiry: 30 * 60_000,
  maxPeersPerInfoHash: 200,
  maxInfoHashes: 2_000,
  maxPeersPerReply: 50,
  maxPendingQueries: 256,
  maxLookups: 16,
  maxQueriesPerLookup: 64,
  lookupRetry: true,
  lookupCandidates: 32,
  maxDatagramBytes: 1_500,
  maxNodesPerReply: 16,
});
