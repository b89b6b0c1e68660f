// Getting a trace's bytes into the page: from the report itself (inlined, base64, gzip-compressed
// when large), from a file picked or dropped (plain or .gz). Decompression uses the browser's
// DecompressionStream, so nothing is fetched.

export const INLINE_TRACE_ID = 'swarmlab-trace';

export interface LoadedTrace {
  name: string;
  bytes: Uint8Array;
}

/** The trace inlined in the report, if there is one. */
export async function inlineTrace(): Promise<LoadedTrace | undefined> {
  const holder = document.getElementById(INLINE_TRACE_ID);
  if (!holder) return undefined;
  const encoding = holder.dataset.encoding ?? 'base64';
  const raw = fromBase64((holder.textContent ?? '').trim());
  holder.remove(); // tens of MB of text the page no longer needs
  const bytes = encoding === 'gzip+base64' ? await gunzip(raw) : raw;
  return { name: holder.dataset.name ?? 'trace.jsonl', bytes };
}

export async function fileTrace(file: File): Promise<LoadedTrace> {
  const raw = new Uint8Array(await file.arrayBuffer());
  const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
  return { name: file.name, bytes: gzipped ? await gunzip(raw) : raw };
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
