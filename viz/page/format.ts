// How times, rates and events are written on the page.

import { describeMessage } from '../message-text.ts';
import type { ReplayModel } from '../model.ts';
import type { SwarmState } from '../swarm-state.ts';
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
  if (kind === KIND.message) {
    // A wire message another client sent (TCP runs): "REQUEST 3:0+16384" as what happened.
    const [name, ...numbers] = describeMessage(fields).split(' ');
    return { who, what: name, detail: numbers.join(' ') };
  }
  const what = kind === KIND.step ? m.nodeId(t.node[i]) : kind === KIND.other ? String(eventObject(t, i).kind) : EVENT_KINDS[kind];
  const detail = Object.entries(fields)
    .filter(([k]) => !SHOWN_ELSEWHERE.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return { who, what, detail };
}

/** "libtorrent runs no swarmlab engine: …" when a peer is another client, else undefined. */
export function noEngineNote(m: ReplayModel, peer: number): string | undefined {
  const client = m.clientOf(peer);
  return client === undefined ? undefined : `${client} runs no swarmlab engine: its messages are listed, no flowchart steps`;
}

/**
 * A peer for its tooltip: "C0 (other client: libtorrent): progress unknown", "L1: 3/16 pieces",
 * "X0 (adversary: corrupt): claims 16/16 pieces · banned by 3 peers".
 */
export function describePeer(m: ReplayModel, s: SwarmState, peer: number): string {
  const client = m.clientOf(peer);
  const behaviour = m.behaviourOf(peer);
  const name = client !== undefined ? `${m.label(peer)} (other client: ${client})` : behaviour !== undefined ? `${m.label(peer)} (adversary: ${behaviour})` : m.label(peer);
  const pieces = `${s.progress[peer]}/${m.pieces} pieces`;
  const progress = !m.progressKnown(s, peer) ? 'progress unknown until it completes' : behaviour !== undefined ? `claims ${pieces}` : pieces;
  const bans = s.bannedBy[peer];
  const banned = bans > 0 ? ` · banned by ${bans} peer${bans === 1 ? '' : 's'}` : '';
  return `${name}: ${progress}${s.alive[peer] ? '' : ' (not in the swarm)'}${banned}`;
}

/** The page's info line about a trace: its seed and engine, size, torrent; a TCP run and its other clients. */
export function describeTrace(name: string, m: ReplayModel, loadMs: number): string {
  const h = m.table.header;
  const t = h.torrent;
  const replayable = h.settings?.replayable === false ? 'not replayable' : 'replayable';
  const run = m.tcpRun ? ` · TCP run (real time, ${replayable})` : '';
  const clients = m.peers.filter((p) => m.clientOf(p) !== undefined).map((p) => `${m.label(p)} ${m.clientOf(p)}`);
  const others = clients.length ? ` · other clients: ${clients.join(', ')}` : '';
  return `${name} · seed ${h.seed ?? '—'} · engine ${h.engine ?? '—'}${run} · ${m.peers.length} peers${others} · ${m.eventCount.toLocaleString('en')} events${t ? ` · ${t.name}, ${t.pieces} pieces of ${t.pieceLength / 1024} KiB` : ''} · loaded in ${(loadMs / 1000).toFixed(1)} s`;
}
