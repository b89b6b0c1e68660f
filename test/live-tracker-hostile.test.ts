// Hostile trackers and hostile callbacks in live mode (issue 8), on 127.0.0.1: tracker replies as
// large as the body limit allows, a tracker that never answers while we stop, an engine callback
// that throws inside an IO callback. Every server and process started here is stopped by handle or PID.

import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { bencodeValue } from '../engine/bdecode.ts';
import type { AnnounceRequest, AnnounceResult } from '../engine/ports.ts';
import { parseAnnounceReply } from '../live/tracker-reply.ts';
import { Trackers } from '../live/trackers.ts';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const request = (o: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: new Uint8Array(20).fill(0xab),
  peerId: new TextEncoder().encode('-SL0100-abcdefghijkl'),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 3,
  event: 'started',
  numWant: 50,
  ...o,
});

/** An HTTP tracker on 127.0.0.1 that answers every request with `handler`. */
async function httpTracker(handler: (res: ServerResponse) => void): Promise<string> {
  const server = createHttpServer((_req, res) => handler(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  closers.push(() => void server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`;
}

/** `count` distinct compact peers (IPv4 10.x.y.z, 6 bytes each; IPv6 2000::x:y, 18), port 6881. */
function compactPeers(count: number, ipv6 = false): Uint8Array {
  const size = ipv6 ? 18 : 6;
  const bytes = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    bytes[at] = ipv6 ? 0x20 : 10;
    // The peer's number in the last three bytes of the address.
    bytes[at + size - 5] = (i >>> 16) & 0xff;
    bytes[at + size - 4] = (i >>> 8) & 0xff;
    bytes[at + size - 3] = i & 0xff;
    bytes[at + size - 2] = 0x1a; // port 6881
    bytes[at + size - 1] = 0xe1;
  }
  return bytes;
}

describe('tracker replies of any size up to the body limit', () => {
  it('a compact list of 174,000 peers (1 MB, just under the 1 MiB limit) over HTTP parses and every peer is handed on', async () => {
    const count = 174_000;
    const body = bencodeValue({ interval: 1800, peers: compactPeers(count) });
    expect(body.length).toBeLessThan(1 << 20);
    const url = await httpTracker((res) => res.end(Buffer.from(body)));
    const trackers = new Trackers([[url]]);
    const result = await new Promise<AnnounceResult>((resolve) => trackers.announce(request(), resolve));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.peers).toHaveLength(count);
    expect(result.peers[0]).toEqual({ host: '10.0.0.0', port: 6881 });
    expect(result.peers[count - 1]).toEqual({ host: `10.${(count - 1) >>> 16}.${((count - 1) >>> 8) & 0xff}.${(count - 1) & 0xff}`, port: 6881 });
  });

  it('peers6 (BEP 7) of 150,000 peers parses too, after the IPv4 list, in order', () => {
    const count = 150_000;
    const result = parseAnnounceReply(bencodeValue({ interval: 1800, peers: compactPeers(2), peers6: compactPeers(count, true) }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.peers).toHaveLength(2 + count);
    expect(result.peers[2]).toEqual({ host: '2000:0:0:0:0:0:0:0', port: 6881 });
    expect(result.peers[2 + count - 1].host).toBe(`2000:0:0:0:0:0:${((count - 1) >>> 16).toString(16)}:${((count - 1) & 0xffff).toString(16)}`);
  });

  it('a reply nested deeper than the decoder allows is a clear error, not a stack overflow', () => {
    const depth = 200_000;
    const body = new TextEncoder().encode(`d8:intervali1800e5:peers${'l'.repeat(depth)}${'e'.repeat(depth)}e`);
    const result = parseAnnounceReply(body);
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/not bencoded: .*nested deeper than 64/) });
  });
});
