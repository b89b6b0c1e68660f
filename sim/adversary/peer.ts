// An adversary's presence in the swarm: it announces to the tracker like any peer (so honest peers
// find it), accepts inbound connections, dials a bounded number of the peers the tracker returns
// and dials them again after each connection ends. What it says on a connection is its Script's.

import { addressKey, type Connection, type PeerAddress, type TimerHandle } from '../../engine/ports.ts';
import { TrackerClient } from '../../engine/tracker-client.ts';
import { SIM_MIN_ANNOUNCE_INTERVAL } from '../tracker.ts';
import type { AdversaryContext, Script } from './script.ts';
import { TorrentShape } from './script.ts';
import { Session } from './session.ts';

/** Most distinct peers an adversary dials. */
export const MAX_DIALLED_PEERS = 20;
/** Most connections it holds at once; more inbound ones are closed at once. */
export const MAX_SESSIONS = 60;
const NUM_WANT = 50;

interface Target {
  address: PeerAddress;
  session: Session | undefined;
  redial: TimerHandle | undefined;
}

export class AdversaryPeer {
  private readonly shape: TorrentShape;
  private readonly sessions = new Set<Session>();
  /** The peers we dial, in the order the tracker told us of them. */
  private readonly targets = new Map<string, Target>();
  private readonly tracker: TrackerClient;
  private listener: { stop(): void } | undefined;
  private running = false;
  private connections = 0;

  constructor(
    private readonly behaviour: string,
    private readonly ctx: AdversaryContext,
    private readonly script: Script,
  ) {
    this.shape = new TorrentShape(ctx.torrent);
    this.tracker = new TrackerClient({
      port: ctx.tracker,
      clock: ctx.scheduler,
      request: (event) => ({
        infoHash: ctx.torrent.infoHash,
        peerId: ctx.peerId,
        port: ctx.host.localAddress.port,
        uploaded: 0,
        downloaded: 0,
        left: script.claimsEverything ? 0 : ctx.torrent.length,
        event,
        numWant: NUM_WANT,
      }),
      onPeers: (peers) => this.learn(peers),
      minInterval: SIM_MIN_ANNOUNCE_INTERVAL,
    });
  }

  /** Connections open right now. */
  get openSessions(): number {
    return this.sessions.size;
  }

  /** Connections made so far, both ways. */
  get sessionsMade(): number {
    return this.connections;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const pieces = this.script.claimsEverything ? this.shape.pieceCount : 0;
    this.emit('join', { role: 'adversary', behaviour: this.behaviour, pieces });
    this.listener = this.ctx.host.listen((conn) => this.accept(conn));
    this.tracker.start();
  }

  stop(reason = 'stopped'): void {
    if (!this.running) return;
    this.running = false;
    this.listener?.stop();
    this.tracker.stop();
    for (const t of this.targets.values()) t.redial?.cancel();
    for (const s of [...this.sessions]) s.close();
    this.emit('leave', { reason });
  }

  private learn(peers: readonly PeerAddress[]): void {
    const self = addressKey(this.ctx.host.localAddress);
    for (const p of peers) {
      const key = addressKey(p);
      if (key === self || this.targets.has(key) || this.targets.size >= MAX_DIALLED_PEERS) continue;
      const target: Target = { address: { host: p.host, port: p.port }, session: undefined, redial: undefined };
      this.targets.set(key, target);
      this.dial(target);
    }
  }

  private dial(target: Target): void {
    target.redial = undefined;
    if (!this.running || this.sessions.size >= MAX_SESSIONS) return this.scheduleRedial(target);
    target.session = this.open(this.ctx.host.connect(target.address), () => {
      target.session = undefined;
      this.scheduleRedial(target);
    });
  }

  private scheduleRedial(target: Target): void {
    if (!this.running) return;
    target.redial = this.ctx.scheduler.setTimer(this.script.redialDelay, () => this.dial(target));
  }

  private accept(conn: Connection): void {
    if (!this.running || this.sessions.size >= MAX_SESSIONS) return conn.close();
    this.open(conn).begin();
  }

  private open(conn: Connection, onEnd?: () => void): Session {
    const session = new Session({
      ctx: this.ctx,
      shape: this.shape,
      conn,
      index: this.connections++,
      script: this.script,
      ended: (s) => {
        this.sessions.delete(s);
        onEnd?.();
      },
    });
    this.sessions.add(session);
    return session;
  }

  private emit(kind: 'join' | 'leave', fields: Record<string, unknown>): void {
    this.ctx.trace.emit({ t: this.ctx.scheduler.now(), peer: this.ctx.label, kind, ...fields });
  }
}
