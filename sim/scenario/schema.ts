// The scenario FILE format, checked with zod. A file mirrors `Scenario` (sim/scenario/types.ts),
// but a value that may vary can be a range drawn from the seed (`count: 20..200`), quantities
// carry units (`16MiB`, `2MiB/s`, `30s`), and everything but the name, the torrent's size and the
// groups has a default. Unknown keys are errors. The checked file still holds its ranges;
// sim/scenario/resolve.ts draws them.

import { z } from 'zod';
import { defaultSettings, type EngineSettings, type NumberLimit, SETTING_LIMITS, settingProblem } from '../../engine/settings.ts';
import { limitNote, SCENARIO_LIMITS } from './limits.ts';
import { BEHAVIOUR_NAMES, ROLES } from '../behaviours.ts';
import { type Amount, CLIENT_NAMES, TRANSPORTS } from './types.ts';
import { bounds, EXAMPLES, formatDuration, formatSize, KiB, MINUTE, MiB, parseQuantity, parseVarying, type Quantity, Range, show, UnitError, type Varying } from './units.ts';

/** Defaults for what a file leaves out. Bandwidths are those of `swarmlab run`'s default swarm. */
export const DEFAULTS = {
  pieceLength: 256 * KiB,
  files: 1,
  count: 1,
  seed: { upload: 2 * MiB, download: 2 * MiB },
  leecher: { upload: 512 * KiB, download: 2 * MiB },
  latency: [10, 60] as [number, number],
  timeLimit: 10 * MINUTE,
  trackerInterval: 30 * MINUTE,
  seeds: ['1'],
  /** A web seed: a 1 MiB/s server 25 ms away (one way). */
  webSeed: { upload: 1 * MiB, latency: 25 },
};

// ---- building blocks ----------------------------------------------------------------------

function issue(ctx: z.RefinementCtx, message: string, path?: (string | number)[]): never {
  ctx.addIssue({ code: 'custom', message, path });
  return z.NEVER as never;
}

/** Each quantity field's kind, for the JSON Schema (json-schema.ts): a string or a number, as EXAMPLES says. */
export const QUANTITY_FIELDS = z.registry<{ kind: Quantity }>();

function unitField<T>(parse: (value: unknown) => T, kind: Quantity) {
  const written = z.unknown();
  QUANTITY_FIELDS.add(written, { kind });
  return written.transform((value, ctx): T => {
    if (value === undefined) return issue(ctx, `required: ${EXAMPLES[kind]}`);
    try {
      return parse(value);
    } catch (e) {
      if (e instanceof UnitError) return issue(ctx, e.message);
      throw e;
    }
  });
}

/** A quantity that may be a range drawn from the seed. */
const varying = (kind: Quantity) => unitField((v) => parseVarying(kind, v), kind);
/** A quantity that must be one fixed value (expectations: a bound must not move with the seed). */
const fixed = (kind: Quantity) => unitField((v) => parseQuantity(kind, v), kind);

/** Marks the message of an unknown-key issue, which carries the known keys for the error text. */
export const KNOWN_KEYS = 'known keys: ';

/** A strict object: an unknown key is an error, and the message names the known ones. */
export function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? KNOWN_KEYS + known.join(', ') : undefined) });
}

const GROUP_NAME = /^[A-Za-z](?:[\w-]*[A-Za-z_-])?$/;
const groupName = z
  .string({ error: 'expected a group name' })
  .regex(GROUP_NAME, 'expected a group name of letters, digits, "_" and "-" that starts with a letter and does not end in a digit (its peers are named <group>0, <group>1, …)');

/**
 * A one-way latency spread: hosts each draw their own latency in [lo, hi]. `30ms` is [30, 30];
 * `10ms..60ms` is [10, 60]; `[10ms..20ms, 100ms..300ms]` draws the spread's ends from the seed.
 */
