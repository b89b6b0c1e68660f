// The replay controls: play and pause, single steps, speed, a scrubber over the run's time, a time
// field, and "jump to the next event of this kind". Keys: space plays or pauses, arrows step.

import { JUMP_KINDS, type JumpKind } from '../model.ts';
import type { App } from './app.ts';
import { el } from './dom.ts';
import { formatTime } from './format.ts';
import { meaningOf } from '../glossary.ts';

const SPEEDS: [string, number][] = [
  ['×0.01', 0.01],
  ['×0.05', 0.05],
  ['×0.25', 0.25],
  ['×1 (real time)', 1],
  ['×4', 4],
  ['×20', 20],
];

const JUMP_LABELS: Record<JumpKind, string> = {
  hashfail: 'hash failure',
  choke: 'choke',
  disconnect: 'disconnect',
  fault: 'fault',
  violation: 'violation',
};

export class Controls {
  readonly element: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly scrubber: HTMLInputElement;
  private readonly timeInput: HTMLInputElement;
  private readonly position: HTMLElement;
  private readonly jumps = new Map<JumpKind, HTMLButtonElement>();
  private lastFrame = 0;

  constructor(private readonly app: App) {
    const m = app.model;
    const button = (label: string, title: string, id: string, action: () => void) => {
      const b = el('button', { type: 'button', title, id }, label);
      b.addEventListener('click', action);
      return b;
    };
    this.play = button('▶ Play', 'Play or pause (space)', 'play', () => this.togglePlay());
    const back = button('◀ Step', 'Previous step of the selected connection, peer or swarm (←)', 'step-back', () => this.step(-1));
    const fwd = button('Step ▶', 'Next step of the selected connection, peer or swarm (→)', 'step-forward', () => this.step(1));
    const start = button('⇤ Start', 'Back to the start', 'to-start', () => app.seekPosition(0));
    const speed = el('select', { id: 'speed', title: 'Virtual time per real second' });
    for (const [label, v] of SPEEDS) speed.append(el('option', { value: String(v) }, label));
    speed.value = String(app.speed);
    speed.addEventListener('change', () => app.setSpeed(Number(speed.value)));

    this.scrubber = el('input', { type: 'range', id: 'scrubber', min: '0', max: String(m.endTime), step: 'any', value: '0', 'aria-label': 'time' });
    this.scrubber.addEventListener('input', () => app.seekTime(Number(this.scrubber.value)));
    this.timeInput = el('input', { type: 'text', id: 'time-input', size: '9', title: 'Go to a time, in seconds (Enter)' });
    this.timeInput.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const s = Number(this.timeInput.value.replace(/s$/, '').trim());
      if (Number.isFinite(s)) app.seekTime(s * 1000);
      this.timeInput.blur(); // shows the time gone to; arrow keys step again
    });
    this.position = el('span', { class: 'position', id: 'position' });

    const jumpRow = el('div', { class: 'jumps' }, 'Jump to next: ');
    for (const kind of JUMP_KINDS) {
      const n = m.marks[kind].length;
      if (kind === 'violation' && n === 0) continue;
      const meaning = meaningOf(JUMP_LABELS[kind]);
      const b = button(`${JUMP_LABELS[kind]} (${n})`, `The next ${JUMP_LABELS[kind]} after the current time${meaning ? ` — ${meaning}` : ''}`, `jump-${kind}`, () => {
        const p = m.nextMark(kind, app.position);
        if (p !== undefined) app.seekPosition(p);
      });
      this.jumps.set(kind, b);
      jumpRow.append(b);
    }

    this.element = el(
      'div',
      { class: 'controls', id: 'controls' },
      el('div', { class: 'control-row' }, start, back, this.play, fwd, el('label', {}, 'speed ', speed), el('label', {}, 't = ', this.timeInput, ' s'), this.position),
      el('div', { class: 'control-row' }, this.scrubber),
      jumpRow,
    );

    document.addEventListener('keydown', (e) => {
      const target = e.target as HTMLElement;
      if (target.tagName === 'INPUT' || target.tagName === 'SELECT') return;
      if (e.key === ' ') {
        e.preventDefault();
        this.togglePlay();
      } else if (e.key === 'ArrowRight') this.step(1);
      else if (e.key === 'ArrowLeft') this.step(-1);
    });
  }

  update(): void {
    const app = this.app;
    const m = app.model;
    this.play.textContent = app.playing ? '⏸ Pause' : '▶ Play';
    if (document.activeElement !== this.scrubber) this.scrubber.value = String(app.time);
    if (document.activeElement !== this.timeInput) this.timeInput.value = (app.time / 1000).toFixed(3);
    this.position.textContent = `${formatTime(app.time)} of ${formatTime(m.endTime)} · event ${app.position.toLocaleString('en')} of ${m.eventCount.toLocaleString('en')}`;
    for (const [kind, b] of this.jumps) b.disabled = m.nextMark(kind, app.position) === undefined;
  }

  private step(dir: 1 | -1): void {
    this.app.playing = false;
    this.app.seekPosition(this.app.model.stepFrom(this.app.scope, this.app.position, dir));
  }

  private togglePlay(): void {
    const app = this.app;
    if (app.playing) return app.setPlaying(false);
    if (app.time >= app.model.endTime) app.seekTime(0);
    app.setPlaying(true);
    this.lastFrame = performance.now();
    const tick = (now: number) => {
      if (!app.playing) return;
      const dt = Math.min(100, now - this.lastFrame);
      this.lastFrame = now;
      app.seekTime(app.time + dt * app.speed);
      if (app.time >= app.model.endTime) app.setPlaying(false);
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
}
