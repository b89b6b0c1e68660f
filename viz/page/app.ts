// What the page shows right now — the replay position, the selected peer and connection, play
// and speed — and who to tell when it changes. Views read it and the model; they never talk to
// each other. Changes are drawn once per animation frame.

import type { ReplayModel, Scope } from '../model.ts';

export type Listener = () => void;

export class App {
  /** Events applied: the state shown is that after events [0, position). */
  position = 0;
  /** Virtual time shown (ms); at or after the time of the last applied event. */
  time = 0;
  /** Selected peer (label index) or -1 for the whole swarm. */
  peer = -1;
  /** Selected connection or -1 for all of the peer's connections. */
  conn = -1;
  playing = false;
  /** Virtual ms per real ms while playing. */
  speed = 0.25;
  private readonly listeners: Listener[] = [];
  private frame = 0;

  constructor(readonly model: ReplayModel) {}

  get scope(): Scope {
    if (this.conn >= 0) return { kind: 'connection', conn: this.conn };
    if (this.peer >= 0) return { kind: 'peer', peer: this.peer };
    return { kind: 'swarm' };
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Moves to time t: every event at or before t applied. */
  seekTime(t: number): void {
    this.time = Math.max(0, Math.min(t, this.model.endTime));
    this.position = this.model.positionAt(this.time);
    this.changed();
  }

  /**
   * Moves to a position (events applied); the time becomes that of its last event, or `time` when
   * given and not before it (a moment between two events).
   */
  seekPosition(position: number, time?: number): void {
    this.position = Math.max(0, Math.min(position, this.model.eventCount));
    this.time = Math.max(this.model.timeAt(this.position), Math.min(time ?? 0, this.model.endTime));
    this.changed();
  }

  selectPeer(peer: number): void {
    this.peer = peer;
    this.conn = -1;
    this.changed();
  }

  selectConnection(conn: number): void {
    this.conn = conn;
    if (conn >= 0) this.peer = this.model.table.connections[conn].peer;
    this.changed();
  }

  setPlaying(playing: boolean): void {
    this.playing = playing;
    this.changed();
  }

  setSpeed(speed: number): void {
    this.speed = speed;
    this.changed();
  }

  /** Draws on the next frame (several changes in one frame draw once). */
  changed(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const l of this.listeners) l();
    });
  }
}