const latency = z.unknown().transform((value, ctx): [Varying, Varying] => {
  const what = 'a latency such as 30ms, a spread such as 10ms..60ms (each host draws its own), or [lo, hi] whose ends may be ranges';
  try {
    if (Array.isArray(value)) {
      if (value.length !== 2) return issue(ctx, `expected ${what}, got a list of ${value.length}`);
      const [lo, hi] = value.map((v) => parseVarying('duration', v));
      if (bounds(lo)[1] > bounds(hi)[0]) return issue(ctx, `the low end of a latency spread must not be above its high end`);
      return [lo, hi];
    }
    const v = parseVarying('duration', value);
    return v instanceof Range ? [v.lo, v.hi] : [v, v];
  } catch (e) {
    // A limit broken keeps its own message (it names the limit); otherwise say what a latency is.
    if (e instanceof UnitError) return issue(ctx, e.message.includes('(limit ') ? e.message : `expected ${what}, got ${show(value)}`);
    throw e;
  }
});

/** The quantity of a numeric engine setting: its unit in engine/settings.ts's SETTING_LIMITS. */
export function settingQuantity(key: string): Quantity {
  const limit = SETTING_LIMITS[key as keyof EngineSettings] as { unit?: string } | undefined;
  return limit?.unit === 'ms' ? 'duration' : limit?.unit === 'bytes' ? 'size' : limit?.unit === 'bytes/s' ? 'rate' : 'count';
}

function settingSchema(key: keyof EngineSettings): z.ZodType {
  const limit: NumberLimit | { unit: 'boolean' } | { oneOf: readonly string[] } = SETTING_LIMITS[key];
  if ('oneOf' in limit) return z.enum(limit.oneOf as [string, ...string[]]);
  if (limit.unit === 'boolean') return z.boolean();
  return varying(settingQuantity(key));
}

type SettingsFile = { [K in keyof EngineSettings]?: EngineSettings[K] extends number ? Varying : EngineSettings[K] };

/** Every engine setting may be set by a file (the test-only planted bug is no setting: engine/test-hooks.ts). */
const FILE_SETTINGS = Object.keys(SETTING_LIMITS) as (keyof EngineSettings)[];

const settings = strict(Object.fromEntries(FILE_SETTINGS.map((key) => [key, settingSchema(key).optional()]))) as unknown as z.ZodType<SettingsFile>;

// ---- torrent, groups, network ------------------------------------------------------------------

const torrent = strict({
  size: varying('size'),
  pieceLength: varying('pieceLength').default(DEFAULTS.pieceLength),
  /** How many files the payload is split into (a multi-file torrent when more than 1). */
  files: varying('count').default(DEFAULTS.files),
});

const LEAVE_WORDS = ['never', 'on-complete'];
const leave = z.preprocess(
  (v) => (typeof v === 'string' && LEAVE_WORDS.includes(v) ? { when: v } : v),
  z.discriminatedUnion(
    'when',
    [
      strict({ when: z.literal('never') }),
      strict({ when: z.literal('on-complete'), linger: varying('duration').optional() }),
      strict({ when: z.literal('after'), time: varying('duration') }),
    ],
    { error: 'expected never, on-complete, { when: on-complete, linger: 10s } or { when: after, time: 60s }' },
  ),
);

