// Bounded child processes for the live tests: each under `timeout`, stopped by PID (SIGTERM, then
// SIGKILL), with its output kept for messages; `swarmlab` itself run the same way. Also free
// ports on 127.0.0.1 and `sleep`.

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SWARMLAB = join(ROOT, 'bin', 'swarmlab.mjs');

export class Proc {
  stdout = '';
  stderr = '';
  code: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve((this.code = code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves when stdout or stderr matches, or rejects after `ms` (a bound, not an assertion of speed). */
  async waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const m = this.stdout.match(re) ?? this.stderr.match(re);
      if (m) return m;
      if (this.code !== undefined) break;
      await sleep(50);
    }
    throw new Error(`${this.name}: no ${re} within ${ms} ms (exit ${this.code})\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-3000)}`);
  }

  /** The exit code, or a rejection after `ms`. */
  async exit(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: still running after ${ms} ms\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-3000)}`)), ms);
    });
    try {
      return await Promise.race([this.exited, bound]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts and stops the processes of one test; every one is bounded by `timeout` and killed by PID. */
export class Procs {
  private readonly all: Proc[] = [];
  /** Folders of the processes (tracker chroot, Transmission config), removed after they stop. */
  readonly dirs: string[] = [];

  spawn(name: string, cmd: string, args: string[], o: { seconds: number; cwd?: string; env?: NodeJS.ProcessEnv }): Proc {
    const child = spawn('timeout', ['-k', '3', String(o.seconds), cmd, ...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new Proc(name, child);
    this.all.push(p);
    return p;
  }

  swarmlab(name: string, args: string[], seconds: number): Proc {
    return this.spawn(name, process.execPath, [SWARMLAB, ...args], { seconds, cwd: ROOT });
  }

  /** Sends SIGTERM to each process still running (by PID), then SIGKILL to any that lingers. */
  async stopAll(): Promise<void> {
    const running = this.all.filter((p) => p.code === undefined);
    for (const p of running) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await Promise.race([Promise.all(running.map((p) => p.exited)), sleep(5_000)]);
    for (const p of running) {
      if (p.code !== undefined) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
