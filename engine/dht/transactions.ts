// Our queries awaiting a reply (KRPC transactions). Each has a 2-byte id; a reply settles it only
// if it comes from the address the query went to, so a third party cannot answer for a node.
// A query unanswered after `timeout` ms fails. Every query has the same timeout, so insertion
// order is deadline order: one timer per table, armed for the oldest deadline, expires whatever is
// due and re-arms — no timer per query. Bounded: `open` refuses past `max`.

import { addressKey, type Clock, type Millis, type PeerAddress, type Random, type TimerHandle } from '../ports.ts';

interface Pending<T> {
  key: number;
  address: string;
  deadline: Millis;
  context: T;
}

const ID_SPACE = 0x10000;

export class Transactions<T> {
  private readonly pending = new Map<number, Pending<T>>();
  private next: number;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    random: Random,
    private readonly timeout: Millis,
    private readonly max: number,
    private readonly onTimeout: (context: T) => void,
  ) {
    this.next = Math.floor(random.next() * ID_SPACE);
  }

  get size(): number {
    return this.pending.size;
  }

  get full(): boolean {
    return this.pending.size >= this.max;
  }

  /** A transaction id for a query to `to`, or undefined when `max` are already pending. */
  open(to: PeerAddress, context: T): Uint8Array | undefined {
    if (this.full) return undefined;
    let key = this.next;
    while (this.pending.has(key)) key = (key + 1) % ID_SPACE;
    this.next = (key + 1) % ID_SPACE;
    this.pending.set(key, { key, address: addressKey(to), deadline: this.clock.now() + this.timeout, context });
    if (this.timer === undefined) this.arm(this.timeout);
    return Uint8Array.of(key >> 8, key & 0xff);
  }

  /** The context of the query `t` answers, if it is pending and went to `from`; it is settled. */
  settle(t: Uint8Array, from: PeerAddress): T | undefined {
    if (t.length !== 2) return undefined;
    const key = (t[0] << 8) | t[1];
    const p = this.pending.get(key);
    if (p === undefined || p.address !== addressKey(from)) return undefined;
    this.pending.delete(key);
    return p.context;
  }

  /** Drops every pending query without calling `onTimeout`, and the timer. */
  clear(): void {
    this.pending.clear();
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(delay: Millis): void {
    this.timer = this.clock.setTimer(delay, () => this.expire());
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (const p of this.pending.values()) {
      if (p.deadline > now) {
        this.arm(p.deadline - now);
        return;
      }
      this.pending.delete(p.key);
      this.onTimeout(p.context);
    }
    // onTimeout may have opened new queries and armed the timer: then it is already set.
  }
}
