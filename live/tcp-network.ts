// The engine's Network port over node:net. Semantics follow engine/ports.ts: a dialled connection
// reports `open` then `data`/`drain`, and `close` once, unless we closed it ourselves.

import { createServer, type Server, Socket } from 'node:net';
import type { Connection, ConnectionHandler, Network, PeerAddress } from '../engine/ports.ts';
import { describeError, reportError } from './io-errors.ts';

export interface TcpNetworkOptions {
  /** Address to listen on (default 0.0.0.0). */
  host?: string;
  /** Port to listen on; 0 picks a free one (default 0). */
  port?: number;
  /** Source address of every dial (default: the system's choice); a TCP run binds a peer's dials to its host IP, so the relay knows who dials. */
  localAddress?: string;
  /** A dial that has not connected after this long fails (ms, default 10 s). */
  connectTimeout?: number;
  /** Called when the engine threw from a callback: the connection is dropped, the process lives on. */
  onError?: (error: unknown, remote: PeerAddress) => void;
}

/** How long `TcpNetwork.close()` lets peers close their side before cutting them off (ms). */
const CLOSE_GRACE = 500;

export class TcpNetwork implements Network {
  private acceptor: ((conn: Connection) => void) | undefined;
  private readonly sockets = new Set<TcpConnection>();

  private constructor(
    private readonly server: Server,
    readonly localAddress: PeerAddress,
    private readonly options: TcpNetworkOptions,
  ) {
    server.on('connection', (socket) => {
      const conn = new TcpConnection(this, socket, true, remoteOf(socket), options);
      if (!this.acceptor) return conn.close();
      try {
        this.acceptor(conn);
      } catch (err) {
        // The engine failed to take the connection: it goes, the listener stays.
        reportError(options.onError && ((e) => options.onError!(e, conn.remote)), 'accepting a connection', err);
        conn.close();
      }
    });
    // An error on the listening socket after it is bound (rare) must not crash the process.
    server.on('error', (err) => options.onError?.(err, localAddress));
  }

  /** Binds the listening socket first, so that the port to announce is known. */
  static async create(options: TcpNetworkOptions = {}): Promise<TcpNetwork> {
    const server = createServer({ noDelay: true });
    const host = options.host ?? '0.0.0.0';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
    return new TcpNetwork(server, { host, port }, options);
  }

  connect(remote: PeerAddress): Connection {
    const socket = new Socket();
    const conn = new TcpConnection(this, socket, false, { host: remote.host, port: remote.port }, this.options);
    socket.setNoDelay(true);
    try {
      socket.connect({ host: remote.host, port: remote.port, localAddress: this.options.localAddress });
    } catch (err) {
      // A bad address (a port out of range, say) throws at once: reported as a failed dial, after
      // the engine has had the connection back and installed its handler.
      queueMicrotask(() => conn.failWith(describeError(err)));
    }
    return conn;
  }

  listen(onConnection: (conn: Connection) => void): { stop(): void } {
    this.acceptor = onConnection;
    return {
      stop: () => {
        if (this.acceptor === onConnection) this.acceptor = undefined;
      },
    };
  }

  /** Connections still open. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /**
   * Stops listening and drops every connection: each is ended (queued bytes go out), and one whose
   * peer has not closed its side after `grace` ms is cut off, so that no peer can hold up an exit.
   */
  async close(grace = CLOSE_GRACE): Promise<void> {
    this.acceptor = undefined;
    const open = [...this.sockets];
    for (const c of open) c.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)))]);
    clearTimeout(timer);
    for (const c of open) c.destroy();
    await closed;
  }

  /** @internal */
  track(conn: TcpConnection, open: boolean): void {
    if (open) this.sockets.add(conn);
    else this.sockets.delete(conn);
  }
}

function remoteOf(socket: Socket): PeerAddress {
  let host = socket.remoteAddress ?? '?';
  if (host.startsWith('::ffff:')) host = host.slice(7);
  return { host, port: socket.remotePort ?? 0 };
}

class TcpConnection implements Connection {
  private handler: ConnectionHandler | undefined;
  private closed = false;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Events that arrived before a handler was installed. */
  private early: (() => void)[] = [];
  /** Set when the connection failed before a handler was installed. */
  private failedBeforeHandler: { reason: string | undefined } | undefined;

  constructor(
    private readonly net: TcpNetwork,
    private readonly socket: Socket,
    readonly inbound: boolean,
    readonly remote: PeerAddress,
    private readonly options: TcpNetworkOptions,
  ) {
    net.track(this, true);
    if (!inbound) {
      this.connectTimer = setTimeout(() => this.fail(`connect to ${remote.host}:${remote.port} timed out`), options.connectTimeout ?? 10_000);
      socket.once('connect', () => {
        clearTimeout(this.connectTimer);
        this.deliver((h) => h.open());
      });
    } else {
      socket.setNoDelay(true);
    }
    socket.on('data', (buf: Buffer) => {
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
      this.deliver((h) => h.data(bytes));
    });
    socket.on('drain', () => this.deliver((h) => h.drain()));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code ? `${err.code}: ${err.message}` : err.message));
    socket.on('end', () => this.fail(undefined));
    socket.on('close', () => this.fail(undefined));
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
    if (this.failedBeforeHandler) {
      const { reason } = this.failedBeforeHandler;
      this.failedBeforeHandler = undefined;
      handler.close(reason);
      return;
    }
    const early = this.early;
    this.early = [];
    for (const e of early) e();
  }

  write(chunks: Uint8Array | readonly Uint8Array[]): void {
    if (this.closed) return;
    if (chunks instanceof Uint8Array) {
      this.socket.write(chunks);
      return;
    }
    if (chunks.length > 1) this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    if (chunks.length > 1) this.socket.uncork();
  }

  bufferedBytes(): number {
    return this.closed ? 0 : this.socket.writableLength;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    this.net.track(this, false);
    // Let queued bytes (a last CHOKE, a reject) go out, then drop the socket for good.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  private deliver(event: (h: ConnectionHandler) => void): void {
    if (this.closed) return;
    if (!this.handler) {
      this.early.push(() => this.deliver(event));
      return;
    }
    try {
      event(this.handler);
    } catch (err) {
      // The engine is meant never to throw; if it does, this connection goes, the process stays.
      this.report(err);
      this.fail(`internal error: ${describeError(err)}`);
    }
  }

  /** @internal Drops the socket now, whatever is still queued (the network is closing). */
  destroy(): void {
    this.socket.destroy();
  }

  /** @internal A dial that failed before it began. */
  failWith(reason: string): void {
    this.fail(reason);
  }

  private fail(reason: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    this.net.track(this, false);
    this.socket.destroy();
    const handler = this.handler;
    if (!handler) {
      this.failedBeforeHandler = { reason };
      return;
    }
    try {
      handler.close(reason);
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    const onError = this.options.onError;
    reportError(onError && ((e) => onError(e, this.remote)), `the connection with ${this.remote.host}:${this.remote.port}`, err);
  }
}