const group = strict({
  name: groupName,
  count: varying('count').default(DEFAULTS.count),
  role: z.enum(ROLES).default('leecher'),
  /** Default by role: see DEFAULTS. */
  upload: varying('rate').optional(),
  download: varying('rate').optional(),
  joinAt: varying('duration').default(0),
  joinSpread: varying('duration').optional(),
  leave: leave.default(() => ({ when: 'never' as const })),
  latency: latency.optional(),
  settings: settings.optional(),
  behaviour: z.enum(BEHAVIOUR_NAMES).default('honest'),
  /** Its peers join the swarm's DHT (BEP 5): they look the torrent up there and announce themselves. */
  dht: z.boolean().optional(),
  /** Leechers given only a magnet link: the info dictionary comes from peers over BEP 9 first. */
  magnet: z.boolean().optional(),
  client: z
    .union(
      [
        z.enum(CLIENT_NAMES),
        strict({
          command: z.array(z.string().min(1), { error: 'expected the command as a list of words, e.g. [my-client, --port, "{port}", "{torrent}"]' }).min(1, 'expected a command of at least one word'),
          done: z.union([z.literal('files'), strict({ stdout: z.string().min(1) })], { error: 'expected done: files, or done: { stdout: <regular expression> }' }).optional(),
          env: z.record(z.string(), z.string(), { error: 'expected env as a map of names to strings' }).optional(),
        }),
      ],
      { error: `expected a client: ${CLIENT_NAMES.join(', ')}, or { command: [...], done: ..., env: ... }` },
    )
    .optional(),
}).transform((g) => ({ ...g, upload: g.upload ?? DEFAULTS[g.role].upload, download: g.download ?? DEFAULTS[g.role].download }));

const network = strict({ latency: latency.default((): [Varying, Varying] => [...DEFAULTS.latency]) });

// ---- faults ------------------------------------------------------------------------------------

const d = varying('duration');
const faultKinds = [
  strict({ kind: z.literal('latency'), at: d, until: d.optional(), group: groupName.optional(), latency: d, jitter: d.optional() }),
  strict({ kind: z.literal('bandwidth'), at: d, until: d.optional(), group: groupName, upload: varying('rate').optional(), download: varying('rate').optional() }),
  strict({ kind: z.literal('stall'), at: d, duration: d, group: groupName.optional() }),
  strict({ kind: z.literal('reset'), at: d, group: groupName.optional(), count: varying('count').optional() }),
  strict({ kind: z.literal('loss'), at: d, until: d.optional(), group: groupName.optional(), probability: varying('fraction') }),
  strict({ kind: z.literal('partition'), at: d, until: d.optional(), between: z.tuple([groupName, groupName]), oneWay: z.boolean().optional() }),
  strict({ kind: z.literal('crash'), at: d, group: groupName, count: varying('count').optional(), restartAfter: d.optional() }),
  strict({ kind: z.literal('pause'), at: d, duration: d, group: groupName, count: varying('count').optional() }),
  strict({ kind: z.literal('pause-torrent'), at: d, duration: d, group: groupName, count: varying('count').optional() }),
  strict({ kind: z.literal('web-seed-down'), at: d, until: d.optional(), seed: fixed('count').optional() }),
  strict({ kind: z.literal('web-seed-corrupt'), at: d, until: d.optional(), seed: fixed('count').optional() }),
  strict({ kind: z.literal('disk-full'), at: d, until: d.optional(), group: groupName }),
  strict({ kind: z.literal('corrupt-read'), at: d, until: d.optional(), group: groupName, probability: varying('fraction') }),
  strict({ kind: z.literal('tracker-down'), at: d, until: d.optional() }),
  strict({ kind: z.literal('tracker-error'), at: d, until: d.optional(), message: z.string().optional() }),
  strict({ kind: z.literal('tracker-empty'), at: d, until: d.optional() }),
  strict({ kind: z.literal('tracker-slow'), at: d, until: d.optional(), delay: d }),
] as const;

const randomFault = z.discriminatedUnion(
  'kind',
  [
    strict({ kind: z.literal('reset'), group: groupName.optional() }),
    strict({ kind: z.literal('crash'), group: groupName, restartAfter: d.optional() }),
    strict({ kind: z.literal('stall'), group: groupName.optional(), duration: d }),
    strict({ kind: z.literal('churn'), group: groupName }),
    strict({ kind: z.literal('dht-churn') }),
  ],
  { error: 'expected a fault of kind reset, crash, stall, churn or dht-churn' },
);

export const FAULT_KINDS = [...faultKinds.map((f) => f.shape.kind.value), 'random'] as const;

