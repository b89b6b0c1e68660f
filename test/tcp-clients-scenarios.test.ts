// Other clients in scenarios (issue 10, parts 2 and 3): the example files of scenarios/clients/
// with Debian's aria2, libtorrent and Transmission among swarmlab's peers, on TCP through the
// relay; a scripted client that breaks the protocol is caught by the wire checker; a client that
// dies mid-run, or is not installed, is a clear failure, never a hang. Each real client's test
// runs only where it is installed (.ci/run installs them all); every process is stopped by PID.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenarioText } from '../sim/scenario/load.ts';
import type { Scenario } from '../sim/scenario/types.ts';
import { notInstalled } from '../sim/tcp/clients/installed.ts';
import { runScenarioOnTcp, type TcpScenarioResult } from '../sim/tcp/run.ts';
import { SWARMLAB } from './helpers/processes.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const missing = {
  aria2: await notInstalled('aria2'),
  libtorrent: await notInstalled('libtorrent'),
  transmission: await notInstalled('transmission'),
};
const allInstalled = !missing.aria2 && !missing.libtorrent && !missing.transmission;

function scenarioOf(yaml: string): Scenario {
  return loadScenario(parseScenarioText(yaml, 'test.yaml'), '1');
}

async function run(scenario: Scenario): Promise<TcpScenarioResult> {
  const workDir = mkdtempSync(join(tmpdir(), 'swarmlab-clients-'));
  return runScenarioOnTcp(scenario, '1', { workDir });
}

function expectEveryoneComplete(r: TcpScenarioResult): void {
  expect(r.failures, JSON.stringify(r.failures.slice(0, 5))).toEqual([]);
  for (const p of r.peers) {
    if (p.role === 'leecher') expect(p.completedAt, `${p.label} completed`).toBeDefined();
    expect(p.payloadMatches, `${p.label}'s bytes`).toBe(true);
  }
}

