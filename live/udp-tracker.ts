// One UDP tracker (BEP 15): the connect step (a connection id valid for a minute), then announce;
// each step retransmitted on BEP 15's schedule (no reply within 15 · 2^n s, n = 0..8: a new try;
// after the ninth, the step fails — about 2 h 8 min in all; an announce whose connection id
// expires while it waits connects again and goes on with its next try); replies matched by transaction id and checked in
// size, so garbage datagrams are ignored and never crash anything. `close()` ends the exchanges
// in flight at once.

import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { AnnounceRequest, AnnounceResult } from '../engine/ports.ts';
import { parseCompactPeers } from './tracker-reply.ts';

export interface UdpTrackerOptions {
  /** Time-out of the first try (ms, default BEP 15's 15 s); doubles with each retransmission. */
  timeout?: number;
  /** Tries per step before giving up (default 9: BEP 15's n = 0..8). */
  attempts?: number;
  /**
   * Runs `fire` after `ms` and returns a cancel (default setTimeout): tests pass one that records
   * the schedule and fires at once, so two hours of BEP 15 waits take milliseconds; the fuzzer one
   * that also fires as soon as the reply it sent has been read and ignored.
   */
  setTimer?: (ms: number, fire: () => void) => () => void;
  /** The time (ms; default Date.now), for connection-id lifetimes: a test's fake clock goes with its timer. */
  now?: () => number;
}

/** The connection id expired before the announce's next try: connect again, then send try `nextTry`. */
class ConnectionExpired extends Error {
  constructor(readonly nextTry: number) {
    super('connection id expired');
  }
}

/** BEP 15: "15 * 2 ^ n seconds", n from 0 up to 8. */
export const BEP15_FIRST_TIMEOUT = 15_000;
export const BEP15_ATTEMPTS = 9;

const realTimer = (ms: number, fire: () => void): (() => void) => {
  const t = setTimeout(fire, ms);
  return () => clearTimeout(t);
};

const PROTOCOL_ID = 0x41727101980n;
const ACTION_CONNECT = 0;
const ACTION_ANNOUNCE = 1;
const ACTION_ERROR = 3;
const EVENTS = { periodic: 0, completed: 1, started: 2, stopped: 3 } as const;
const CONNECTION_ID_LIFETIME = 60_000;

export class UdpTracker {
  private readonly host: string;
  private readonly port: number;
  private socket: Socket | undefined;
  /** Each exchange waiting for its reply, by transaction id; `undefined` ends the wait unanswered. */
  private readonly waiting = new Map<number, (msg: Buffer | undefined) => void>();
  private closed = false;
  private connection: { id: Buffer; at: number } | undefined;
  private users = 0;