const fault = z.discriminatedUnion(
  'kind',
  [...faultKinds, strict({ kind: z.literal('random'), rate: varying('frequency'), from: d.default(0), until: d, fault: randomFault })],
  { error: `expected a fault of kind ${FAULT_KINDS.join(', ')}` },
);

// ---- expectations and the whole file -----------------------------------------------------------

const PERCENT = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%\s*$/;

/** A share: `20%`, or a number from 0 to 1 (`0.2`). */
const share = z.unknown().transform((value, ctx): number => {
  const what = 'a share such as 20% or 0.2';
  const m = typeof value === 'string' ? PERCENT.exec(value) : null;
  const n = m ? Number(m[1]) / 100 : typeof value === 'number' ? value : NaN;
  if (!(n >= 0 && n <= 1)) return issue(ctx, `expected ${what} (from 0% to 100%), got ${show(value)}`);
  return n;
});

/** A bound relative to the payload (`1%`, above 100% allowed: `110%`) or a size (`64KiB`). */
const amount = z.unknown().transform((value, ctx): Amount => {
  const m = typeof value === 'string' ? PERCENT.exec(value) : null;
  if (m) return { fraction: Number(m[1]) / 100 };
  try {
    return { bytes: parseQuantity('size', value) };
  } catch (e) {
    if (e instanceof UnitError) return issue(ctx, `expected a share of the payload such as 1% or 110%, or a size such as 64KiB, got ${show(value)}`);
    throw e;
  }
});

const expectations = strict({
  /** Every honest leecher that stays must complete (default true). */
  allComplete: z.boolean().default(true),
  completeBy: fixed('duration').optional(),
  /** Groups or peers (`X` or `X0`) that at least one honest peer must ban. */
  banned: z.array(z.string()).optional(),
  maxHashFailures: fixed('count').optional(),
  minComplete: fixed('count').optional(),
  settleWithin: fixed('duration').optional(),
  /** Groups or peers that must break no rule of the wire checker. */
  noViolations: z.array(z.string()).optional(),
  /** Swarm-wide duplicate bytes at most this: `1%` of the payload, or a size. */
  maxDuplicateBytes: amount.optional(),
  /** Group `group`'s median completion at least `by` sooner than group `than`'s. */
  faster: z.array(strict({ group: groupName, than: groupName, by: share }), { error: 'expected a list such as [{ group: L, than: F, by: 20% }]' }).optional(),
  /** The peers outside group `by` hold a full copy between them while `by` has uploaded at most `maxUpload`. */
  firstCopy: strict({ by: groupName, maxUpload: amount }).optional(),
});

/** A web seed (BEP 19): an HTTP host with an upload rate and a one-way latency. */
const webSeed = strict({ upload: varying('rate').default(DEFAULTS.webSeed.upload), latency: varying('duration').default(DEFAULTS.webSeed.latency) });

const seed = z.union([z.string().min(1), z.number().int().nonnegative()], { error: 'expected a seed: a string or a whole number' }).transform(String);

