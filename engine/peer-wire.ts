// One connection's wire end, shared by the Client's Peer process (engine/peer.ts) and the metadata
// fetcher's connections (engine/metadata-fetcher.ts): the decoder the connection's bytes go through
// (a fault traced as a bad handshake before the handshake, at Case Msg after it), the BEP 3
// handshake we send and the checks every handshake must pass, the trace of its steps, and the exit
// sequence (exit, cleanup, close, disconnect). What each process does with messages stays its own.

import { bytesEqual } from './bytes.ts';
import { type NodeId, type OffChartPolicy, StepTracker } from './flowchart.ts';
import type { Clock, Connection } from './ports.ts';
import type { TraceKind, TraceSink } from './trace.ts';
import { type DecodedItem, encodeHandshake, type Handshake, WireDecoder, WireError } from './wire.ts';

/** The handshake fault of a connection whose other end is ourselves (our own peer id came back). */
export const SELF_CONNECTION = 'connected to ourselves';

/** Who we are on the wire: what a handshake carries, and where the trace goes. */
export interface WireEndpoint {
  /** Our name in the trace. */
  readonly label: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly clock: Clock;
  readonly trace: TraceSink;
}

export class PeerWire {
  readonly decoder: WireDecoder;
  /** Where the process is on the flowchart: every step must follow a control edge from the last. */
  private readonly position: StepTracker;

  constructor(
    private readonly local: WireEndpoint,
    readonly conn: Connection,
    /** The remote's name in the trace. */
    readonly remoteLabel: string,
    maxMessageLength: number | undefined,
    /** A step off the flowchart throws (simulator, tests) or is recorded as a violation (live). */
    offChartSteps: OffChartPolicy,
    /** Who runs the process, for the off-chart message ("peer A", "metadata fetcher A"). */
    who: string,
  ) {
    this.decoder = new WireDecoder({ maxMessageLength });
    this.position = new StepTracker(
      offChartSteps,
      () => `${who}, connection to ${remoteLabel}`,
      (error) => this.emit('violation', { check: 'flowchart', detail: error.message }),
    );
  }

  /** Our handshake, with the reserved bytes of the extensions we offer. */
  handshake(reserved: Uint8Array): Uint8Array {
    return encodeHandshake({ infoHash: this.local.infoHash, peerId: this.local.peerId, reserved });
  }

  /** Takes bytes split anywhere; `next` then reads the items they complete. */
  receive(bytes: Uint8Array): void {
    this.decoder.append(bytes);
  }

  /**
   * The next item the bytes received complete, or undefined until more come. A fault is traced —
   * before the handshake as a failed `handshake` step, after it at `caseMsg` — and returned as the
   * reason to exit with.
   */
  next(beforeHandshake: boolean): DecodedItem | string | undefined {
    try {
      return this.decoder.next();
    } catch (err) {
      const reason = err instanceof WireError ? err.message : String(err);
      if (beforeHandshake) {
        this.step('handshake', { ok: false, reason: `bad handshake: ${reason}` });
        return `bad handshake: ${reason}`;
      }
      this.step('caseMsg', { error: reason });
      return `malformed message: ${reason}`;
    }
  }

  /** What every remote handshake must pass: our info-hash, and not our own peer id (`SELF_CONNECTION`). */
  handshakeFault(h: Handshake): string | undefined {
    return !bytesEqual(h.infoHash, this.local.infoHash) ? 'info-hash is not ours' : bytesEqual(h.peerId, this.local.peerId) ? SELF_CONNECTION : undefined;
  }

  /**
   * The end of a process, once it is marked closed: the `exit` step, `release` (what the process
   * gives back; its count is traced at `cleanup`), the socket closed, `forget` (the owner drops
   * the connection), then the `disconnect` event.
   */
  finish(reason: string, release: () => number, forget: () => void): void {
    this.step('exit', { reason });
    const given = release();
    this.step('cleanup', { given });
    this.conn.close();
    forget();
    this.emit('disconnect', { reason });
  }

  /** A step of the flowchart, checked against its edges always, traced unless the trace takes no steps. */
  step(node: NodeId, extra?: Record<string, unknown>): void {
    this.position.enter(node);
    if (this.local.trace.steps === false) return;
    this.emit('step', { node, ...extra });
  }

  emit(kind: TraceKind, fields: Record<string, unknown>): void {
    this.local.trace.emit({ t: this.local.clock.now(), peer: this.local.label, remote: this.remoteLabel, kind, ...fields });
  }
}
