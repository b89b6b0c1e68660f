// A DHT node (BEP 5), sans-IO: it answers KRPC queries, keeps its routing table, runs iterative
// lookups, hands out and checks tokens, and stores announced peers. Everything from outside comes
// through ports: the clock (two timers per node at most: the transactions' time-out and the
// coarse maintenance tick), randomness (its id, transaction ids, token secrets, refresh targets)
// and datagrams. A bad datagram never throws: it is counted, traced and, if it was a query with a
// readable transaction id, answered with a KRPC error.

import { bytesEqual, toHex } from '../bytes.ts';
import type { Clock, DatagramPort, Millis, PeerAddress, Random, TimerHandle } from '../ports.ts';
import type { TraceSink } from '../trace.ts';
import { decodeKrpc, encodeKrpc, KRPC_ERROR_CODES, KrpcError, type KrpcMessage, type KrpcQuery, type KrpcResponse, type NodeInfo } from './krpc.ts';
import { Lookup, type LookupResult } from './lookup.ts';
import { idKey, type NodeId, randomId, randomIdWithPrefix } from './node-id.ts';
import { PeerStore } from './peer-store.ts';
import { type Contact, RoutingTable } from './routing-table.ts';
import { DHT_SETTINGS, type DhtSettings } from './settings.ts';
import { TokenIssuer } from './tokens.ts';
import { Transactions } from './transactions.ts';

export interface DhtNodeOptions {
  clock: Clock;
  random: Random;
  datagrams: DatagramPort;
  /** Our node id; drawn from `random` when absent. */
  id?: NodeId;
  settings?: Partial<DhtSettings>;
  /** KRPC traffic as `krpc` trace events (docs/trace-format.md), under `label`. */
  trace?: TraceSink;
  label?: string;
}

export type LookupKind = 'find_node' | 'get_peers';

export type LookupDone = (result: LookupResult | { error: string }) => void;

/** What one of our pending queries is for. */
type QueryContext =
  | { purpose: 'lookup'; lookup: ActiveLookup; to: NodeInfo | undefined; address: PeerAddress }
  | { purpose: 'ping'; to: NodeInfo | undefined; address: PeerAddress; done?: (ok: boolean) => void }
  | { purpose: 'announce'; to: NodeInfo; address: PeerAddress };

interface ActiveLookup {
  kind: LookupKind;
  lookup: Lookup;
  done: LookupDone;
  /** Addresses to ask first whose ids we do not know (bootstrap). */
  unlisted: PeerAddress[];
  /** Announce to the closest nodes when done (get_peers only): our port, or 'implied'. */
  announcePort?: number;
}

/** Counters of one node's traffic, for benchmarks and tests. */
export interface DhtStats {
  queriesSent: number;
  queriesReceived: number;
  repliesReceived: number;
  errorsReceived: number;
  timeouts: number;
  badMessages: number;
  /** Replies that matched no pending query (late, spoofed or duplicated). */
  unmatched: number;
}

