// An announce request as the engine's tracker client makes one, for tests of the tracker adapters
// (live/http-tracker.ts, live/udp-tracker.ts, live/trackers.ts): `started`, 3 bytes left, and
// whatever the test overrides.

import type { AnnounceRequest } from '../../engine/ports.ts';

export const announceRequest = (o: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
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
