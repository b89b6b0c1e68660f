// A scenario once every range in its file has been drawn from the seed: concrete numbers only.
// The file format (YAML/JSON, ranges, units) is parsed and checked in sim/scenario/schema.ts;
// this is what the runner (sim/scenario/run.ts) executes. All times are virtual milliseconds, all
// bandwidths bytes per second, all sizes bytes, and random-fault rates events per minute.

import type { EngineSettings } from '../../engine/settings.ts';
import type { Behaviour, LeavePolicy, Role } from '../behaviours.ts';
import type { PeerReport } from '../swarm.ts';
import type { WireViolation } from '../wire-checker.ts';

export interface GroupSpec {
  /** Group name; its peers are labelled name0, name1, … */
  name: string;
  count: number;
  role: Role;
  upload: number;
  download: number;
  /** When the group's peers join. With `joinSpread`, peer i joins at joinAt + i*joinSpread/count. */
  joinAt: number;
  joinSpread?: number;
  leave: LeavePolicy;
  /** One-way latency of this group's hosts, drawn per host in [lo, hi] ms. */
  latency?: [number, number];
  settings?: Partial<EngineSettings>;
  behaviour: Behaviour;
  /** Another BitTorrent client plays this group instead of swarmlab's engine (TCP transport only). */
  client?: ExternalClient;
  /** Its peers join the swarm's DHT (BEP 5). */
  dht?: boolean;
  /** Leechers that start from a magnet link (BEP 9). */
  magnet?: boolean;
}

