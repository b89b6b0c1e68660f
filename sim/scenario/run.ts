// Runs one resolved scenario under one seed: builds the swarm, schedules the faults, watches the
// safety invariants, then judges liveness and the scenario's expectations.

import type { PlantedBug } from '../../engine/test-hooks.ts';
import { type Behaviour, isHonest, type Role } from '../behaviours.ts';
import { type PeerGroup, type RunSlices, Swarm, type SwarmOptions, type SwarmResult } from '../swarm.ts';
import { FaultInjector } from './faults.ts';
import { InvariantChecker } from './invariants.ts';
import { amountBytes, type Failure, type Scenario, type ScenarioResult } from './types.ts';
import { FirstCopyWatch } from './first-copy.ts';
import { traceFailures } from './failure-trace.ts';
import type { AdversaryStarter } from '../swarm.ts';
import { swarmAdversaries } from '../adversary.ts';
import { memoryProblems, TransportError } from './transport.ts';
import { SwarmWireChecks } from '../wire-checks.ts';
import type { WireViolationLog } from '../wire-checker.ts';

export interface RunOptions {
  traceOut?: (text: string) => void;
  /** TEST ONLY: plant a known engine bug (engine/test-hooks.ts). */
  plantedBug?: PlantedBug;
  /** Malicious peers; the default is sim/adversary.ts. */
  adversaries?: AdversaryStarter;
  /** Sees the built swarm before it runs (`swarmlab experiment` samples it over virtual time). */
  observe?: (swarm: Swarm) => void;
}

export function swarmOptionsOf(s: Scenario, seed: string, o: RunOptions = {}): { options: SwarmOptions; groups: Map<string, PeerGroup> } {
  const groups = new Map<string, PeerGroup>();
  for (const g of s.groups) {
    groups.set(g.name, {
      prefix: g.name,
      count: g.count,
      role: g.role,
      upload: g.upload,
      download: g.download,
      joinAt: g.joinAt,
      joinSpread: g.joinSpread,
      leave: g.leave,
      latency: g.latency,
      settings: g.settings,
      behaviour: g.behaviour,
      ...(g.dht ? { dht: true } : {}),
      ...(g.magnet ? { magnet: true } : {}),
    });
  }
  const options: SwarmOptions = {
    seed,
    groups: [...groups.values()],
    size: s.torrent.size,
    pieceLength: s.torrent.pieceLength,
    files: s.torrent.files,
    latency: s.network.latency,
    timeLimit: s.timeLimit,
    trackerInterval: s.trackerInterval,
    settings: { ...s.settings },
    ...(s.webSeeds?.length ? { webSeeds: s.webSeeds } : {}),
    ...(s.tracker === false ? { tracker: false } : {}),
    ...(s.dht ? { dht: s.dht } : {}),
    ...(o.plantedBug ? { testHooks: { plantedBug: o.plantedBug } } : {}),
    traceOut: o.traceOut,
  };
  return { options, groups };
}

export function runResolvedScenario(scenario: Scenario, seed: string, o: RunOptions = {}): ScenarioResult {
  const run = prepareRun(scenario, seed, o);
  return run.result(run.swarm.run(run.stopWhen, run.judge));
}

/**
 * As runResolvedScenario, giving the event loop a turn now and then (Swarm.runInSlices). A run
 * that `slices.interrupted` ends early fails with check `interrupted`, traced as its last
 * `failure` event: the trace says it is partial.
 */
export async function runResolvedScenarioInSlices(scenario: Scenario, seed: string, o: RunOptions, slices: RunSlices): Promise<ScenarioResult> {
  const run = prepareRun(scenario, seed, o, slices.interrupted);
  return run.result(await run.swarm.runInSlices(run.stopWhen, run.judge, slices));
}

/** The failure of a run stopped by Ctrl-C (its trace's last `failure` event). */
export function interruptedFailure(t: number): Failure {
  return { check: INTERRUPTED, message: `interrupted at ${(t / 1000).toFixed(2)} s of virtual time; the run and its trace are partial` };
}

export const INTERRUPTED = 'interrupted';

