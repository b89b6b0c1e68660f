// The routing table (BEP 5): k-buckets over the 160-bit id space. Bucket i holds nodes whose id
// shares exactly i leading bits with ours; the last bucket holds every node sharing more, and is
// the only one that splits (it covers our own id), so the table stays detailed near us and
// coarse far away — at most 160 buckets of k nodes. Nodes are good (answered us within
// `questionableAfter`), questionable (silent since) or bad (`badAfterFailures` failed queries in
// a row). A full bucket takes a new node only in place of a bad one; otherwise the newcomer waits
// in the bucket's replacement cache and the table asks its owner to ping the stalest
// questionable node, whose failure makes room. Pure: time is passed in.

import { bytesEqual } from '../bytes.ts';
import type { Millis, PeerAddress } from '../ports.ts';
import type { NodeInfo } from './krpc.ts';
import { commonPrefixLength, compareDistance, ID_BITS, idKey, type NodeId } from './node-id.ts';

export interface RoutingLimits {
  k: number;
  replacementsPerBucket: number;
  questionableAfter: Millis;
  badAfterFailures: number;
}

export interface Contact {
  readonly id: NodeId;
  readonly key: string;
  readonly address: PeerAddress;
  /** The id's first 4 bytes as an unsigned integer: the cheap part of a distance comparison. */
  readonly leading32: number;
  /** Last time we heard from it at all (a query or a reply). */
  lastSeen: Millis;
  /** Last time it answered one of our queries; undefined if it never has. */
  lastReply: Millis | undefined;
  /** Our queries to it that failed since its last reply. */
  failures: number;
}

export type ContactState = 'good' | 'questionable' | 'bad';

interface Bucket {
  /** Least recently seen first. */
  contacts: Contact[];
  /** Newest last; bounded by `replacementsPerBucket`. */
  replacements: Contact[];
  /** Last time a contact was added or heard from: a bucket idle for `bucketRefresh` is refreshed. */
  lastChanged: Millis;
}

export interface HeardResult {
  /** The contact was added to a bucket (it was not there). */
  added: boolean;
  /** A questionable contact the owner should ping: the bucket is full and the newcomer waits. */
  ping?: Contact;
}

export class RoutingTable {
  private readonly buckets: Bucket[];