  constructor(
    readonly url: string,
    private readonly key: number,
    private readonly options: UdpTrackerOptions = {},
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port);
    if (!(this.port > 0 && this.port <= 0xffff)) throw new Error(`UDP tracker ${url} has no port`);
  }

  async announce(r: AnnounceRequest): Promise<AnnounceResult> {
    this.users++;
    try {
      let reply: Buffer | undefined;
      for (let firstTry = 0; !reply; ) {
        const connection = await this.connectionId();
        try {
          reply = await this.exchange(this.announcePacket(r, connection.id), ACTION_ANNOUNCE, 20, firstTry, connection.at + CONNECTION_ID_LIFETIME);
        } catch (err) {
          if (!(err instanceof ConnectionExpired)) throw err;
          this.connection = undefined;
          firstTry = err.nextTry;
        }
      }
      const interval = reply.readUInt32BE(8);
      const incomplete = reply.readUInt32BE(12);
      const complete = reply.readUInt32BE(16);
      const peers = parseCompactPeers(new Uint8Array(reply.subarray(20, 20 + Math.floor((reply.length - 20) / 6) * 6)));
      return { ok: true, interval, peers, complete, incomplete };
    } catch (err) {
      this.connection = undefined;
      return { ok: false, error: `tracker ${this.url}: ${(err as Error).message}` };
    } finally {
      if (--this.users === 0) this.closeSocket();
    }
  }

  private announcePacket(r: AnnounceRequest, connectionId: Buffer): Buffer {
    const packet = Buffer.alloc(98);
    connectionId.copy(packet, 0);
    packet.writeUInt32BE(ACTION_ANNOUNCE, 8);
    packet.set(r.infoHash, 16);
    packet.set(r.peerId, 36);
    packet.writeBigUInt64BE(BigInt(r.downloaded), 56);
    packet.writeBigUInt64BE(BigInt(r.left), 64);
    packet.writeBigUInt64BE(BigInt(r.uploaded), 72);
    packet.writeUInt32BE(EVENTS[r.event], 80);
    packet.writeUInt32BE(0, 84); // IP: the sender's
    packet.writeUInt32BE(this.key >>> 0, 88);
    packet.writeInt32BE(r.numWant, 92);
    packet.writeUInt16BE(r.port, 96);
    return packet;
  }

  private async connectionId(): Promise<{ id: Buffer; at: number }> {
    if (this.connection && this.now() - this.connection.at < CONNECTION_ID_LIFETIME) return this.connection;
    const packet = Buffer.alloc(16);
    packet.writeBigUInt64BE(PROTOCOL_ID, 0);
    packet.writeUInt32BE(ACTION_CONNECT, 8);
    const reply = await this.exchange(packet, ACTION_CONNECT, 16);
    this.connection = { id: Buffer.from(reply.subarray(8, 16)), at: this.now() };
    return this.connection;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * Sends `packet` with a fresh transaction id until a matching reply arrives or the tries run out,
   * from try `firstTry` (n of BEP 15's 15 · 2^n s). Past `validUntil` (the connection id's end), the
   * next try is not sent: a ConnectionExpired says which it would have been.
   */
  private async exchange(packet: Buffer, action: number, minLength: number, firstTry = 0, validUntil = Infinity): Promise<Buffer> {
    const attempts = this.options.attempts ?? BEP15_ATTEMPTS;
    let timeout = (this.options.timeout ?? BEP15_FIRST_TIMEOUT) * 2 ** firstTry;
    for (let attempt = firstTry + 1; ; attempt++) {
      const tid = randomBytes(4).readUInt32BE(0);
      packet.writeUInt32BE(tid, 12);
      const reply = await this.sendAndWait(packet, tid, timeout);
      if (this.closed) throw new Error('cancelled');
      if (reply) {
        const got = reply.readUInt32BE(0);
        if (got === ACTION_ERROR) throw new Error(`tracker error: ${reply.subarray(8).toString('utf8').slice(0, 200)}`);
        if (got !== action) throw new Error(`reply has action ${got}, expected ${action}`);
        if (reply.length < minLength) throw new Error(`reply of ${reply.length} bytes is too short`);
        return reply;
      }
      if (attempt >= attempts) throw new Error(`no reply after ${attempts} tries`);
      timeout *= 2;
      if (this.now() >= validUntil) throw new ConnectionExpired(attempt);
    }
  }

  private sendAndWait(packet: Buffer, tid: number, timeout: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve(undefined);
      const socket = this.ensureSocket();
      const cancelTimer = (this.options.setTimer ?? realTimer)(timeout, () => {
        this.waiting.delete(tid);
        resolve(undefined);
      });
      this.waiting.set(tid, (msg) => {
        cancelTimer();
        this.waiting.delete(tid);
        resolve(msg);
      });
      socket.send(packet, this.port, this.host, (err) => {
        if (!err) return;
        cancelTimer();
        this.waiting.delete(tid);
        reject(err);
      });
    });
  }

  private ensureSocket(): Socket {
    if (this.socket) return this.socket;
    const socket = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (msg) => {
      // Anything shorter than action + transaction id, or for no transaction of ours, is dropped.
      if (msg.length < 8) return;
      this.waiting.get(msg.readUInt32BE(4))?.(msg);
    });
    socket.on('error', () => {
      // ICMP unreachable and the like: the waiting exchange times out and is retried.
    });
    this.socket = socket;
    return socket;
  }

  /** Ends every exchange in flight (each announce resolves as cancelled) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const end of [...this.waiting.values()]) end(undefined);
    this.closeSocket();
  }

  private closeSocket(): void {
    const s = this.socket;
    this.socket = undefined;
    try {
      s?.close();
    } catch {
      // already closed
    }
  }
}
