// A Network wrapper for the puppet bench: while a remote "does not read", what the client writes to
// it is held here, so the client's `bufferedBytes()` grows as a real socket's does when the peer
// never reads. Transparent otherwise; the peak of each connection's queue is recorded.

import type { Connection, ConnectionHandler, Network, PeerAddress } from '../../engine/ports.ts';

export class ReadGateNetwork implements Network {
  private readonly notReading = new Set<string>();
  readonly connections: GatedConnection[] = [];

  constructor(private readonly inner: Network) {}

  get localAddress(): PeerAddress {
    return this.inner.localAddress;
  }

  connect(remote: PeerAddress): Connection {
    return this.track(this.inner.connect(remote));
  }

  listen(onConnection: (conn: Connection) => void): { stop(): void } {
    return this.inner.listen((conn) => onConnection(this.track(conn)));
  }

  /** From now on, what the client writes to `host` stays queued on the client's side. */
  stopReading(host: string): void {
    this.notReading.add(host);
  }

  /** `host` reads again: what was held goes out, in order. */
  resumeReading(host: string): void {
    this.notReading.delete(host);
    for (const c of this.connections) if (c.remote.host === host) c.release();
  }

  isReading(host: string): boolean {
    return !this.notReading.has(host);
  }

  /** The largest queue the client ever had towards `host`, over all its connections. */
  peakQueued(host: string): number {
    let peak = 0;
    for (const c of this.connections) if (c.remote.host === host) peak = Math.max(peak, c.peak);
    return peak;
  }

  private track(conn: Connection): GatedConnection {
    const gated = new GatedConnection(conn, this);
    this.connections.push(gated);
    return gated;
  }
}

export class GatedConnection implements Connection {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** The most bytes ever queued on this connection (held here plus the inner connection's). */
  peak = 0;

  constructor(
    private readonly inner: Connection,
    private readonly gate: ReadGateNetwork,
  ) {}

  get remote(): PeerAddress {
    return this.inner.remote;
  }

  get inbound(): boolean {
    return this.inner.inbound;
  }

  setHandler(handler: ConnectionHandler): void {
    this.inner.setHandler(handler);
  }

  write(chunks: Uint8Array | readonly Uint8Array[]): void {
    if (this.gate.isReading(this.remote.host)) this.inner.write(chunks);
    else {
      for (const c of chunks instanceof Uint8Array ? [chunks] : chunks) {
        this.held.push(c);
        this.heldBytes += c.length;
      }
    }
    this.peak = Math.max(this.peak, this.bufferedBytes());
  }

  bufferedBytes(): number {
    return this.heldBytes + this.inner.bufferedBytes();
  }

  close(): void {
    this.held = [];
    this.heldBytes = 0;
    this.inner.close();
  }

  release(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    if (held.length > 0) this.inner.write(held);
  }
}
