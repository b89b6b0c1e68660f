// Every fuzz target, in the order the runner runs them.

import type { FuzzTarget } from './target.ts';
import { bencodeTarget } from './targets/bencode.ts';
import { clientTarget } from './targets/client.ts';
import { krpcTarget } from './targets/krpc.ts';
import { magnetTarget } from './targets/magnet.ts';
import { metadataTarget } from './targets/metadata.ts';
import { metainfoTarget } from './targets/metainfo.ts';
import { pexTarget } from './targets/pex.ts';
import { scenarioTarget } from './targets/scenario.ts';
import { storageLayoutTarget } from './targets/storage-layout.ts';
import { trackerHttpTarget } from './targets/tracker-http.ts';
import { trackerUdpTarget } from './targets/tracker-udp.ts';
import { wireTarget } from './targets/wire.ts';

// Each target takes its own input type; the runner only hands a target inputs it generated (or
// saved under its name), so the list erases the type.
export const targets: FuzzTarget<never>[] = [wireTarget, bencodeTarget, metainfoTarget, storageLayoutTarget, metadataTarget, trackerHttpTarget, trackerUdpTarget, magnetTarget, scenarioTarget, clientTarget, pexTarget, krpcTarget].map((t) => t as unknown as FuzzTarget<never>);
