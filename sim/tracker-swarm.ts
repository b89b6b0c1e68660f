// One torrent's swarm as a tracker sees it: who announced (by a key the tracker chooses), how much
// each has left, and the seeded sample of the others handed out in a reply. Pure: the simulated
// tracker (sim/tracker.ts) and the loopback tracker of TCP runs (sim/tcp/tracker-server.ts) both
// keep their swarms in it, so a scenario's peers meet the same way on both transports.

import type { AnnouncePeer, PeerAddress } from '../engine/ports.ts';
import type { SeededRandom } from './random.ts';

export interface SwarmMember {
  /** The address handed out to the others. */
  address: PeerAddress;
  peerId?: Uint8Array;
  /** Bytes it still lacks; 0 is a seed. */
  left: number;
}

export interface SwarmReply {
  /** A seeded sample of the other members, at most the `numWant` asked. */
  peers: AnnouncePeer[];
  /** Members with nothing left (seeds). */
  complete: number;
  /** Members still downloading. */
  incomplete: number;
}

export class TrackerSwarm {
  /** In the order members first announced: the sample's input order, so a seed gives the same sample. */
  private readonly members = new Map<string, SwarmMember>();

  /**
   * `maxMembers` bounds memory: a new member past it replaces the one that joined first (the
   * simulated tracker has no bound; its peers are the scenario's).
   */
  constructor(
    private readonly random: SeededRandom,
    private readonly maxMembers = Infinity,
  ) {}

  get size(): number {
    return this.members.size;
  }

  /** Forgets the member (a `stopped` announce). */
  leave(key: string): void {
    this.members.delete(key);
  }

  /**
   * Records `member` under `key` (a member that announces again keeps its place in the order) and
   * answers with a sample of the others; none while `empty` (the tracker's fault), and then the
   * random stream is not drawn from.
   */
  announce(key: string, member: SwarmMember, o: { numWant: number; empty: boolean }): SwarmReply {
    if (!this.members.has(key) && this.members.size >= this.maxMembers) {
      const oldest = this.members.keys().next().value;
      if (oldest !== undefined) this.members.delete(oldest);
    }
    this.members.set(key, member);
    const others: SwarmMember[] = [];
    for (const [k, m] of this.members) if (k !== key) others.push(m);
    const peers: AnnouncePeer[] = this.random
      .sample(o.empty ? [] : others, o.numWant)
      .map((m) => (m.peerId ? { host: m.address.host, port: m.address.port, peerId: m.peerId } : { host: m.address.host, port: m.address.port }));
    return { peers, ...this.counts() };
  }

  /** Seeds and leechers now (also a scrape's answer). */
  counts(): { complete: number; incomplete: number } {
    let complete = 0;
    for (const m of this.members.values()) if (m.left === 0) complete++;
    return { complete, incomplete: this.members.size - complete };
  }
}
