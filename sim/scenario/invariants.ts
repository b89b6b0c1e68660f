// Safety invariants, checked as the run goes, from outside the engine: the checker decodes every
// byte an honest peer writes (an independent tap on the simulated network) and compares every
// verified piece with the true payload. A violation names the virtual time and the peer.

import { BLOCK_SIZE, type Message, WireDecoder } from '../../engine/wire.ts';
import type { PeerProcess } from '../../engine/peer.ts';
import type { TraceEvent } from '../../engine/trace.ts';
import type { Client } from '../../engine/client.ts';
import type { Torrent } from '../../engine/metainfo.ts';
import type { Storage } from '../../engine/ports.ts';
import type { TraceSink } from '../../engine/trace.ts';
import type { SimEndpoint, SimNetwork } from '../network.ts';
import { type Behaviour, isHonest } from '../behaviours.ts';
import type { Failure } from './types.ts';

/** A peer as the checker sees it, on either transport. */
export interface SafetyPeer {
  readonly label: string;
  readonly behaviour: Behaviour;
  /** What it holds; absent for another client (its bytes are checked from its files at the end). */
  readonly storage?: Storage;
  readonly client?: Client;
}

/** The swarm the checker watches: the in-memory `Swarm`, or the TCP transport's. */
export interface SafetyTarget {
  readonly peers: readonly SafetyPeer[];
  readonly torrent: Torrent;
  readonly payload: Uint8Array;
  readonly scheduler: { now(): number };
  readonly traceSink: TraceSink;
  observer: TraceSink | undefined;
}

/** Recorded violations are capped (the count is not), so a broken run stays small. */
const MAX_RECORDED = 50;

export class InvariantChecker {
  readonly violations: Failure[] = [];
  violationCount = 0;
  hashFailures = 0;
  readonly bans: { by: string; banned: string }[] = [];
  private readonly decoders = new WeakMap<SimEndpoint, WireDecoder>();
  private readonly processes = new WeakMap<SimEndpoint, PeerProcess>();
  private readonly peerByLabel = new Map<string, SafetyPeer>();

  /**
   * `network`: the in-memory network, whose write tap lets the checker compare what honest peers
   * write with their engine's state. On TCP the relay's wire checker (sim/wire-checker.ts) does
   * the byte-level checks instead.
   */
  constructor(
    private readonly swarm: SafetyTarget,
    network?: SimNetwork,
  ) {
    for (const p of swarm.peers) this.peerByLabel.set(p.label, p);
    swarm.observer = { emit: (e) => this.onEvent(e) };
    network?.tapWrites((from, chunks) => this.onWrite(from, chunks));
  }

  private onEvent(e: TraceEvent): void {
    const peer = this.peer(e.peer);
    if (!peer || !isHonest(peer.behaviour)) return;
    if (e.kind === 'verified') this.checkVerified(peer, e.piece as number);
    else if (e.kind === 'hashfail') this.hashFailures++;
    else if (e.kind === 'ban') this.bans.push({ by: e.peer, banned: e.remote! });
  }

  /** "A piece is only marked complete when its SHA1 matches; every verified byte equals the payload." */
  private checkVerified(peer: SafetyPeer, index: number): void {
    if (!peer.storage) return;
    const t = this.swarm.torrent;
    const start = index * t.pieceLength;
    const length = Math.min(t.pieceLength, t.length - start);
    const held = peer.storage.read(start, length);
    if (Buffer.compare(held, this.swarm.payload.subarray(start, start + length)) !== 0) {
      this.violate('verified-bytes', peer.label, `piece ${index} was marked verified but its bytes differ from the payload`, { piece: index });
    }
  }

  private onWrite(from: SimEndpoint, chunks: Uint8Array | readonly Uint8Array[]): void {
    const peer = this.peer(from.host.label);
    if (!peer || !isHonest(peer.behaviour) || !peer.client) return;
    let decoder = this.decoders.get(from);
    if (!decoder) this.decoders.set(from, (decoder = new WireDecoder({ maxMessageLength: 0xffffffff })));
    const list = chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const chunk of list) {
      let items;
      try {
        items = decoder.push(chunk);
      } catch (err) {
        this.violate('wire', peer.label, `wrote bytes that do not decode: ${(err as Error).message}`);
        this.decoders.set(from, new WireDecoder({ expectHandshake: false }));
        return;
      }
      for (const item of items) if (item.kind === 'message') this.checkMessage(peer, from, item.message);
    }
    const settings = peer.client.settings;
    const bound = (settings.maxSendQueue + 1) * (BLOCK_SIZE + 13) + 64 * 1024;
    if (from.bufferedBytes() > bound) {
      this.violate('send-buffer', peer.label, `${from.bufferedBytes()} bytes buffered to ${from.peer?.host.label}, bound ${bound}`, { remote: from.peer?.host.label });
    }
  }

  private checkMessage(peer: SafetyPeer, from: SimEndpoint, m: Message): void {
    const process = this.processOf(peer, from);
    if (!process) return;
    const remote = process.remoteLabel;
    if (m.type === 'request') {
      // BEP 6: a piece of the remote's allowed-fast set may be requested while it chokes us.
      if (process.peerChoking && !process.ext.allowedFast.has(m.index)) this.violate('request-while-choked', peer.label, `sent REQUEST ${m.index}:${m.begin} to ${remote}, which chokes it`, { remote });
      const hi = peer.client!.settings.hiWatermark;
      if (process.outstandingCount > hi) {
        this.violate('requests-in-flight', peer.label, `${process.outstandingCount} requests in flight to ${remote}, the setting allows ${hi}`, { remote });
      }
    } else if (m.type === 'piece' && process.amChoking && !process.ext.granted.has(m.index)) {
      // (BEP 6: a piece of the allowed-fast set we sent is served while we choke the peer.)
      this.violate('piece-while-choking', peer.label, `sent PIECE ${m.index}:${m.begin} to ${remote}, which it chokes`, { remote });
    }
  }

  private processOf(peer: SafetyPeer, from: SimEndpoint): PeerProcess | undefined {
    let p = this.processes.get(from);
    if (!p) {
      p = peer.client!.connections().find((c) => c.conn === from);
      if (p) this.processes.set(from, p);
    }
    return p;
  }

  private peer(label: string): SafetyPeer | undefined {
    let p = this.peerByLabel.get(label);
    if (!p) {
      // Peers added later (churn) are looked up once.
      p = this.swarm.peers.find((x) => x.label === label);
      if (p) this.peerByLabel.set(label, p);
    }
    return p;
  }

  /** `where`: the connection's remote, or the piece, when the check knows it (traced, for the replay). */
  private violate(check: string, peer: string, message: string, where: { remote?: string; piece?: number } = {}): void {
    this.violationCount++;
    if (this.violations.length < MAX_RECORDED) {
      const failure = { check, message, t: this.swarm.scheduler.now(), peer };
      this.violations.push(failure);
      this.swarm.traceSink.emit({ t: failure.t, peer, ...(where.remote !== undefined ? { remote: where.remote } : {}), kind: 'violation', check, detail: message, ...(where.piece !== undefined ? { piece: where.piece } : {}) });
    }
  }
}
