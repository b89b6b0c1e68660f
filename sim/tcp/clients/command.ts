// The `command` adapter: any client, given as a command line with placeholders. It is complete once
// its data folder hashes right (`done: files`, the default), or once a line of its stdout matches
// `done.stdout` and the files hash right. It is taken as started once it listens on ip:port, or
// after it has lived CLIENT_LIMITS.commandGrace without exiting (a client may only dial).

import { accepts, ClientProcess, waitUntilStarted } from './child.ts';
import { findExecutable } from './installed.ts';
import { CLIENT_LIMITS, type ClientContext, ClientStartError, type CommandClientSpec, type RunningClient } from './spec.ts';
import { CompletionCheck } from './verify-files.ts';

export const PLACEHOLDERS = ['torrent', 'data', 'ip', 'port', 'tracker', 'label', 'role'] as const;

/** `text` with each `{name}` of PLACEHOLDERS filled in from `ctx`; other braces stay as they are. */
export function fillPlaceholders(text: string, ctx: ClientContext): string {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    torrent: ctx.torrentFile,
    data: ctx.dataDir,
    ip: ctx.ip,
    port: String(ctx.port),
    tracker: ctx.trackerUrl,
    label: ctx.label,
    role: ctx.role,
  };
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? values[name as keyof typeof values] : whole));
}

export async function startCommand(spec: CommandClientSpec, ctx: ClientContext): Promise<RunningClient> {
  const what = `command for ${ctx.label}`;
  if (!Array.isArray(spec.command) || spec.command.length === 0 || spec.command.some((a) => typeof a !== 'string')) {
    throw new ClientStartError(`${what}: command must be a non-empty list of strings`);
  }
  const [program, ...args] = spec.command.map((a) => fillPlaceholders(a, ctx));
  if (!findExecutable(program)) throw new ClientStartError(`${what}: ${program} is not installed or not executable${program.includes('/') ? '' : ' (not found on PATH)'}`);
  let doneLine: RegExp | undefined;
  if (spec.done !== undefined && spec.done !== 'files') {
    try {
      doneLine = new RegExp(spec.done.stdout);
    } catch (err) {
      throw new ClientStartError(`${what}: done.stdout is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const env = Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, fillPlaceholders(v, ctx)]));
  const p = new ClientProcess({ what, command: program, args, env, workDir: ctx.workDir });
  let said = doneLine === undefined;
  if (doneLine) p.onStdoutLine((line) => (said ||= doneLine.test(line)));
  const born = Date.now();
  await waitUntilStarted(p, async () => Date.now() - born >= CLIENT_LIMITS.commandGrace || (await accepts(ctx.ip, ctx.port, 200)), ctx.startUpTimeout);
  const files = new CompletionCheck(ctx.dataDir, ctx.torrent);
  return {
    label: ctx.label,
    pid: p.pid,
    complete: async () => said && (await files.check()),
    exited: p.exited,
    stop: () => p.stop(),
    stderrTail: (lines) => p.stderrTail(lines),
  };
}
