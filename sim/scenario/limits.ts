// Limits on scenario files and on the values in them. A scenario file is input like any other: a
// value past one of these is an error naming the limit (with the file's line and column), never a
// run that eats all memory or never ends. Engine settings have their own table, SETTING_LIMITS in
// engine/settings.ts. docs/scenarios.md lists all of them.

// Plain numbers, not units.ts's constants: units.ts checks durations against this table.
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const HOUR = 3_600_000;

export interface Limit {
  readonly value: number;
  /** Why this value: what it protects, or what other tools do. */
  readonly why: string;
}

export const SCENARIO_LIMITS = {
  // ---- the file itself ----
  fileBytes: { value: 256 * KiB, why: 'about 100 times the largest example scenario; the YAML parser is linear, so this bounds load time' },
  nesting: { value: 32, why: 'the deepest scenario structure is 5 levels; parsers and converters recurse once per level' },
  aliasExpansion: { value: 100, why: "the yaml package's default maxAliasCount, against alias bombs (billion laughs)" },
  nameLength: { value: 200, why: 'a name becomes part of file names (trace, shrunk scenario, replay page); most filesystems allow 255 bytes' },
  problemsShown: { value: 20, why: 'a file with hundreds of faults is one mistake repeated; the first ones say what to fix' },

  // ---- the swarm ----
  peers: { value: 10_000, why: 'the in-memory simulator holds every peer; 10,000 is the performance target of issue 13' },
  torrentBytes: { value: 1 * GiB, why: 'the payload is drawn from the seed and held in memory once for the whole swarm' },
  pieceLength: { value: 256 * MiB, why: "mktorrent's largest piece length (2^28); libtorrent warns above 16 MiB" },
  pieces: { value: 65_536, why: "every peer keeps per-piece state; 1 GiB in 16 KiB pieces (libtorrent's own limit, max_pieces, is 2^21)" },
  files: { value: 10_000, why: 'each file is an object of the torrent built in memory' },
  dhtNodes: { value: 100_000, why: 'each DHT-only node keeps a routing table and a peer store; `npm run bench -- dht` runs 10,000 in about a minute' },

  // ---- time and faults ----
  duration: { value: 24 * HOUR, why: 'virtual time; a longer run of an idle swarm is millions of timer events with nothing happening' },
  trackerIntervalMin: { value: 1_000, why: 'every peer announces once per interval; at 0 they would announce forever at one instant' },
  faultRatePerMinute: { value: 600, why: 'random faults at 10 per second already strike every peer of a large swarm within seconds' },
  faultsPerRandom: { value: 100_000, why: "a random fault's events are scheduled up front: rate × window must stay within memory" },
} as const satisfies Record<string, Limit>;

export type ScenarioLimit = keyof typeof SCENARIO_LIMITS;

/** `(limit peers: 10000)`: how a message names the limit it enforces. */
export function limitNote(name: string, shown: string | number): string {
  return `(limit ${name}: ${shown})`;
}
