// An iterative lookup (Kademlia, as BEP 5 uses it): ask the α closest nodes we know for nodes
// closer to the target, add what they name, ask the closest not yet asked, and stop once the k
// closest nodes that have not failed have all answered. Sans-IO: the node asks `next()` whom to
// query and reports each reply or failure; the lookup keeps no timers. Bounded: at most
// `maxCandidates` candidates (the farthest dropped), `maxQueries` queries, `maxNodesPerReply`
// nodes taken from one reply.

import { addressKey, type PeerAddress } from '../ports.ts';
import type { NodeInfo } from './krpc.ts';
import { compareDistance, idKey, type NodeId } from './node-id.ts';

export interface LookupLimits {
  k: number;
  alpha: number;
  maxCandidates: number;
  maxQueries: number;
  maxNodesPerReply: number;
  /** Peers collected by a get_peers lookup. */
  maxPeers: number;
}

type CandidateState = 'new' | 'asked' | 'replied';

export interface Candidate {
  readonly info: NodeInfo;
  readonly key: string;
  state: CandidateState;
  /** 1 for nodes we knew at the start, n + 1 for nodes named by a node of depth n. */
  readonly depth: number;
  /** The token its get_peers reply carried. */
  token?: Uint8Array;
  /** It timed out once and was asked again. */
  retried?: boolean;
}

export interface LookupResult {
  /** The k closest nodes that answered, closest first, with their tokens. */
  closest: { info: NodeInfo; token?: Uint8Array }[];
  /** Peers found (get_peers), in the order found. */
  peers: PeerAddress[];
  /** Queries sent. */
  queries: number;
  /** The greatest depth among `closest`: the rounds of asking it took to reach them. */
  hops: number;
}

export class Lookup {
  private candidates: Candidate[] = [];
  /** Keys of `candidates`, for a constant-time check of a node named again. */
  private readonly listed = new Set<string>();
  /** Nodes already asked (or failed), kept so a node named again is not asked twice. */
  private readonly asked = new Set<string>();
  private readonly peerKeys = new Set<string>();
  private readonly peers: PeerAddress[] = [];
  private inFlight = 0;
  queries = 0;

  constructor(
    readonly target: NodeId,
    private readonly limits: LookupLimits,
    seeds: readonly NodeInfo[],
  ) {
    this.add(seeds, 1);
  }

  /** Candidates to query now (marked asked): the closest new ones, while fewer than α are in flight. */
  next(room = Infinity): Candidate[] {
    const out: Candidate[] = [];
    let considered = 0;
    for (const c of this.candidates) {
      if (considered >= this.limits.k || this.inFlight >= this.limits.alpha || out.length >= room || this.queries >= this.limits.maxQueries) break;
      considered++;
      if (c.state !== 'new') continue;
      c.state = 'asked';
      this.asked.add(c.key);
      this.inFlight++;
      this.queries++;
      out.push(c);
    }
    return out;
  }

  /** Counts a query the node sent outside `next()` (to a bootstrap address, whose id is not known yet). */
  sentUnlisted(): void {
    this.inFlight++;
    this.queries++;
  }

  /**
   * A reply from `from` (its id as it gave it): its nodes join the candidates, its peers are kept.
   * `depth` is the replier's depth when it was not a candidate (a bootstrap address).
   */
  replied(from: NodeInfo, reply: { nodes?: readonly NodeInfo[]; values?: readonly PeerAddress[]; token?: Uint8Array }, unlistedDepth = 1): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const key = idKey(from.id);
    let c = this.listed.has(key) ? this.candidates.find((x) => x.key === key) : undefined;
    if (c === undefined) {
      c = { info: from, key, state: 'replied', depth: unlistedDepth };
      this.asked.add(key);
      this.insert(c);
    }
    c.state = 'replied';
    if (reply.token !== undefined) c.token = reply.token;
    if (reply.nodes) this.add(reply.nodes.slice(0, this.limits.maxNodesPerReply), c.depth + 1);
    for (const p of reply.values ?? []) {
      const pk = addressKey(p);
      if (this.peers.length >= this.limits.maxPeers || this.peerKeys.has(pk)) continue;
      this.peerKeys.add(pk);
      this.peers.push(p);
    }
  }

  /**
   * The query to `key` (a candidate's id key, or undefined for an unlisted address) failed or was
   * refused. With `retry` (a time-out: maybe one lost datagram) a candidate not retried yet is
   * asked once more; otherwise it leaves the lookup.
   */
  failed(key: string | undefined, retry = false): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (key === undefined || !this.listed.has(key)) return;
    const c = this.candidates.find((x) => x.key === key)!;
    if (retry && !c.retried) {
      c.retried = true;
      c.state = 'new';
      return;
    }
    this.listed.delete(key);
    this.candidates = this.candidates.filter((x) => x.key !== key);
  }

  /** Done: nothing in flight, and the k closest live candidates have answered (or the query budget is spent). */
  get done(): boolean {
    if (this.inFlight > 0) return false;
    if (this.queries >= this.limits.maxQueries) return true;
    let considered = 0;
    for (const c of this.candidates) {
      if (considered++ >= this.limits.k) break;
      if (c.state !== 'replied') return false;
    }
    return true;
  }

  result(): LookupResult {
    const closest = this.candidates.filter((c) => c.state === 'replied').slice(0, this.limits.k);
    return {
      closest: closest.map((c) => (c.token === undefined ? { info: c.info } : { info: c.info, token: c.token })),
      peers: this.peers,
      queries: this.queries,
      hops: closest.reduce((m, c) => Math.max(m, c.depth), 0),
    };
  }

  private add(nodes: readonly NodeInfo[], depth: number): void {
    for (const info of nodes) {
      const key = idKey(info.id);
      if (this.asked.has(key) || this.listed.has(key)) continue;
      this.insert({ info, key, state: 'new', depth });
    }
  }

  private insert(c: Candidate): void {
    // Sorted insert; the list is short (maxCandidates), so a linear scan is cheapest.
    let at = this.candidates.length;
    while (at > 0 && compareDistance(c.info.id, this.candidates[at - 1].info.id, this.target) < 0) at--;
    if (at >= this.limits.maxCandidates) return;
    this.candidates.splice(at, 0, c);
    this.listed.add(c.key);
    if (this.candidates.length > this.limits.maxCandidates) {
      // Drop the farthest that is not awaiting a reply (an asked one keeps its place).
      for (let i = this.candidates.length - 1; i >= 0; i--) {
        if (this.candidates[i].state !== 'asked') {
          this.listed.delete(this.candidates[i].key);
          this.candidates.splice(i, 1);
          break;
        }
      }
    }
  }
}