const fileShape = strict({
  name: z
    .string({ error: 'expected the scenario name' })
    .min(1, 'expected the scenario name')
    .max(SCENARIO_LIMITS.nameLength.value, `expected a name of at most ${SCENARIO_LIMITS.nameLength.value} characters ${limitNote('nameLength', SCENARIO_LIMITS.nameLength.value)}`),
  description: z.string().optional(),
  /** memory (default): virtual time, byte-replayable; tcp: real loopback sockets, real time. */
  transport: z.enum(TRANSPORTS, { error: `expected a transport: ${TRANSPORTS.join(' or ')}` }).optional(),
  torrent,
  groups: z.array(group, { error: 'expected a list of peer groups' }).min(1, 'expected at least one peer group'),
  network: network.default(() => ({ latency: [...DEFAULTS.latency] as [Varying, Varying] })),
  faults: z.array(fault, { error: 'expected a list of faults' }).default(() => []),
  timeLimit: varying('duration').default(DEFAULTS.timeLimit),
  trackerInterval: varying('duration').default(DEFAULTS.trackerInterval),
  settings: settings.optional(),
  webSeeds: z.array(webSeed, { error: 'expected a list of web seeds, e.g. [{ upload: 1MiB/s }]' }).max(16, 'expected at most 16 web seeds (limit maxWebSeeds: 16)').optional(),
  /** false: the swarm has no tracker (default true): peers find each other through the DHT, or not at all. */
  tracker: z.boolean().optional(),
  /** DHT-only nodes beside the peers (the rest of the Internet's DHT); groups join it with `dht: true`. */
  dht: strict({ nodes: fixed('count'), bogus: fixed('count').optional(), sybil: fixed('count').optional(), flood: fixed('count').optional() }).optional(),
  expect: expectations.default(() => ({ allComplete: true })),
  seeds: z.array(seed, { error: 'expected a list of seeds' }).min(1, 'expected at least one seed').default(() => [...DEFAULTS.seeds]),
});

/** The whole file: its fields, then the checks across them (group references, times in order). */
export const scenarioFileSchema = fileShape.superRefine(crossCheck);

/** A checked scenario file: defaults filled in, units parsed, ranges not yet drawn. */
export type ScenarioFile = z.output<typeof fileShape>;

const clientName = (c: NonNullable<ScenarioFile['groups'][number]['client']>) => (typeof c === 'string' ? c : c.command[0]);

// ---- checks across fields --------------------------------------------------------------------

const showTime = (v: Varying) => (v instanceof Range ? `${formatDuration(v.lo)}..${formatDuration(v.hi)}` : formatDuration(v));

