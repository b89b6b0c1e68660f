// Every fuzz target, in the order the runner runs them.

import type { FuzzTarget } from './target.ts';
import { bencodeTarget } from './targets/bencode.ts';
import { metadataTarget } from './targets/metadata.ts';
import { metainfoTarget } from './targets/metainfo.ts';
import { storageLayoutTarget } from './targets/storage-layout.ts';
import { wireTarget } from './targets/wire.ts';

export const targets: FuzzTarget<never>[] = [wireTarget, bencodeTarget, metainfoTarget, storageLayoutTarget, metadataTarget].map((t) => t as unknown as FuzzTarget<never>);