describe('other clients in a scenario', () => {
  for (const name of ['aria2', 'libtorrent', 'transmission'] as const) {
    it.skipIf(missing[name] !== undefined)(`${name} leeches among swarmlab's peers (scenarios/clients/${name}.yaml)`, { timeout: 180_000 }, async () => {
      const r = await run(loadScenario(`scenarios/clients/${name}.yaml`, '1'));
      expectEveryoneComplete(r);
      const other = r.peers.find((p) => p.client === name)!;
      expect(other.downloaded).toBeGreaterThanOrEqual(2 * 1024 * 1024);
      // Its output is kept for the user.
      expect(readFileSync(join(r.workDir!, `${other.label}.client`, 'stdout.log'), 'utf8').length + readFileSync(join(r.workDir!, `${other.label}.client`, 'stderr.log'), 'utf8').length).toBeGreaterThan(0);
    });
  }

  it.skipIf(missing.aria2 !== undefined)('a client given as a command (scenarios/clients/command.yaml) completes', { timeout: 180_000 }, async () => {
    expectEveryoneComplete(await run(loadScenario('scenarios/clients/command.yaml', '1')));
  });

  it.skipIf(!allInstalled)(
    'a swarmlab seed, aria2, libtorrent and Transmission leechers and swarmlab leechers, with a partition that heals: every one completes with the right bytes',
    { timeout: 300_000 },
    async () => {
      const r = await run(loadScenario('scenarios/clients/mixed.yaml', '1'));
      expectEveryoneComplete(r);
      expect(r.peers.map((p) => p.client ?? 'swarmlab').sort()).toEqual(['aria2', 'libtorrent', 'swarmlab', 'swarmlab', 'swarmlab', 'swarmlab', 'transmission']);
    },
  );

  it('the wire checker catches a scripted client that requests while choked and sends a piece nobody asked for', { timeout: 120_000 }, async () => {
    const r = await run(
      scenarioOf(`
name: misbehaving
transport: tcp
torrent: { size: 1MiB, pieceLength: 64KiB }
groups:
  - { name: S, role: seed, upload: 256KiB/s }
  - { name: L, count: 2, joinAt: 2s, upload: 256KiB/s }
  - name: M
    role: seed
    client: { command: [node, test/fixtures/clients/misbehaving-peer.mjs, "{torrent}", "{ip}", "{port}", "{tracker}"] }
network: { latency: 5ms }
trackerInterval: 2s
timeLimit: 1min
expect: { noViolations: [M, S, L] }
`),
    );
    const mine = r.violations.filter((v) => v.peer === 'M0');
    const rules = new Set(mine.map((v) => v.rule));
    expect(rules).toContain('request-while-choked');
    expect(rules).toContain('unrequested-piece');
    // Each names the connection and shows the offending bytes (a REQUEST is id 6 after its length).
    const request = mine.find((v) => v.rule === 'request-while-choked')!;
    expect(['S0', 'L0', 'L1']).toContain(request.remote);
    expect(request.bytes.startsWith('0000000d06')).toBe(true);
    // swarmlab's peers broke no rule; `noViolations` fails the run for M alone.
    expect(r.violations.filter((v) => v.peer !== 'M0')).toEqual([]);
    const judged = r.failures.filter((f) => f.check === 'no-violations');
    expect(judged.map((f) => f.peer)).toEqual(['M0']);
    for (const p of r.peers) if (p.role === 'leecher') expect(p.payloadMatches, p.label).toBe(true);
  });

  it('a client that dies mid-run is reported with its exit status, and the run ends', { timeout: 60_000 }, async () => {
    const r = await run(
      scenarioOf(`
name: dies
transport: tcp
torrent: { size: 1MiB, pieceLength: 64KiB }
groups:
  - { name: S, role: seed, upload: 64KiB/s }
  - name: C
    client: { command: [sh, -c, "sleep 3; echo going down >&2; exit 7"] }
timeLimit: 1min
`),
    );
    expect(r.ok).toBe(false);
    const crash = r.failures.find((f) => f.check === 'crash');
    expect(crash?.peer).toBe('C0');
    expect(crash?.message).toMatch(/C0 \(sh\) exited with code 7 during the run: going down/);
    expect(r.simTime).toBeLessThan(30_000);
  });

  it('Ctrl-C ends a TCP run at once and stops the clients it started', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlab-sigint-'));
    const file = join(dir, 'sleeper.yaml');
    const pidFile = join(dir, 'client.pid');
    writeFileSync(
      file,
      `name: sleeper
transport: tcp
torrent: { size: 1MiB, pieceLength: 64KiB }
groups:
  - { name: S, role: seed, upload: 16KiB/s }
  - { name: L, upload: 16KiB/s }
  - name: C
    client: { command: [sh, -c, "echo $$ > ${pidFile}; exec sleep 600"] }
timeLimit: 5min
`,
    );
    const child = spawn(process.execPath, [SWARMLAB, 'run', file, '--trace', join(dir, 'trace.jsonl')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
        if (Date.now() > deadline) throw new Error(`the client never started:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const clientPid = Number(readFileSync(pidFile, 'utf8').trim());
      // Let the start-up wait end (the command counts as started after 2 s).
      await new Promise((r) => setTimeout(r, 2_500));
      const interruptedAt = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      expect(Date.now() - interruptedAt).toBeLessThan(8_000);
      expect(code, out).toBe(130); // interrupted (docs/cli.md's exit codes)
      expect(out).toMatch(/\[interrupted\]/);
      expect(alive(clientPid), `client ${clientPid} still running`).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a client that is not installed is a one-line error naming it, at once', { timeout: 60_000 }, async () => {
    const r = await run(
      scenarioOf(`
name: absent
transport: tcp
torrent: { size: 1MiB, pieceLength: 64KiB }
groups:
  - { name: S, role: seed }
  - name: C
    client: { command: [/nonexistent/bittorrent-client, "{torrent}"] }
timeLimit: 1min
`),
    );
    expect(r.ok).toBe(false);
    const failure = r.failures.find((f) => f.check === 'crash');
    expect(failure?.message).toMatch(/command for C0: \/nonexistent\/bittorrent-client is not installed or not executable/);
    expect(failure?.message.split('\n')).toHaveLength(1);
    expect(r.simTime).toBeLessThan(10_000);
  });
});
