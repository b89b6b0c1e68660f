// A `message` event of a TCP run (a wire message another client sent, decoded by the relay's tap;
// docs/trace-format.md, "TCP runs") as one readable line: "REQUEST 3:0+16384", "HAVE 7",
// "BITFIELD (4 bytes)", "EXTENDED id 0 (212 bytes)". Pure TS: the page and the tests share it.

import type { MessageType } from '../engine/wire.ts';

/** How each message's numbers are written after its name. */
type Form = 'bare' | 'index' | 'block' | 'bytes' | 'extended' | 'port';

/** Every message type the relay traces (keep-alives are left out of the trace). */
const MESSAGE_FORMS = {
  choke: 'bare',
  unchoke: 'bare',
  interested: 'bare',
  'not-interested': 'bare',
  'have-all': 'bare',
  'have-none': 'bare',
  have: 'index',
  suggest: 'index',
  'allowed-fast': 'index',
  request: 'block',
  piece: 'block',
  cancel: 'block',
  reject: 'block',
  bitfield: 'bytes',
  extended: 'extended',
  port: 'port',
} as const satisfies Record<Exclude<MessageType, 'keep-alive'>, Form>;

/** Fields a message's line shows in its own words (the others are listed as key=value). */
const WRITTEN: Record<Form, readonly string[]> = {
  bare: [],
  index: ['index'],
  block: ['index', 'begin', 'length'],
  bytes: ['bytes'],
  extended: ['id', 'bytes'],
  port: ['port'],
};

/** The fields every event has, or that say who sent the message to whom. */
const NOT_THE_MESSAGE = new Set(['t', 'peer', 'remote', 'kind', 'type']);

/**
 * A message event's fields as a line: the type in capitals as the BEPs name it ("NOT_INTERESTED"),
 * then its numbers; a type this reader does not know, or a field it does not expect, still shows
 * (as key=value), so a newer relay's trace reads.
 */
export function describeMessage(fields: Record<string, unknown>): string {
  const type = String(fields.type ?? '?');
  const name = type.toUpperCase().replace(/-/g, '_');
  const form: Form | undefined = Object.hasOwn(MESSAGE_FORMS, type) ? MESSAGE_FORMS[type as keyof typeof MESSAGE_FORMS] : undefined;
  const num = (k: string) => String(fields[k] ?? '?');
  const size = (k: string) => `(${num(k)} ${fields[k] === 1 ? 'byte' : 'bytes'})`;
  const written = form ? WRITTEN[form] : [];
  const rest = Object.entries(fields)
    .filter(([k]) => !NOT_THE_MESSAGE.has(k) && !written.includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const numbers = ((): string => {
    switch (form) {
      case 'index': return num('index');
      case 'block': return `${num('index')}:${num('begin')}+${num('length')}`;
      case 'bytes': return size('bytes');
      case 'extended': return `id ${num('id')} ${size('bytes')}`;
      case 'port': return num('port');
      default: return '';
    }
  })();
  return [name, numbers, ...rest].filter(Boolean).join(' ');
}
