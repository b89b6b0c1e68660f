// Parsing of announce replies shared by the HTTP tracker: BEP 3 dictionaries, BEP 23 compact peer
// lists, BEP 7 `peers6`, and the fields mainstream trackers add (`min interval`, `tracker id`,
// `warning message`). Garbage gives an error result, never a throw. Lenient where libtorrent is:
// a missing or malformed `interval` is left out (the tracker client uses its default, 1800 s).

/** Longest `warning message` or `tracker id` kept (a tracker's text is shown and echoed, not stored whole). */
const MAX_TEXT = 1024;

import { asBytes, asInt, asText, type BValue, bdecode, isDict } from '../engine/bdecode.ts';
import { readCompactAddress } from '../engine/compact-address.ts';
import type { AnnouncePeer, AnnounceResult } from '../engine/ports.ts';

/**
 * Appends the peers of a compact list (BEP 23: 4-byte IPv4 + port; BEP 7: 16-byte IPv6 + port)
 * to `peers`, one at a time: a list of 125,000 peers must not go through an argument spread.
 */
export function parseCompactPeers(bytes: Uint8Array, ipv6 = false, peers: AnnouncePeer[] = []): AnnouncePeer[] {
  const ipLength = ipv6 ? 16 : 4;
  for (let i = 0; i + ipLength + 2 <= bytes.length; i += ipLength + 2) {
    const peer = readCompactAddress(bytes, i, ipLength);
    if (peer.port > 0) peers.push(peer);
  }
  return peers;
}

/** Turns the body of an HTTP announce reply into a result. */
export function parseAnnounceReply(body: Uint8Array): AnnounceResult {
  let reply: BValue;
  try {
    reply = bdecode(body);
  } catch (err) {
    return { ok: false, error: `tracker reply is not bencoded: ${(err as Error).message}` };
  }
  if (!isDict(reply)) return { ok: false, error: 'tracker reply is not a dictionary' };
  const failure = asText(reply['failure reason']);
  if (failure !== undefined) return { ok: false, error: `tracker failure: ${failure}` };
  const interval = asInt(reply.interval);
  const peers: AnnouncePeer[] = [];
  const raw = reply.peers;
  if (raw instanceof Uint8Array) {
    if (raw.length % 6 !== 0) return { ok: false, error: `compact peer list of ${raw.length} bytes is not a multiple of 6` };
    parseCompactPeers(raw, false, peers);
  } else if (Array.isArray(raw)) {
    for (const p of raw) {
      if (!isDict(p)) continue;
      const ip = asText(p.ip);
      const port = asInt(p.port);
      if (!ip || port === undefined || port <= 0 || port > 0xffff) continue;
      const id = asBytes(p['peer id']);
      peers.push(id && id.length === 20 ? { host: ip, port, peerId: id } : { host: ip, port });
    }
  } else if (raw !== undefined) {
    return { ok: false, error: 'tracker reply: peers is neither a string nor a list' };
  }
  const raw6 = reply.peers6;
  if (raw6 instanceof Uint8Array) parseCompactPeers(raw6, true, peers);
  // BEP 3 lists only `interval`; `min interval` is the common extension (and a bad one is ignored).
  const minInterval = asInt(reply['min interval']);
  const complete = asInt(reply.complete);
  const incomplete = asInt(reply.incomplete);
  const warning = asText(reply['warning message']);
  const trackerId = asBytes(reply['tracker id']);
  return {
    ok: true,
    ...(interval !== undefined && interval >= 0 ? { interval } : {}),
    ...(minInterval !== undefined && minInterval >= 0 ? { minInterval } : {}),
    peers,
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
    // Shown on a terminal: control characters become spaces.
    ...(warning ? { warning: warning.slice(0, MAX_TEXT).replace(/[\u0000-\u001f\u007f]/g, ' ') } : {}),
    // An id too long to echo in a URL is not one a real tracker sends: it is dropped, not cut.
    ...(trackerId && trackerId.length > 0 && trackerId.length <= MAX_TEXT ? { trackerId: trackerId.slice() } : {}),
  };
}