function prepareRun(scenario: Scenario, seed: string, o: RunOptions, interrupted: () => boolean = () => false) {
  const problems = memoryProblems(scenario);
  if (problems.length > 0) throw new TransportError('memory', problems);
  const { options, groups } = swarmOptionsOf(scenario, seed, o);
  const swarm = new Swarm(options, o.adversaries ?? swarmAdversaries);
  const faults = new FaultInjector(swarm, groups);
  faults.schedule(scenario.faults);
  const checker = new InvariantChecker(swarm, swarm.network);
  const wire = new SwarmWireChecks(swarm);
  const firstCopy = scenario.expect.firstCopy ? new FirstCopyWatch(swarm, scenario.expect.firstCopy.by) : undefined;
  o.observe?.(swarm);
  // Run on past the last fault's heal even when everyone is done, so late faults are exercised.
  const stopWhen = () => swarm.scheduler.now() >= faults.lastHeal && swarm.allLeechersDone();
  const failures: Failure[] = [];
  // The verdict is judged once the peers have stopped and traced as the trace's last lines.
  const judgeRun = () => {
    failures.push(...checker.violations);
    if (checker.violationCount > checker.violations.length) {
      failures.push({ check: 'safety', message: `${checker.violationCount - checker.violations.length} more violations not listed` });
    }
    failures.push(...judge(scenario, swarm, faults.lastHeal, checker), ...judgeWire(scenario, swarm, wire.log), ...judgeFirstCopy(scenario, firstCopy));
    if (interrupted()) failures.push(interruptedFailure(swarm.scheduler.now()));
    traceFailures(swarm.traceSink, swarm.scheduler.now(), failures);
  };
  const result = (result: SwarmResult): ScenarioResult => {
    const peers = swarm.peers.map((p, i) => ({ ...result.peers[i], group: p.group.prefix, behaviour: p.behaviour }));
    return scenarioResult({ scenario, seed, failures, run: result, peers, checker, wire: wire.log, firstCopy });
  };
  return { swarm, stopWhen, judge: judgeRun, result };
}

/** A run's result, from what its runner measured (both transports). */
export function scenarioResult(o: {
  scenario: Scenario;
  seed: string;
  failures: Failure[];
  run: { traceHash: string; traceEvents: number; simTime: number };
  peers: ScenarioResult['peers'];
  checker: Pick<InvariantChecker, 'bans' | 'hashFailures'>;
  wire: { readonly list: ScenarioResult['violations']; readonly count: number };
  firstCopy: FirstCopyWatch | undefined;
}): ScenarioResult {
  return {
    name: o.scenario.name,
    seed: o.seed,
    ok: o.failures.length === 0,
    failures: o.failures,
    traceHash: o.run.traceHash,
    traceEvents: o.run.traceEvents,
    simTime: o.run.simTime,
    peers: o.peers,
    hashFailures: o.checker.hashFailures,
    bans: o.checker.bans,
    violations: o.wire.list,
    violationCount: o.wire.count,
    duplicateBytes: o.peers.reduce((sum, p) => sum + p.duplicateBytes, 0),
    ...(o.firstCopy ? { firstCopy: o.firstCopy.reached ?? null } : {}),
  };
}

export function judgeFirstCopy(s: Scenario, watch: FirstCopyWatch | undefined): Failure[] {
  const e = s.expect.firstCopy;
  if (!e || !watch) return [];
  const bound = amountBytes(e.maxUpload, s.torrent.size);
  const share = (bytes: number) => `${((100 * bytes) / s.torrent.size).toFixed(1)} % of the payload`;
  if (!watch.reached) {
    return [{ check: 'first-copy', message: `the peers outside ${e.by} never held a full copy between them (${e.by} uploaded ${share(watch.uploaded())})` }];
  }
  if (watch.reached.uploaded <= bound) return [];
  return [
    {
      check: 'first-copy',
      t: watch.reached.t,
      message: `${e.by} had uploaded ${share(watch.reached.uploaded)} when the others first held a full copy, expected at most ${share(bound)}`,
    },
  ];
}

