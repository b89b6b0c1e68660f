// One UDP tracker (BEP 15): the connect step (a connection id valid for a minute), then announce;
// each step retried with a doubling time-out; replies matched by transaction id and checked in
// size, so garbage datagrams are ignored and never crash anything. `close()` ends the exchanges
// in flight at once.

import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { AnnounceRequest, AnnounceResult } from '../engine/ports.ts';
import { parseCompactPeers } from './tracker-reply.ts';

export interface UdpTrackerOptions {
  /** Time-out of the first try (ms, default 5 s; BEP 15 says 15 s); doubles with each retry. */
  timeout?: number;
  /** Tries per step before giving up (default 3). */
  attempts?: number;
  /**
   * Starts one try's time-out: calls `expire` after `ms` unless the returned function cancels it
   * first. Default: a real timer. The fuzzer passes one that also expires as soon as the reply it
   * sent has been read and ignored, instead of waiting out the time.
   */
  timer?: (ms: number, expire: () => void) => () => void;
}

function realTimer(ms: number, expire: () => void): () => void {
  const timer = setTimeout(expire, ms);
  return () => clearTimeout(timer);
}

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
      const connectionId = await this.connectionId();
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
      const reply = await this.exchange(packet, ACTION_ANNOUNCE, 20);
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

  private async connectionId(): Promise<Buffer> {
    if (this.connection && Date.now() - this.connection.at < CONNECTION_ID_LIFETIME) return this.connection.id;
    const packet = Buffer.alloc(16);
    packet.writeBigUInt64BE(PROTOCOL_ID, 0);
    packet.writeUInt32BE(ACTION_CONNECT, 8);
    const reply = await this.exchange(packet, ACTION_CONNECT, 16);
    const id = Buffer.from(reply.subarray(8, 16));
    this.connection = { id, at: Date.now() };
    return id;
  }

  /** Sends `packet` with a fresh transaction id until a matching reply arrives or the tries run out. */
  private async exchange(packet: Buffer, action: number, minLength: number): Promise<Buffer> {
    const attempts = this.options.attempts ?? 3;
    let timeout = this.options.timeout ?? 5_000;
    for (let attempt = 1; ; attempt++) {
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
    }
  }

  private sendAndWait(packet: Buffer, tid: number, timeout: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve(undefined);
      const socket = this.ensureSocket();
      const cancelTimer = (this.options.timer ?? realTimer)(timeout, () => {
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
