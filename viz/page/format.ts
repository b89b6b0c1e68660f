// How times, rates and events are written on the page.

import type { ReplayModel } from '../model.ts';
import { EVENT_KINDS, eventObject, KIND } from '../trace-table.ts';

/** Milliseconds as seconds with three decimals: "12.345 s". */
export function formatTime(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1 << 20) return `${(bytesPerSecond / (1 << 20)).toFixed(1)} MiB/s`;
  return `${(bytesPerSecond / 1024).toFixed(0)} KiB/s`;
}

/** "L3 → S0 (outbound, 0.050–25.285 s)". */
export function describeConnection(m: ReplayModel, conn: number, withPeer = true): string {
  const c = m.table.connections[conn];
  const dir = c.inbound === undefined ? '' : c.inbound ? 'inbound, ' : 'outbound, ';
  const span = `${(m.table.time[c.first] / 1000).toFixed(3)}–${(m.table.time[c.last] / 1000).toFixed(3)} s`;
  return `${withPeer ? `${m.label(c.peer)} ` : ''}→ ${m.label(c.remote)} (${dir}${span})`;
}

const SHOWN_ELSEWHERE = new Set(['t', 'peer', 'remote', 'kind', 'node']);

/** One event as a row of the event list: what happened, and its other fields. */
export function describeEvent(m: ReplayModel, i: number): { who: string; what: string; detail: string } {
  const t = m.table;
  const c = t.conn[i];
  const who = c >= 0 ? `${m.label(t.peer[i])} → ${m.label(t.connections[c].remote)}` : m.label(t.peer[i]);
  const kind = t.kind[i];
  const fields = eventObject(t, i);
  if (kind === KIND.violation) {
    // The rule it broke as what happened (`violation wire:bad-data`), then what is wrong and the bytes.
    const { check, detail: message, bytes, ...rest } = fields;
    const others = Object.entries(rest).filter(([k]) => !SHOWN_ELSEWHERE.has(k));
    const detail = [typeof message === 'string' ? message : '', ...others.map(([k, v]) => `${k}=${JSON.stringify(v)}`), typeof bytes === 'string' ? `bytes ${bytes}` : ''];
    return { who, what: `violation ${String(check ?? '')}`.trim(), detail: detail.filter(Boolean).join(' · ') };
  }
  const what = kind === KIND.step ? m.nodeId(t.node[i]) : kind === KIND.other ? String(eventObject(t, i).kind) : EVENT_KINDS[kind];
  const detail = Object.entries(fields)
    .filter(([k]) => !SHOWN_ELSEWHERE.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return { who, what, detail };
}
