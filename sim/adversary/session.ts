// One connection of an adversary: the handshake, a decoder for what the honest side sends, and
// the few tools a script needs (send messages or raw bytes, timers that die with the connection).
// It speaks the wire protocol through engine/wire.ts's codec only; no engine logic runs here.

import type { Connection, TimerHandle } from '../../engine/ports.ts';
import { encodeHandshake, encodeMessage, type Message, WireDecoder } from '../../engine/wire.ts';
import type { SeededRandom } from '../random.ts';
import type { AdversaryContext, Script, SessionScript, SessionTools, TorrentShape } from './script.ts';

export interface SessionOptions {
  ctx: AdversaryContext;
  shape: TorrentShape;
  conn: Connection;
  /** This is the adversary's n-th connection (0-based), inbound and outbound counted together. */
  index: number;
  script: Script;
  /** The connection ended, by either side. Called once. */
  ended(session: Session): void;
}

export class Session implements SessionTools {
  readonly index: number;
  readonly shape: TorrentShape;
  private readonly decoder = new WireDecoder();
  private readonly timers = new Set<TimerHandle>();
  private readonly hooks: SessionScript;
  private handshakeSent = false;
  private over = false;

  constructor(private readonly o: SessionOptions) {
    this.index = o.index;
    this.shape = o.shape;
    o.conn.setHandler({
      open: () => this.onOpen(),
      data: (bytes) => this.onData(bytes),
      drain: () => {},
      close: () => this.finish(),
    });
    this.hooks = o.script.attach(this);
  }

  /** Starts an accepted connection (a dialled one starts when it opens). */
  begin(): void {
    if (this.o.conn.inbound) this.onOpen();
  }

  get inbound(): boolean {
    return this.o.conn.inbound;
  }

  get ended(): boolean {
    return this.over;
  }

  get random(): SeededRandom {
    return this.o.ctx.random;
  }

  get ctx(): AdversaryContext {
    return this.o.ctx;
  }

  send(...messages: Message[]): void {
    for (const m of messages) this.raw(encodeMessage(m));
  }

  raw(bytes: Uint8Array | Uint8Array[]): void {
    if (!this.over) this.o.conn.write(bytes);
  }

  /** Closes the connection from our side. */
  close(): void {
    if (this.over) return;
    this.o.conn.close();
    this.finish();
  }

  /** Runs `fn` after `delay` ms, unless the connection has ended by then. */
  after(delay: number, fn: () => void): void {
    const handle = this.o.ctx.scheduler.setTimer(delay, () => {
      this.timers.delete(handle);
      if (!this.over) fn();
    });
    this.timers.add(handle);
  }

  /** Runs `fn` every `period` ms while the connection lasts, at most `times` times. */
  every(period: number, fn: () => void, times = Infinity): void {
    if (times <= 0) return;
    this.after(period, () => {
      fn();
      this.every(period, fn, times - 1);
    });
  }

  private onOpen(): void {
    if (this.over) return;
    if (!this.inbound) this.sendHandshake();
    this.hooks.opened?.();
  }

  private onData(bytes: Uint8Array): void {
    if (this.over) return;
    let items;
    try {
      items = this.decoder.push(bytes);
    } catch {
      return this.close(); // the honest side never sends this; nothing to learn from it
    }
    for (const item of items) {
      if (this.over) return;
      if (item.kind === 'handshake') {
        this.sendHandshake();
        this.hooks.handshaken?.();
      } else {
        this.hooks.message?.(item.message);
      }
    }
  }

  private sendHandshake(): void {
    if (this.handshakeSent || !this.o.script.sendsHandshake) return;
    this.handshakeSent = true;
    const { torrent, peerId } = this.o.ctx;
    this.raw(encodeHandshake({ infoHash: torrent.infoHash, peerId, reserved: new Uint8Array(8) }));
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.o.ended(this);
  }
}
