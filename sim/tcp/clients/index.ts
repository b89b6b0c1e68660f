// Other BitTorrent clients as peers of a TCP run: `startClient` picks the adapter for a group's
// `client:` (docs/your-client.md). Each starts the client on its host's IP and port with the
// torrent (a seed with the payload in its data folder, a leecher with an empty one), says when it
// has completed (the files hashed against the torrent), and stops it by PID.

import { startAria2 } from './aria2.ts';
import { startCommand } from './command.ts';
import { startLibtorrent } from './libtorrent.ts';
import { CLIENT_NAMES, type ClientContext, type ClientName, type ClientSpec, ClientStartError, type RunningClient } from './spec.ts';
import { startTransmission } from './transmission.ts';

export { CLIENT_LIMITS, CLIENT_NAMES, type ClientContext, type ClientName, type ClientSpec, ClientStartError, type CommandClientSpec, type RunningClient } from './spec.ts';
export { verifyFiles, type VerifyResult } from './verify-files.ts';

const ADAPTERS = {
  aria2: startAria2,
  libtorrent: startLibtorrent,
  transmission: startTransmission,
} as const satisfies Record<ClientName, (ctx: ClientContext) => Promise<RunningClient>>;

/** Starts the client; a ClientStartError if it is not installed or does not start (bounded in time). */
export function startClient(spec: ClientSpec, ctx: ClientContext): Promise<RunningClient> {
  if (typeof spec !== 'string') return startCommand(spec, ctx);
  if (!(CLIENT_NAMES as readonly string[]).includes(spec)) {
    return Promise.reject(new ClientStartError(`${ctx.label}: unknown client ${JSON.stringify(spec)}: one of ${CLIENT_NAMES.join(', ')}, or { command: [...] }`));
  }
  return ADAPTERS[spec](ctx);
}
