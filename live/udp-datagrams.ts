// The real DatagramPort (engine/ports.ts): one node:dgram UDP socket, for the DHT (BEP 5). A send
// to an unreachable address, or one the OS refuses, is a lost datagram, as the port promises: it
// never throws. Socket errors after binding go to `onError` and the socket stays open.

import { createSocket, type Socket } from 'node:dgram';
import type { DatagramPort, PeerAddress } from '../engine/ports.ts';

export interface UdpDatagramsOptions {
  /** The address to bind; '0.0.0.0' for every interface. */
  host: string;
  /** 0: any free port. */
  port: number;
  onError?: (err: Error) => void;
}

export class UdpDatagrams implements DatagramPort {
  private handler: ((from: PeerAddress, bytes: Uint8Array) => void) | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly localAddress: PeerAddress,
  ) {}

  /** Binds the socket; rejects with one line naming the address when it cannot (in use, bad host). */
  static create(o: UdpDatagramsOptions): Promise<UdpDatagrams> {
    const socket = createSocket({ type: o.host.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(new Error(`cannot listen for DHT datagrams on ${o.host}:${o.port}: ${err.code ?? err.message}`));
      };
      socket.once('error', failed);
      socket.bind(o.port, o.host, () => {
        socket.off('error', failed);
        const port = socket.address().port;
        const self = new UdpDatagrams(socket, { host: o.host, port });
        socket.on('error', (err) => o.onError?.(err));
        socket.on('message', (msg, rinfo) => self.handler?.({ host: rinfo.address, port: rinfo.port }, new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
        // The DHT alone must not keep a finished command alive.
        socket.unref();
        resolve(self);
      });
    });
  }

  send(to: PeerAddress, bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      this.socket.send(bytes, to.port, to.host, () => {
        // An error here (EHOSTUNREACH, a host that does not resolve) is a lost datagram.
      });
    } catch {
      // A bad port or address family: lost as well.
    }
  }

  onDatagram(handler: (from: PeerAddress, bytes: Uint8Array) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.handler = undefined;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