/** A problem found across fields, at a path of the file. */
export interface ReferenceIssue {
  message: string;
  path: (string | number)[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const listAt = (v: unknown, key: string): unknown[] => (isRecord(v) && Array.isArray(v[key]) ? v[key] : []);

/**
 * The file's references to its groups — fault groups, partitions, the groups and peers `expect`
 * names — and group names used twice. It reads the data loosely, as written or as parsed, so that
 * a file with other problems still has these reported in the same pass (checkScenario); values of
 * the wrong type are the schema's to report, and skipped here.
 */
export function groupReferenceIssues(data: unknown): ReferenceIssue[] {
  const out: ReferenceIssue[] = [];
  const names = new Set<string>();
  listAt(data, 'groups').forEach((g, i) => {
    const name = isRecord(g) ? g.name : undefined;
    if (typeof name !== 'string') return;
    if (names.has(name)) out.push({ message: `group name "${name}" is used twice`, path: ['groups', i, 'name'] });
    names.add(name);
  });
  if (names.size === 0) return out;
  const known = [...names].join(', ');
  const checkGroup = (name: unknown, path: (string | number)[]) => {
    if (typeof name === 'string' && !names.has(name)) out.push({ message: `no group is called "${name}"; the groups are ${known}`, path });
  };
  listAt(data, 'faults').forEach((f, i) => {
    if (!isRecord(f)) return;
    const at = ['faults', i];
    if (f.kind === 'random') {
      if (isRecord(f.fault)) checkGroup(f.fault.group, [...at, 'fault', 'group']);
      return;
    }
    if (f.kind === 'partition') listAt(f, 'between').forEach((g, j) => checkGroup(g, [...at, 'between', j]));
    else checkGroup(f.group, [...at, 'group']);
  });
  const e = isRecord(data) ? data.expect : undefined;
  if (!isRecord(e)) return out;
  for (const key of ['banned', 'noViolations'] as const) {
    listAt(e, key).forEach((label, i) => {
      if (typeof label !== 'string') return;
      const m = /^(.*?)(\d*)$/.exec(label)!;
      if (!names.has(m[1])) out.push({ message: `expected a group or a peer of a group (${known} or e.g. ${[...names][0]}0), got "${label}"`, path: ['expect', key, i] });
    });
  }
  listAt(e, 'faster').forEach((f, i) => {
    if (!isRecord(f)) return;
    checkGroup(f.group, ['expect', 'faster', i, 'group']);
    checkGroup(f.than, ['expect', 'faster', i, 'than']);
    if (typeof f.group === 'string' && f.group === f.than) out.push({ message: `expected two different groups, got "${f.group}" twice`, path: ['expect', 'faster', i, 'than'] });
  });
  if (isRecord(e.firstCopy)) checkGroup(e.firstCopy.by, ['expect', 'firstCopy', 'by']);
  return out;
}

function crossCheck(file: ScenarioFile, ctx: z.RefinementCtx): void {
  for (const r of groupReferenceIssues(file)) issue(ctx, r.message, r.path);
  const after = (lo: Varying, hi: Varying | undefined, path: (string | number)[], what: string) => {
    if (hi !== undefined && bounds(hi)[0] < bounds(lo)[1]) issue(ctx, `expected a time after \`${what}\` (${showTime(lo)}) for every draw, got ${showTime(hi)}`, path);
  };

  // Another client is a process swarmlab does not run: no engine settings, no behaviour, and no
  // fault that reaches inside a swarmlab peer (its storage, its process's crash and restart).
  const clientGroups = new Set<string>();
  file.groups.forEach((g, i) => {
    if (g.client === undefined) return;
    clientGroups.add(g.name);
    if (g.behaviour !== 'honest') issue(ctx, `a group played by another client (${clientName(g.client)}) cannot have behaviour ${g.behaviour}: behaviours are swarmlab's own peers`, ['groups', i, 'behaviour']);
    if (g.settings !== undefined) issue(ctx, `a group played by another client (${clientName(g.client)}) cannot have engine settings: configure the client itself`, ['groups', i, 'settings']);
  });
  const NOT_FOR_CLIENTS: Record<string, string> = {
    'disk-full': "fills a swarmlab peer's storage",
    'corrupt-read': "corrupts a swarmlab peer's storage reads",
    crash: 'crashes and restarts a swarmlab peer (use pause, reset or partition for another client)',
    'pause-torrent': "pauses a swarmlab peer's torrent in its engine (use pause for another client)",
    churn: 'replaces swarmlab peers',
  };
  const checkClientFault = (kind: string, group: string | undefined, path: (string | number)[]) => {
    if (group !== undefined && clientGroups.has(group) && NOT_FOR_CLIENTS[kind]) issue(ctx, `fault ${kind} ${NOT_FOR_CLIENTS[kind]}; group ${group} is another client`, path);
  };

  file.faults.forEach((f, i) => {
    const at = ['faults', i];
    if (f.kind === 'random') {
      if ('group' in f.fault) checkClientFault(f.fault.kind, f.fault.group, [...at, 'fault', 'group']);
    } else if ('group' in f) checkClientFault(f.kind, f.group, [...at, 'group']);
  });

  file.faults.forEach((f, i) => {
    const at = ['faults', i];
    if (f.kind === 'random') {
      after(f.from, f.until, [...at, 'until'], 'from');
      return;
    }
    if ('until' in f) after(f.at, f.until, [...at, 'until'], 'at');
    if (f.kind === 'web-seed-down' || f.kind === 'web-seed-corrupt') {
      const seeds = file.webSeeds?.length ?? 0;
      if (seeds === 0) issue(ctx, `fault ${f.kind} needs web seeds: add webSeeds: [{ upload: 1MiB/s }]`, [...at, 'kind']);
      else if (f.seed !== undefined && f.seed >= seeds) issue(ctx, `no web seed ${f.seed}: there ${seeds === 1 ? 'is 1' : `are ${seeds}`} (numbered from 0)`, [...at, 'seed']);
    }
  });

  checkDht(file, ctx);
  checkLimits(file, ctx);

  const [sizeLo] = bounds(file.torrent.size);
  if (sizeLo === 0) issue(ctx, 'expected a torrent of at least 1 byte', ['torrent', 'size']);
  if (bounds(file.torrent.files)[1] > sizeLo) issue(ctx, 'expected no more files than bytes', ['torrent', 'files']);
  if (bounds(file.torrent.files)[0] < 1) issue(ctx, 'expected at least 1 file', ['torrent', 'files']);

  // A run that ends at t = 0 judges a swarm that never ran.
  if (bounds(file.timeLimit)[0] <= 0) issue(ctx, `expected a time limit above 0 for every draw, got ${showTime(file.timeLimit)}`, ['timeLimit']);

  const e = file.expect;
  if (e.completeBy !== undefined && e.completeBy > bounds(file.timeLimit)[0]) {
    issue(ctx, `expected a time within the time limit (${showTime(file.timeLimit)}) for every draw, got ${showTime(e.completeBy)}`, ['expect', 'completeBy']);
  }
}

/** The DHT and magnet keys: swarmlab's own peers on the in-memory network, and someone to find. */
function checkDht(file: ScenarioFile, ctx: z.RefinementCtx): void {
  const tcp = file.transport === 'tcp';
  if (tcp && file.dht) issue(ctx, 'the DHT is simulated in memory only: drop dht or run on the memory transport', ['dht']);
  file.groups.forEach((g, i) => {
    if (g.dht && (tcp || g.client !== undefined)) issue(ctx, `dht: true is for swarmlab's own peers on the memory transport${g.client !== undefined ? `; group ${g.name} is another client` : ''}`, ['groups', i, 'dht']);
    if (!g.magnet) return;
    if (g.role !== 'leecher') issue(ctx, `magnet: true is for leechers (group ${g.name} is a ${g.role}): a seed has the torrent`, ['groups', i, 'magnet']);
    else if (g.behaviour !== 'honest' || g.client !== undefined || tcp) issue(ctx, `magnet: true is for swarmlab's own honest leechers on the memory transport`, ['groups', i, 'magnet']);
  });
  if (file.tracker === false && !file.groups.some((g) => g.dht) && (file.webSeeds?.length ?? 0) === 0) {
    issue(ctx, 'with tracker: false nobody can find anybody: give some groups dht: true (or add webSeeds)', ['tracker']);
  }
  if (file.dht && !file.groups.some((g) => g.dht)) issue(ctx, 'dht: { nodes } needs a group with dht: true to use them', ['dht']);
  file.faults.forEach((f, i) => {
    if (f.kind === 'random' && f.fault.kind === 'dht-churn' && !(file.dht && file.dht.nodes > 0)) issue(ctx, 'dht-churn replaces DHT-only nodes: add dht: { nodes: N }', ['faults', i, 'fault', 'kind']);
  });
  const d = file.dht;
  if (d && (d.bogus ?? 0) + (d.sybil ?? 0) + (d.flood ?? 0) > 0 && d.nodes === 0) issue(ctx, 'misbehaving DHT nodes join through honest ones: give dht.nodes above 0', ['dht', 'nodes']);
}

// ---- limits (sim/scenario/limits.ts, engine/settings.ts) ------------------------------------------

/** The highest value a field can draw is checked, so that no seed can draw past a limit. */
function checkLimits(file: ScenarioFile, ctx: z.RefinementCtx): void {
  const L = SCENARIO_LIMITS;
  /** A value that may draw above the limit: an issue at its path; true if so. */
  const atMost = (v: Varying | undefined, limit: keyof typeof L, path: (string | number)[], what: string, shown: (n: number) => string | number = (n) => n): boolean => {
    if (v === undefined || bounds(v)[1] <= L[limit].value) return false;
    issue(ctx, `expected at most ${shown(L[limit].value)}${what}, got ${shown(bounds(v)[1])} ${limitNote(limit, shown(L[limit].value))}`, path);
    return true;
  };

  let peers = 0;
  let groupTooLarge = false;
  file.groups.forEach((g, i) => {
    groupTooLarge = atMost(g.count, 'peers', ['groups', i, 'count'], ' peers') || groupTooLarge;
    peers += bounds(g.count)[1];
  });
  if (!groupTooLarge && peers > L.peers.value) issue(ctx, `expected at most ${L.peers.value} peers in all groups together, got up to ${peers} ${limitNote('peers', L.peers.value)}`, ['groups']);

  const t = file.torrent;
  atMost(t.size, 'torrentBytes', ['torrent', 'size'], '', formatSize);
  atMost(t.pieceLength, 'pieceLength', ['torrent', 'pieceLength'], '', formatSize);
  atMost(t.files, 'files', ['torrent', 'files'], ' files');
  if (file.dht) for (const k of ['nodes', 'bogus', 'sybil', 'flood'] as const) atMost(file.dht[k], 'dhtNodes', ['dht', k], ' DHT nodes');
  const pieces = Math.ceil(bounds(t.size)[1] / bounds(t.pieceLength)[0]);
  if (pieces > L.pieces.value && bounds(t.size)[1] <= L.torrentBytes.value) {
    issue(ctx, `expected at most ${L.pieces.value} pieces, got up to ${pieces} (${showSize(t.size)} in pieces of ${showSize(t.pieceLength)}) ${limitNote('pieces', L.pieces.value)}`, ['torrent', 'pieceLength']);
  }

  if (bounds(file.trackerInterval)[0] < L.trackerIntervalMin.value) {
    issue(ctx, `expected an announce interval of at least ${formatDuration(L.trackerIntervalMin.value)} ${limitNote('trackerIntervalMin', formatDuration(L.trackerIntervalMin.value))}`, ['trackerInterval']);
  }

  file.faults.forEach((f, i) => {
    if ('count' in f) atMost(f.count, 'peers', ['faults', i, 'count'], ' peers');
    if (f.kind !== 'random') return;
    // The events are scheduled up front: their expected number must stay within memory.
    const expected = (bounds(f.rate)[1] * Math.max(0, bounds(f.until)[1] - bounds(f.from)[0])) / MINUTE;
    if (expected > L.faultsPerRandom.value) {
      issue(ctx, `expected at most ${L.faultsPerRandom.value} faults from one random fault (rate × window), got about ${Math.round(expected)} ${limitNote('faultsPerRandom', L.faultsPerRandom.value)}`, ['faults', i, 'rate']);
    }
  });

  // Settings: each against its own bounds and, for bounds named by another setting, against that
  // setting as it applies here (defaults, then the file's, then the group's).
  checkSettings(file.settings, {}, ['settings'], ctx);
  file.groups.forEach((g, i) => checkSettings(g.settings, file.settings ?? {}, ['groups', i, 'settings'], ctx));
}

function checkSettings(own: SettingsFile | undefined, inherited: SettingsFile, path: (string | number)[], ctx: z.RefinementCtx): void {
  if (!own) return;
  const merged: Record<string, unknown> = { ...defaultSettings, ...inherited, ...own };
  const end = (which: 0 | 1) => Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, v instanceof Range ? bounds(v)[which] : v]));
  // A value's low end against the others' high ends, its high end against their low ends: every draw.
  const [lows, highs] = [end(0), end(1)];
  for (const [key, value] of Object.entries(own) as [keyof EngineSettings, unknown][]) {
    if (value === undefined) continue;
    const [lo, hi] = value instanceof Range ? bounds(value) : [value, value];
    const problem = settingProblem(key, lo, highs) ?? settingProblem(key, hi, lows);
    if (problem) issue(ctx, problem, [...path, key]);
  }
}

const showSize = (v: Varying) => (v instanceof Range ? `${formatSize(v.lo)}..${formatSize(v.hi)}` : formatSize(v));
