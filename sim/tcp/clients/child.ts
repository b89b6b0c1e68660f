// One external client's process: spawned in its own process group, its stdout and stderr written
// to its work folder (stdout.log, stderr.log, bounded) with stderr's last lines kept for messages,
// stdout's lines offered to the adapter, and stopped by its id: SIGTERM to the group, SIGKILL after
// the grace. The start-up wait every adapter shares: ready, or a ClientStartError — never a hang.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { CLIENT_LIMITS, ClientStartError } from './spec.ts';

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export interface ClientProcessOptions {
  /** Names it in messages: `aria2 for A0`. */
  what: string;
  command: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** stdout.log and stderr.log go here. */
  workDir: string;
}

/**
 * Every client process still running, killed if this process exits without stopping them. A client
 * runs in its own process group, so a terminal's Ctrl-C does not reach it: on SIGINT, SIGTERM or
 * SIGHUP that nobody else handles, the clients are killed and the signal raised again (its default
 * action, the exit, as if we were not listening). A program that handles the signal itself (the
 * TCP runner) stops its clients itself.
 */
const running = new Set<ClientProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const p of running) p.killNow();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      killAll();
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** A log file that stops growing at CLIENT_LIMITS.logBytes. */
class BoundedLog {
  private written = 0;
  private readonly stream: WriteStream;

  constructor(path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', () => {
      // A full disk must not end the run; the log is only a record.
    });
  }

  write(chunk: Buffer): void {
    if (this.written >= CLIENT_LIMITS.logBytes) return;
    const room = CLIENT_LIMITS.logBytes - this.written;
    this.stream.write(chunk.length <= room ? chunk : chunk.subarray(0, room));
    this.written += Math.min(chunk.length, room);
    if (this.written >= CLIENT_LIMITS.logBytes) this.stream.write(`\n[swarmlab: log stopped at ${CLIENT_LIMITS.logBytes} bytes]\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

export class ClientProcess {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  exitStatus: ExitStatus | undefined;
  /** Set when the program could not be run at all (spawn's error). */
  spawnError: string | undefined;
  private stderrText = '';
  private stdoutPartial = '';
  private readonly lineListeners: ((line: string) => void)[] = [];
  private readonly child: ChildProcess;
  private readonly logs: BoundedLog[];
  private stopping: Promise<void> | undefined;
  /** Resolves when stdout and stderr have both ended (or soon after the exit, if a grandchild holds them). */
  private readonly drained: Promise<void>;

  constructor(readonly o: ClientProcessOptions) {
    mkdirSync(o.workDir, { recursive: true });
    const out = new BoundedLog(join(o.workDir, 'stdout.log'));
    const err = new BoundedLog(join(o.workDir, 'stderr.log'));
    this.logs = [out, err];
    // Its own process group: stop() reaches what it started too (a shell's children).
    this.child = spawn(o.command, o.args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.pid = this.child.pid ?? -1;
    let ended = 0;
    let markDrained: () => void = () => {};
    this.drained = new Promise((r) => (markDrained = r));
    const end = () => ++ended === 2 && markDrained();
    this.child.stdout!.on('data', (d: Buffer) => {
      out.write(d);
      this.takeStdout(d.toString('utf8'));
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      err.write(d);
      this.stderrText = (this.stderrText + d.toString('utf8')).slice(-CLIENT_LIMITS.tailBytes);
    });
    this.child.stdout!.on('close', end);
    this.child.stderr!.on('close', end);
    this.exited = new Promise((resolve) => {
      const done = (status: ExitStatus) => {
        if (this.exitStatus) return;
        this.exitStatus = status;
        running.delete(this);
        resolve(status);
      };
      this.child.on('exit', (code, signal) => done({ code, signal }));
      this.child.on('error', (e) => {
        this.spawnError = e.message;
        this.stderrText += `${e.message}\n`;
        markDrained();
        done({ code: null, signal: null });
      });
    });
    if (this.child.pid !== undefined) {
      running.add(this);
      installExitHook();
    }
  }

  /** Calls `fn` with each whole line of stdout from now on. */
  onStdoutLine(fn: (line: string) => void): void {
    this.lineListeners.push(fn);
  }

  private takeStdout(text: string): void {
    const lines = (this.stdoutPartial + text).split('\n');
    this.stdoutPartial = lines.pop()!.slice(-CLIENT_LIMITS.maxLineBytes);
    for (const line of lines) for (const fn of this.lineListeners) fn(line.slice(0, CLIENT_LIMITS.maxLineBytes));
  }

  /** The last `lines` lines of stderr (the tail kept in memory). */
  stderrTail(lines: number = CLIENT_LIMITS.errorTailLines): string {
    const all = this.stderrText.replace(/\n+$/, '').split('\n');
    return all.slice(-lines).join('\n');
  }

  /** Waits (briefly) until what the process wrote is read: its last stderr line, for a message. */
  async settled(): Promise<void> {
    await Promise.race([this.drained, new Promise((r) => setTimeout(r, 500))]);
  }

  /** SIGTERM to its group, SIGKILL after CLIENT_LIMITS.stopGrace; the logs closed. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.pid > 0 && !this.exitStatus) {
        this.signal('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, CLIENT_LIMITS.stopGrace)))]);
        clearTimeout(timer);
      }
      // What is left of the group (the leader, or children it left behind) goes now.
      if (this.pid > 0) this.signal('SIGKILL');
      if (this.pid > 0) await this.exited;
      await this.settled();
      await Promise.all(this.logs.map((l) => l.close()));
    })();
    return this.stopping;
  }

  /** SIGKILL at once, synchronously (the process is exiting). */
  killNow(): void {
    if (this.pid > 0) this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch {
      // The group is gone; the leader alone, in case it left the group.
      try {
        if (!this.exitStatus) process.kill(this.pid, sig);
      } catch {
        // already gone
      }
    }
  }
}

/** Whether something accepts a TCP connection at ip:port (closed at once). */
export function accepts(ip: string, port: number, timeout = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const finish = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeout, () => finish(false));
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
    s.connect({ host: ip, port });
  });
}

/**
 * Waits until `ready()` says true. The process exiting first, or the bound passing, stops it and
 * is a ClientStartError with the last lines of its stderr.
 */
export async function waitUntilStarted(p: ClientProcess, ready: () => Promise<boolean>, timeout: number = CLIENT_LIMITS.startUpTimeout): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (p.exitStatus) return failStart(p, p.spawnError ? `could not be run: ${p.spawnError}` : `exited with ${describeExit(p.exitStatus)} during start-up`);
    let ok = false;
    try {
      ok = await ready();
    } catch {
      ok = false;
    }
    if (ok && !p.exitStatus) return;
    if (Date.now() > deadline) return failStart(p, `did not start within ${Math.round(timeout / 1000)} s`);
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 100))]);
  }
}

async function failStart(p: ClientProcess, why: string): Promise<never> {
  await p.stop();
  const tail = p.stderrTail();
  const lastLine = tail.split('\n').filter((l) => l.trim() !== '').pop();
  throw new ClientStartError(`${p.o.what}: ${why}${lastLine ? `: ${lastLine.trim().slice(0, 300)}` : ''}`, tail);
}

export function describeExit(s: ExitStatus): string {
  return s.signal ? `signal ${s.signal}` : `code ${s.code}`;
}