export class DhtNode {
  readonly id: NodeId;
  readonly table: RoutingTable;
  readonly settings: Readonly<DhtSettings>;
  readonly stats: DhtStats = { queriesSent: 0, queriesReceived: 0, repliesReceived: 0, errorsReceived: 0, timeouts: 0, badMessages: 0, unmatched: 0 };
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly datagrams: DatagramPort;
  private readonly transactions: Transactions<QueryContext>;
  private readonly tokens: TokenIssuer;
  private readonly store: PeerStore;
  private readonly running: ActiveLookup[] = [];
  private readonly waiting: ActiveLookup[] = [];
  /** Contacts we are pinging to see whether they are still there (one ping each at a time). */
  private readonly pinging = new Set<string>();
  private maintenance: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly options: DhtNodeOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.datagrams = options.datagrams;
    this.settings = { ...DHT_SETTINGS, ...options.settings };
    this.id = options.id ?? randomId(this.random);
    const s = this.settings;
    this.table = new RoutingTable(this.id, { k: s.k, replacementsPerBucket: s.replacementsPerBucket, questionableAfter: s.questionableAfter, badAfterFailures: s.badAfterFailures }, this.clock.now());
    this.transactions = new Transactions(this.clock, this.random, s.queryTimeout, s.maxPendingQueries, (ctx) => this.timedOut(ctx));
    this.tokens = new TokenIssuer(this.clock, this.random, s.tokenRotation, s.tokenLength);
    this.store = new PeerStore({ maxInfoHashes: s.maxInfoHashes, maxPeersPerInfoHash: s.maxPeersPerInfoHash, expiry: s.peerExpiry });
    this.datagrams.onDatagram((from, bytes) => this.receive(from, bytes));
    this.maintenance = this.clock.setTimer(s.maintenanceInterval, () => this.maintain());
  }

  get address(): PeerAddress {
    return this.datagrams.localAddress;
  }

  /** Stops: timers cancelled, pending queries and lookups dropped (their callbacks not called), datagrams ignored. */
  stop(): void {
    this.stopped = true;
    this.maintenance?.cancel();
    this.transactions.clear();
    this.running.length = 0;
    this.waiting.length = 0;
  }

  /** Joins the DHT through nodes at `addresses` (ids unknown): a lookup of our own id. */
  bootstrap(addresses: readonly PeerAddress[], done: LookupDone = () => {}): void {
    this.startLookup({ kind: 'find_node', lookup: this.newLookup(this.id), done, unlisted: [...addresses] });
  }

  findNode(target: NodeId, done: LookupDone): void {
    this.startLookup({ kind: 'find_node', lookup: this.newLookup(target), done, unlisted: [] });
  }

  /** Finds peers of `infoHash`; with `announcePort`, then announces us (that port) to the k closest nodes that gave a token. */
  getPeers(infoHash: NodeId, done: LookupDone, announcePort?: number): void {
    this.startLookup({ kind: 'get_peers', lookup: this.newLookup(infoHash), done, unlisted: [], announcePort });
  }

  /** Pings `address`; `done(true)` on a reply. */
  ping(address: PeerAddress, done?: (ok: boolean) => void): void {
    if (!this.query({ method: 'ping', id: this.id }, { purpose: 'ping', to: undefined, address, done })) done?.(false);
  }

  /** The peers stored for `infoHash` (tests, and a client that is itself a node). */
  storedPeers(infoHash: NodeId): PeerAddress[] {
    return this.store.peers(infoHash, this.clock.now(), this.settings.maxPeersPerInfoHash);
  }

  get pendingQueries(): number {
    return this.transactions.size;
  }

  // --- lookups ---

  private newLookup(target: NodeId): Lookup {
    const s = this.settings;
    const seeds = this.table.closest(target, s.k, this.clock.now()).map((c) => ({ id: c.id, address: c.address }));
    return new Lookup(target, { k: s.k, alpha: s.alpha, maxCandidates: s.lookupCandidates, maxQueries: s.maxQueriesPerLookup, maxNodesPerReply: s.maxNodesPerReply, maxPeers: s.maxPeersPerInfoHash }, seeds);
  }

  private startLookup(active: ActiveLookup): void {
    if (this.stopped) return active.done({ error: 'the DHT node is stopped' });
    if (this.running.length >= this.settings.maxLookups) {
      if (this.waiting.length >= this.settings.maxLookups) return active.done({ error: `too many lookups (${this.settings.maxLookups} running, ${this.waiting.length} waiting)` });
      this.waiting.push(active);
      return;
    }
    this.running.push(active);
    this.pump(active);
  }

  /** Sends what a lookup may send now; finishes it when it is done. */
  private pump(active: ActiveLookup): void {
    const target = active.lookup.target;
    const method = active.kind;
    const q = (): KrpcQuery => (method === 'find_node' ? { method, id: this.id, target } : { method, id: this.id, infoHash: target });
    while (active.unlisted.length > 0 && !this.transactions.full) {
      const address = active.unlisted.shift()!;
      if (this.query(q(), { purpose: 'lookup', lookup: active, to: undefined, address })) active.lookup.sentUnlisted();
    }
    const room = this.settings.maxPendingQueries - this.transactions.size;
    for (const c of active.lookup.next(room)) {
      if (!this.query(q(), { purpose: 'lookup', lookup: active, to: c.info, address: c.info.address })) active.lookup.failed(c.key);
    }
    if (active.lookup.done && active.unlisted.length === 0) this.finish(active);
  }

  private finish(active: ActiveLookup): void {
    const at = this.running.indexOf(active);
    if (at < 0) return;
    this.running.splice(at, 1);
    const result = active.lookup.result();
    if (active.announcePort !== undefined) {
      for (const { info, token } of result.closest) {
        if (token === undefined) continue;
        this.query({ method: 'announce_peer', id: this.id, infoHash: active.lookup.target, port: active.announcePort, token, impliedPort: false }, { purpose: 'announce', to: info, address: info.address });
      }
    }
    active.done(result);
    const next = this.waiting.shift();
    if (next) {
      this.running.push(next);
      this.pump(next);
    }
  }

  // --- sending ---

  /** Sends a query; false when no transaction could be opened (too many pending). */
  private query(query: KrpcQuery, context: QueryContext): boolean {
    if (this.stopped) return false;
    const t = this.transactions.open(context.address, context);
    if (t === undefined) return false;
    this.stats.queriesSent++;
    this.send(context.address, { t, y: 'q', query });
    return true;
  }

  private send(to: PeerAddress, m: KrpcMessage): void {
    this.traceMessage('out', to, m);
    this.datagrams.send(to, encodeKrpc(m));
  }

  // --- receiving ---

  /** One datagram from `from`. Never throws for what the datagram holds. */
  receive(from: PeerAddress, bytes: Uint8Array): void {
    if (this.stopped) return;
    let m: KrpcMessage;
    try {
      m = decodeKrpc(bytes, { maxBytes: this.settings.maxDatagramBytes, maxTokenLength: this.settings.maxTokenLength });
    } catch (err) {
      if (!(err instanceof KrpcError)) throw err;
      this.stats.badMessages++;
      this.traceBad(from, err);
      if (err.wasQuery && err.transactionId !== undefined) {
        const code = err.kind === 'method-unknown' ? KRPC_ERROR_CODES.methodUnknown : KRPC_ERROR_CODES.protocol;
        this.send(from, { t: err.transactionId, y: 'e', error: { code, message: err.message } });
      }
      return;
    }
    this.traceMessage('in', from, m);
    if (m.y === 'q') this.answer(from, m.t, m.query);
    else if (m.y === 'r') this.replied(from, m.t, m.response);
    else this.errored(from, m.t);
  }

  private answer(from: PeerAddress, t: Uint8Array, q: KrpcQuery): void {
    this.stats.queriesReceived++;
    const now = this.clock.now();
    const s = this.settings;
    switch (q.method) {
      case 'ping':
        this.send(from, { t, y: 'r', response: { id: this.id } });
        break;
      case 'find_node':
        this.send(from, { t, y: 'r', response: { id: this.id, nodes: this.closestInfo(q.target, now) } });
        break;
      case 'get_peers': {
        const peers = this.store.peers(q.infoHash, now, s.maxPeersPerReply);
        const token = this.tokens.issue(from.host);
        // Nodes too when we have peers (as libtorrent does; BEP 5 names either): a lookup that
        // announces must still converge on the k closest, past the nodes that hold peers.
        const nodes = this.closestInfo(q.infoHash, now);
        const response: KrpcResponse = peers.length > 0 ? { id: this.id, values: peers, nodes, token } : { id: this.id, nodes, token };
        this.send(from, { t, y: 'r', response });
        break;
      }
      case 'announce_peer':
        if (!this.tokens.accepts(from.host, q.token)) {
          this.send(from, { t, y: 'e', error: { code: KRPC_ERROR_CODES.protocol, message: 'bad token' } });
          return; // a node with a bad token does not earn a place in the table either
        }
        this.store.announce(q.infoHash, { host: from.host, port: q.impliedPort ? from.port : q.port }, now);
        this.send(from, { t, y: 'r', response: { id: this.id } });
        break;
    }
    this.heard({ id: q.id, address: from }, false);
  }

  private replied(from: PeerAddress, t: Uint8Array, r: KrpcResponse): void {
    const ctx = this.transactions.settle(t, from);
    if (ctx === undefined) {
      this.stats.unmatched++;
      return;
    }
    this.stats.repliesReceived++;
    // A node that answers under another id than the one we asked for is not the node we know.
    if (ctx.to !== undefined && idKey(ctx.to.id) !== idKey(r.id)) {
      this.table.failed(ctx.to.id, this.clock.now());
      if (ctx.purpose === 'lookup') this.lookupFailed(ctx.lookup, ctx.to);
      return;
    }
    this.heard({ id: r.id, address: from }, true);
    if (ctx.purpose === 'lookup') {
      const active = ctx.lookup;
      if (!this.running.includes(active)) return;
      // A reply may name us: we are not a candidate of our own lookup.
      const nodes = r.nodes?.filter((n) => !bytesEqual(n.id, this.id));
      active.lookup.replied({ id: r.id, address: from }, active.kind === 'get_peers' ? { ...r, nodes } : { nodes });
      this.pump(active);
    } else if (ctx.purpose === 'ping') ctx.done?.(true);
    this.pumpAll();
  }

  private errored(from: PeerAddress, t: Uint8Array): void {
    const ctx = this.transactions.settle(t, from);
    if (ctx === undefined) {
      this.stats.unmatched++;
      return;
    }
    this.stats.errorsReceived++;
    // It answered, so it is there, but it gave us nothing: a lookup moves on without it.
    if (ctx.purpose === 'lookup') this.lookupFailed(ctx.lookup, ctx.to);
    else if (ctx.purpose === 'ping') ctx.done?.(false);
    this.pumpAll();
  }

  private timedOut(ctx: QueryContext): void {
    this.stats.timeouts++;
    const now = this.clock.now();
    if (ctx.to !== undefined) {
      this.table.failed(ctx.to.id, now);
      this.pinging.delete(idKey(ctx.to.id));
    }
    if (ctx.purpose === 'lookup') this.lookupFailed(ctx.lookup, ctx.to, this.settings.lookupRetry);
    else if (ctx.purpose === 'ping') ctx.done?.(false);
    this.pumpAll();
  }

  private lookupFailed(active: ActiveLookup, to: NodeInfo | undefined, retry = false): void {
    if (!this.running.includes(active)) return;
    active.lookup.failed(to === undefined ? undefined : idKey(to.id), retry);
    this.pump(active);
  }

  /** Room freed by a settled query may let lookups stalled on `maxPendingQueries` go on. */
  private pumpAll(): void {
    if (this.transactions.full) return;
    for (const active of [...this.running]) if (this.transactions.size < this.settings.maxPendingQueries) this.pump(active);
  }

  private heard(node: NodeInfo, replied: boolean): void {
    const r = this.table.heard(node, replied, this.clock.now());
    if (r.ping !== undefined) this.pingContact(r.ping);
  }

  /** Pings a questionable contact once; its failure (via the time-out) lets a replacement in. */
  private pingContact(c: Contact): void {
    if (this.pinging.has(c.key)) return;
    this.pinging.add(c.key);
    const sent = this.query({ method: 'ping', id: this.id }, { purpose: 'ping', to: { id: c.id, address: c.address }, address: c.address, done: () => this.pinging.delete(c.key) });
    if (!sent) this.pinging.delete(c.key);
  }

  private closestInfo(target: NodeId, now: Millis): NodeInfo[] {
    return this.table.closest(target, this.settings.k, now);
  }

  // --- maintenance ---

  /**
   * The coarse tick: refresh the stalest bucket idle for `bucketRefresh` (one lookup per tick, as
   * libtorrent does: every bucket of every node going stale at once would flood the network), and
   * sweep the peer store.
   */
  private maintain(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const stale = this.table.staleBuckets(now, this.settings.bucketRefresh);
    if (stale.length > 0 && this.running.length + this.waiting.length < this.settings.maxLookups) {
      const index = stale[0];
      this.table.refreshed(index, now);
      // The last bucket covers every id sharing `index` or more bits with ours; `index` exactly is inside it.
      this.findNode(randomIdWithPrefix(this.random, this.id, Math.min(index, 159)), () => {});
    }
    this.store.sweep(now);
    this.maintenance = this.clock.setTimer(this.settings.maintenanceInterval, () => this.maintain());
  }

  // --- trace ---

  private traceMessage(dir: 'in' | 'out', remote: PeerAddress, m: KrpcMessage): void {
    const trace = this.options.trace;
    if (trace === undefined) return;
    const fields: Record<string, unknown> = { dir, y: m.y, tid: toHex(m.t) };
    if (m.y === 'q') fields.method = m.query.method;
    else if (m.y === 'r') {
      if (m.response.nodes) fields.nodes = m.response.nodes.length;
      if (m.response.values) fields.values = m.response.values.length;
    } else fields.code = m.error.code;
    trace.emit({ t: this.clock.now(), peer: this.options.label ?? toHex(this.id).slice(0, 8), remote: `${remote.host}:${remote.port}`, kind: 'krpc', ...fields });
  }

  private traceBad(remote: PeerAddress, err: KrpcError): void {
    this.options.trace?.emit({ t: this.clock.now(), peer: this.options.label ?? toHex(this.id).slice(0, 8), remote: `${remote.host}:${remote.port}`, kind: 'krpc', dir: 'in', error: err.message, errorKind: err.kind });
  }
}