/** `expect.noViolations`: each peer it names (or each peer of a group it names) broke no wire rule. */
export function judgeWire(s: Scenario, swarm: { readonly peers: readonly JudgedPeer[] }, log: WireViolationLog): Failure[] {
  const failures: Failure[] = [];
  for (const name of s.expect.noViolations ?? []) {
    const targets = swarm.peers.filter((p) => p.label === name || p.group.prefix === name);
    if (targets.length === 0) failures.push({ check: 'no-violations', message: `expect.noViolations names '${name}', which is no peer or group` });
    for (const p of targets) {
      const found = log.byPeer.get(p.label);
      if (!found || found.count === 0) continue;
      const rules = [...found.rules].map(([rule, n]) => `${rule} ×${n}`).join(', ');
      const first = found.first;
      failures.push({
        check: 'no-violations',
        peer: p.label,
        ...(first ? { t: first.t } : {}),
        message: `${p.label} broke the wire protocol ${found.count} time${found.count === 1 ? '' : 's'} (${rules})${first ? `; first, to ${first.remote}: [${first.rule}] ${first.message}` : ''}`,
      });
    }
  }
  return failures;
}

/** A peer as the judge sees it, on either transport. */
export interface JudgedPeer {
  readonly label: string;
  readonly role: Role;
  readonly behaviour: Behaviour;
  readonly group: { readonly prefix: string };
  readonly down: boolean;
  readonly leftAt?: number;
  readonly joinedAt: number;
  readonly completedAt?: number;
  /** The engine, for a swarmlab peer; absent for another client. */
  readonly client?: { readonly pieces: { readonly have: { has(i: number): boolean; readonly size: number } }; readonly duplicateBytes: number };
}

/** Liveness and the scenario's own expectations (both transports). */
export function judge(s: Scenario, swarm: { readonly peers: readonly JudgedPeer[]; readonly torrent: { readonly pieceCount: number } }, lastHeal: number, checker: Pick<InvariantChecker, 'bans' | 'hashFailures'>): Failure[] {
  const failures: Failure[] = [];
  const e = s.expect;
  const deadline = Math.min(s.timeLimit, e.completeBy ?? Infinity, e.settleWithin !== undefined ? lastHeal + e.settleWithin : Infinity);
  const honestLeechers = swarm.peers.filter((p) => p.role === 'leecher' && isHonest(p.behaviour));
  const stayed = honestLeechers.filter((p) => p.leftAt === undefined || p.completedAt !== undefined);
  if (e.allComplete !== false && e.minComplete === undefined) {
    const available = availablePieces(swarm);
    // With no source at all, nothing was ever lost: every leecher is held to the payload.
    const hadSource = s.groups.some((g) => g.role === 'seed' && g.count > 0 && isHonest(g.behaviour)) || (s.webSeeds?.length ?? 0) > 0;
    for (const p of stayed) {
      if (p.completedAt !== undefined && p.completedAt <= deadline) continue;
      const missing = missingPieces(p);
      const unreachable = missing.filter((i) => !available.has(i));
      // A leecher that cannot reach the whole payload any more (its holders left) is not held to it.
      if (hadSource && unreachable.length > 0 && p.completedAt === undefined) continue;
      const when = p.completedAt === undefined ? 'never completed' : `completed at ${fmt(p.completedAt)}, after the bound`;
      failures.push({
        check: 'liveness',
        peer: p.label,
        t: deadline,
        message: `${p.label} ${when} (bound ${fmt(deadline)}); missing ${missing.length} pieces${missing.length ? `: ${list(missing)}` : ''}`,
      });
    }
  }
  if (e.minComplete !== undefined) {
    const done = stayed.filter((p) => p.completedAt !== undefined && p.completedAt <= deadline).length;
    if (done < e.minComplete) failures.push({ check: 'min-complete', message: `${done} leechers completed by ${fmt(deadline)}, expected at least ${e.minComplete}` });
  }
  for (const name of e.banned ?? []) {
    const targets = swarm.peers.filter((p) => p.label === name || p.group.prefix === name).map((p) => p.label);
    const banned = targets.filter((t) => checker.bans.some((b) => b.banned === t));
    if (targets.length === 0) failures.push({ check: 'banned', message: `expect.banned names '${name}', which is no peer or group` });
    else if (banned.length < targets.length) {
      const notBanned = targets.filter((t) => !banned.includes(t));
      failures.push({ check: 'banned', message: `${list(notBanned)} never banned by an honest peer` });
    }
  }
  if (e.maxHashFailures !== undefined && checker.hashFailures > e.maxHashFailures) {
    failures.push({ check: 'hash-failures', message: `${checker.hashFailures} pieces failed their hash check, expected at most ${e.maxHashFailures}` });
  }
  failures.push(...judgeDuplicates(s, swarm.peers), ...judgeFaster(s, swarm.peers));
  return failures;
}