  constructor(
    readonly ours: NodeId,
    private readonly limits: RoutingLimits,
    now: Millis,
  ) {
    this.buckets = [{ contacts: [], replacements: [], lastChanged: now }];
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets) n += b.contacts.length;
    return n;
  }

  stateOf(c: Contact, now: Millis): ContactState {
    if (c.failures >= this.limits.badAfterFailures) return 'bad';
    if (c.lastReply !== undefined && now - c.lastSeen < this.limits.questionableAfter) return 'good';
    return 'questionable';
  }

  /** The contact with this id, if a bucket holds it. */
  find(id: NodeId): Contact | undefined {
    const contacts = this.buckets[this.indexOf(id)].contacts;
    const at = indexOfKey(contacts, idKey(id));
    return at >= 0 ? contacts[at] : undefined;
  }

  /**
   * We heard from `node`: `replied` when it answered a query of ours, else it queried us. A known
   * node is refreshed (not moved to another address: a datagram claiming a known id from another
   * address may be spoofed); a new one joins its bucket if there is room (splitting the last
   * bucket, or replacing a bad node), or else its replacement cache.
   */
  heard(node: NodeInfo, replied: boolean, now: Millis): HeardResult {
    if (bytesEqual(node.id, this.ours)) return { added: false };
    const key = idKey(node.id);
    for (;;) {
      const index = this.indexOf(node.id);
      const bucket = this.buckets[index];
      const at = indexOfKey(bucket.contacts, key);
      if (at >= 0) {
        const c = bucket.contacts[at];
        if (!sameAddress(c.address, node.address)) return { added: false };
        touch(c, replied, now);
        bucket.contacts.splice(at, 1);
        bucket.contacts.push(c);
        bucket.lastChanged = now;
        return { added: false };
      }
      if (bucket.contacts.length < this.limits.k) {
        bucket.contacts.push(this.contactOf(node, replied, now));
        bucket.lastChanged = now;
        return { added: true };
      }
      const bad = this.firstInState(bucket.contacts, 'bad', now);
      if (bad >= 0) {
        bucket.contacts.splice(bad, 1);
        bucket.contacts.push(this.contactOf(node, replied, now));
        bucket.lastChanged = now;
        return { added: true };
      }
      if (index === this.buckets.length - 1 && this.buckets.length < ID_BITS) {
        this.split();
        continue;
      }
      this.addReplacement(bucket, node, replied, now);
      // The least recently seen questionable contact, if any: its silence frees the place.
      const stale = this.firstInState(bucket.contacts, 'questionable', now);
      return stale >= 0 ? { added: false, ping: bucket.contacts[stale] } : { added: false };
    }
  }

  /**
   * A query to `id` failed. Once the contact is bad, the newest replacement (one that has answered
   * us first) takes its place; with none waiting, the bad contact stays until a newcomer needs it.
   */
  failed(id: NodeId, now: Millis): void {
    const key = idKey(id);
    const bucket = this.buckets[this.indexOf(id)];
    const at = indexOfKey(bucket.contacts, key);
    if (at < 0) {
      const r = indexOfKey(bucket.replacements, key);
      if (r >= 0) bucket.replacements.splice(r, 1);
      return;
    }
    const c = bucket.contacts[at];
    c.failures++;
    if (this.stateOf(c, now) !== 'bad' || bucket.replacements.length === 0) return;
    let pick = bucket.replacements.length - 1;
    for (let i = bucket.replacements.length - 1; i >= 0; i--) {
      if (bucket.replacements[i].lastReply !== undefined) {
        pick = i;
        break;
      }
    }
    const [replacement] = bucket.replacements.splice(pick, 1);
    bucket.contacts.splice(at, 1);
    bucket.contacts.push(replacement);
    bucket.lastChanged = now;
  }

  /** Up to `n` contacts that are not bad, closest to `target` first. */
  closest(target: NodeId, n: number, now: Millis): Contact[] {
    // Bucket c (c = the bits target shares with us) is closest; then every bucket past c (their
    // distances to target all have bit c as the highest set bit); then c-1, c-2, … in order.
    const c = this.indexOf(target);
    const out: Contact[] = [];
    // Sorted by the first 32 bits of the distance, then the rest: most pairs differ in those.
    const top = leading32(target);
    const take = (group: Contact[]) => {
      const live = group.filter((x) => this.stateOf(x, now) !== 'bad');
      live.sort((a, b) => ((a.leading32 ^ top) >>> 0) - ((b.leading32 ^ top) >>> 0) || compareDistance(a.id, b.id, target));
      for (const x of live) if (out.length < n) out.push(x);
    };
    take(this.buckets[c].contacts);
    if (out.length < n && c + 1 < this.buckets.length) take(this.buckets.slice(c + 1).flatMap((b) => b.contacts));
    for (let i = c - 1; i >= 0 && out.length < n; i--) take(this.buckets[i].contacts);
    return out;
  }

  /** Buckets idle for `refresh` ms or more, by index. */
  staleBuckets(now: Millis, refresh: Millis): number[] {
    const out: number[] = [];
    this.buckets.forEach((b, i) => {
      if (now - b.lastChanged >= refresh) out.push(i);
    });
    return out;
  }

  /** Marks a bucket refreshed (a lookup was started in its range). */
  refreshed(index: number, now: Millis): void {
    this.buckets[index].lastChanged = now;
  }

  /** Every contact, bucket by bucket. */
  contacts(): Contact[] {
    return this.buckets.flatMap((b) => b.contacts);
  }

  /** Replacements waiting in bucket `index`. */
  replacementsOf(index: number): readonly Contact[] {
    return this.buckets[index].replacements;
  }

  /** The bucket an id falls in. */
  indexOf(id: NodeId): number {
    return Math.min(commonPrefixLength(this.ours, id), this.buckets.length - 1);
  }

  private firstInState(contacts: readonly Contact[], state: ContactState, now: Millis): number {
    for (let i = 0; i < contacts.length; i++) if (this.stateOf(contacts[i], now) === state) return i;
    return -1;
  }

  private split(): void {
    const last = this.buckets[this.buckets.length - 1];
    const depth = this.buckets.length;
    const near = (c: Contact) => commonPrefixLength(this.ours, c.id) >= depth;
    this.buckets.push({ contacts: last.contacts.filter(near), replacements: last.replacements.filter(near), lastChanged: last.lastChanged });
    last.contacts = last.contacts.filter((c) => !near(c));
    last.replacements = last.replacements.filter((c) => !near(c));
  }

  private addReplacement(bucket: Bucket, node: NodeInfo, replied: boolean, now: Millis): void {
    const key = idKey(node.id);
    const at = indexOfKey(bucket.replacements, key);
    if (at >= 0) {
      const [c] = bucket.replacements.splice(at, 1);
      if (sameAddress(c.address, node.address)) touch(c, replied, now);
      bucket.replacements.push(c);
      return;
    }
    if (bucket.replacements.length >= this.limits.replacementsPerBucket) bucket.replacements.shift();
    bucket.replacements.push(this.contactOf(node, replied, now));
  }

  private contactOf(node: NodeInfo, replied: boolean, now: Millis): Contact {
    // Copies: a decoded id is a view of the whole datagram, which the table must not keep alive.
    return { id: node.id.slice(), key: idKey(node.id), leading32: leading32(node.id), address: { host: node.address.host, port: node.address.port }, lastSeen: now, lastReply: replied ? now : undefined, failures: 0 };
  }
}

function leading32(id: NodeId): number {
  return ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) >>> 0;
}

// Plain loops: these run for every datagram, and a bucket holds at most k contacts.
function indexOfKey(contacts: readonly Contact[], key: string): number {
  for (let i = 0; i < contacts.length; i++) if (contacts[i].key === key) return i;
  return -1;
}

function touch(c: Contact, replied: boolean, now: Millis): void {
  c.lastSeen = now;
  if (replied) {
    c.lastReply = now;
    c.failures = 0;
  }
}

function sameAddress(a: PeerAddress, b: PeerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}