/** The transports a scenario runs on: the in-memory network on virtual time, or real loopback TCP. */
export const TRANSPORTS = ['memory', 'tcp'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** The built-in adapters for other clients (sim/tcp/clients/). */
export const CLIENT_NAMES = ['aria2', 'libtorrent', 'transmission'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

/** Any other client, as a command (sim/tcp/clients/command.ts runs it). */
export interface CommandClient {
  /** The program and its arguments; placeholders `{torrent} {data} {ip} {port} {tracker} {label} {role}` are filled in. */
  command: string[];
  /** `files` (default): complete once the data folder hashes right; `{ stdout }`: once a line of stdout matches the regex, and the files hash right. */
  done?: 'files' | { stdout: string };
  /** Added to the environment; values take the placeholders too. */
  env?: Record<string, string>;
}

export type ExternalClient = ClientName | CommandClient;

export type FaultSpec =
  // Links — `group` selects the hosts whose links are affected (all when absent).
  | { kind: 'latency'; at: number; until?: number; group?: string; latency: number; jitter?: number }
  | { kind: 'bandwidth'; at: number; until?: number; group: string; upload?: number; download?: number }
  | { kind: 'stall'; at: number; duration: number; group?: string }
  | { kind: 'reset'; at: number; group?: string; count?: number }
  | { kind: 'partition'; at: number; until?: number; between: [string, string]; oneWay?: boolean }
  // Peers
  | { kind: 'crash'; at: number; group: string; count?: number; restartAfter?: number }
  | { kind: 'pause'; at: number; duration: number; group: string; count?: number }
  /** The torrent is paused in the engine (announce stopped, connections closed), resumed after `duration`; `pause` freezes the process instead. */
  | { kind: 'pause-torrent'; at: number; duration: number; group: string; count?: number }
  // Web seeds — `seed` is an index into the scenario's `webSeeds` (all when absent).
  | { kind: 'web-seed-down'; at: number; until?: number; seed?: number }
  | { kind: 'web-seed-corrupt'; at: number; until?: number; seed?: number }
  // Storage
  | { kind: 'disk-full'; at: number; until?: number; group: string }
  | { kind: 'loss'; at: number; until?: number; group?: string; probability: number }
  | { kind: 'corrupt-read'; at: number; until?: number; group: string; probability: number }
  // Tracker
  | { kind: 'tracker-down'; at: number; until?: number }
  | { kind: 'tracker-error'; at: number; until?: number; message?: string }
  | { kind: 'tracker-empty'; at: number; until?: number }
  | { kind: 'tracker-slow'; at: number; until?: number; delay: number }
  // Random-rate faults: events of `fault` drawn as a Poisson process of `rate` per minute between
  // `from` and `until`.
  | { kind: 'random'; rate: number; from: number; until: number; fault: RandomFault };

/** A fault template for random-rate injection; `at` is drawn. */
export type RandomFault =
  | { kind: 'reset'; group?: string }
  | { kind: 'crash'; group: string; restartAfter?: number }
  | { kind: 'stall'; group?: string; duration: number }
  | { kind: 'churn'; group: string }
  /** One honest DHT-only node leaves without a word and a fresh one joins (sim/swarm-dht.ts). */
  | { kind: 'dht-churn' };

export interface Expectations {
  /** Every honest leecher that stays completes by this time (ms); default: the time limit. */
  allComplete?: boolean;
  completeBy?: number;
  /** These peers or groups must be banned by at least one honest peer. */
  banned?: string[];
  /** At most this many pieces fail their hash check, swarm-wide. */
  maxHashFailures?: number;
  /** At least this many honest leechers complete (for scenarios where not all can). */
  minComplete?: number;
  /** Liveness bound: after the last fault heals, stuck leechers must finish within this (ms). */
  settleWithin?: number;
  /** These peers or groups must break no rule of the wire checker (sim/wire-checker.ts). */
  noViolations?: string[];
  /** Swarm-wide duplicate bytes (blocks received that the receiver held already) at most this. */
  maxDuplicateBytes?: Amount;
  /** Group `group`'s median completion at least `by` (a fraction) sooner than group `than`'s. */
  faster?: { group: string; than: string; by: number }[];
  /**
   * The peers outside group `by` hold one full copy of the payload between them, and group `by`
   * had uploaded at most `maxUpload` when they first did (BEP 16's measure of a super-seed).
   */
  firstCopy?: { by: string; maxUpload: Amount };
}

/** A bound relative to the payload (`1%`: `{ fraction: 0.01 }`) or absolute (`64KiB`: `{ bytes: 65536 }`). */
export type Amount = { fraction: number } | { bytes: number };

/** An Amount in bytes, for a payload of `payload` bytes. */
export function amountBytes(a: Amount, payload: number): number {
  return 'bytes' in a ? a.bytes : a.fraction * payload;
}

export interface Scenario {
  name: string;
  /** Absent: in memory. `swarmlab run --transport` overrides it. */
  transport?: Transport;
  /** Where it came from (a file path), for messages. */
  source?: string;
  torrent: { size: number; pieceLength: number; files: number };
  groups: GroupSpec[];
  network: { latency: [number, number] };
  faults: FaultSpec[];
  timeLimit: number;
  /** Tracker announce interval (ms). */
  trackerInterval: number;
  settings?: Partial<EngineSettings>;
  /** Web seeds (BEP 19) in the torrent's url-list: modelled HTTP hosts (sim/web-seed-host.ts). */
  webSeeds?: { upload: number; latency: number }[];
  /** false: no tracker. Absent: one. */
  tracker?: boolean;
  /** DHT-only nodes beside the peers, and misbehaving ones (sim/dht-adversary.ts). */
  dht?: { nodes: number; bogus?: number; sybil?: number; flood?: number };
  expect: Expectations;
  /** Seeds always run by `swarmlab test`, before any extra ones. */
  seeds: string[];
}

export interface Failure {
  /** Which check failed: a safety invariant, liveness, or an expectation. */
  check: string;
  message: string;
  t?: number;
  peer?: string;
}

export interface ScenarioResult {
  name: string;
  /** Absent in memory; 'tcp' for a run on real sockets (sim/tcp/run.ts), which is not byte-replayable. */
  transport?: Transport;
  seed: string;
  ok: boolean;
  failures: Failure[];
  traceHash: string;
  traceEvents: number;
  simTime: number;
  /** `client`: the other client that played the peer (TCP runs), absent for swarmlab's. */
  peers: (PeerReport & { group: string; behaviour: Behaviour; client?: string })[];
  hashFailures: number;
  bans: { by: string; banned: string }[];
  /** What the wire checker found, every peer's (a capped list: the first 100 of the run, 20 per connection). */
  violations: WireViolation[];
  /** All of them, listed or not. */
  violationCount: number;
  /** Every peer's `duplicateBytes` together: blocks received that the receiver held already. */
  duplicateBytes: number;
  /** With `expect.firstCopy`: when the others first held a full copy and what its group had uploaded then (null: never). */
  firstCopy?: { t: number; uploaded: number } | null;
}