/** `expect.maxDuplicateBytes`: the swarm's duplicate bytes, every swarmlab peer's together. */
export function judgeDuplicates(s: Scenario, peers: readonly JudgedPeer[]): Failure[] {
  const bound = s.expect.maxDuplicateBytes;
  if (!bound) return [];
  const total = peers.reduce((sum, p) => sum + (p.client?.duplicateBytes ?? 0), 0);
  const max = amountBytes(bound, s.torrent.size);
  if (total <= max) return [];
  const worst = [...peers].sort((a, b) => (b.client?.duplicateBytes ?? 0) - (a.client?.duplicateBytes ?? 0)).slice(0, 3);
  const share = (bytes: number) => `${((100 * bytes) / s.torrent.size).toFixed(2)} %`;
  return [
    {
      check: 'duplicate-bytes',
      message: `${total} duplicate bytes (${share(total)} of the payload), expected at most ${Math.floor(max)} (${share(max)}); most: ${worst.map((p) => `${p.label} ${p.client?.duplicateBytes ?? 0}`).join(', ')}`,
    },
  ];
}

/**
 * `expect.faster`: group A's median download time (join to completion; never completed counts as
 * endless) at least `by` shorter than group B's.
 */
export function judgeFaster(s: Scenario, peers: readonly JudgedPeer[]): Failure[] {
  const failures: Failure[] = [];
  for (const f of s.expect.faster ?? []) {
    const [a, b] = [medianDownloadTime(peers, f.group), medianDownloadTime(peers, f.than)];
    if (a === undefined || b === undefined) {
      failures.push({ check: 'faster', message: `expect.faster names group '${a === undefined ? f.group : f.than}', which has no peers` });
      continue;
    }
    const limit = (1 - f.by) * b;
    if (a <= limit && a !== Infinity) continue;
    const show = (ms: number) => (ms === Infinity ? 'never (the median peer did not complete)' : fmt(ms));
    failures.push({
      check: 'faster',
      message: `group ${f.group}'s median download took ${show(a)}, group ${f.than}'s ${show(b)}: expected ${f.group} at least ${Math.round(f.by * 100)} % sooner (at most ${show(limit)})`,
    });
  }
  return failures;
}

/** The median of the group's download times (the lower middle one for an even count); undefined for no peers. */
export function medianDownloadTime(peers: readonly JudgedPeer[], group: string): number | undefined {
  const times = peers
    .filter((p) => p.group.prefix === group)
    .map((p) => (p.completedAt === undefined ? Infinity : p.completedAt - p.joinedAt))
    .sort((x, y) => x - y);
  return times.length === 0 ? undefined : times[Math.floor((times.length - 1) / 2)];
}

/** Pieces held by some honest peer that is up now (another client's seed holds them all). */
function availablePieces(swarm: { readonly peers: readonly JudgedPeer[]; readonly torrent: { readonly pieceCount: number } }): Set<number> {
  const have = new Set<number>();
  for (const p of swarm.peers) {
    if (!isHonest(p.behaviour) || p.down || p.leftAt !== undefined) continue;
    const holds = p.client ? (i: number) => p.client!.pieces.have.has(i) : p.role === 'seed' ? () => true : undefined;
    if (!holds) continue;
    for (let i = 0; i < swarm.torrent.pieceCount; i++) if (holds(i)) have.add(i);
  }
  return have;
}

function missingPieces(p: { client?: { pieces: { have: { has(i: number): boolean; size: number } } } }): number[] {
  const have = p.client?.pieces.have;
  if (!have) return [];
  const out: number[] = [];
  for (let i = 0; i < have.size; i++) if (!have.has(i)) out.push(i);
  return out;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const list = (xs: (number | string)[]) => (xs.length > 12 ? `${xs.slice(0, 12).join(', ')}, … (${xs.length})` : xs.join(', '));

