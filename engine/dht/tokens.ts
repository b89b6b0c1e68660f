// announce_peer tokens (BEP 5): a get_peers reply hands the asker a token; only an announce that
// brings it back, from the same IP, is stored. The token is a hash of the asker's IP and a secret
// that changes every `rotation` ms; tokens of the current and the previous secret are accepted,
// so a token lives 5 to 10 minutes. The secret comes from the Random port and rotates lazily, on
// use: no timer. Pure (SHA1 from node:crypto as a pure function).

import { createHash } from 'node:crypto';
import type { Clock, Millis, Random } from '../ports.ts';
import { bytesEqual } from '../bytes.ts';

const SECRET_BYTES = 16;

export class TokenIssuer {
  private current: Uint8Array;
  private previous: Uint8Array;
  /** The start of the current secret's period. */
  private since: Millis;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly random: Random,
    private readonly rotation: Millis,
    private readonly length: number,
  ) {
    this.current = this.secret();
    this.previous = this.secret();
    this.since = clock.now();
  }

  /** The token for a node at `host`. */
  issue(host: string): Uint8Array {
    this.rotate();
    return this.tokenOf(this.current, host);
  }

  /** True when `token` was issued to `host` under the current or the previous secret. */
  accepts(host: string, token: Uint8Array): boolean {
    this.rotate();
    return bytesEqual(token, this.tokenOf(this.current, host)) || bytesEqual(token, this.tokenOf(this.previous, host));
  }

  private rotate(): void {
    const elapsed = this.clock.now() - this.since;
    if (elapsed < this.rotation) return;
    // Two periods or more without use: both secrets are stale.
    this.previous = elapsed >= 2 * this.rotation ? this.secret() : this.current;
    this.current = this.secret();
    this.since += Math.floor(elapsed / this.rotation) * this.rotation;
  }

  private secret(): Uint8Array {
    const s = new Uint8Array(SECRET_BYTES);
    for (let i = 0; i < SECRET_BYTES; i++) s[i] = Math.floor(this.random.next() * 256);
    return s;
  }

  private tokenOf(secret: Uint8Array, host: string): Uint8Array {
    return createHash('sha1').update(secret).update(host).digest().subarray(0, this.length);
  }
}
