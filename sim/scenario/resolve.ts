// From a checked scenario file to a Scenario: every range is drawn from the seed, each from its own
// named stream `scenario/<path>` (`scenario/groups[1].count`), so one file under many seeds is a
// family of runs, and the draw for one field does not move when another field changes.

import { SeedRoot, type SeededRandom } from '../random.ts';
import type { ScenarioFile } from './schema.ts';
import type { Scenario } from './types.ts';
import { Range } from './units.ts';

/** `T` with every Range drawn: the shape the runner takes. */
export type Drawn<T> = T extends Range ? number : T extends object ? { [K in keyof T]: Drawn<T[K]> } : T;

export function resolveScenario(file: ScenarioFile, seed: string, source?: string): Scenario {
  const root = new SeedRoot(String(seed));
  const f = drawAll(file, '', root) as Drawn<ScenarioFile>;
  return {
    name: f.name,
    ...(f.transport === 'tcp' ? { transport: f.transport } : {}),
    ...(source !== undefined ? { source } : {}),
    torrent: f.torrent,
    groups: f.groups.map((g) => withoutUndefined({ ...g, settings: nonEmpty(g.settings) })),
    network: f.network,
    faults: f.faults.map((x) => withoutUndefined(x)),
    timeLimit: f.timeLimit,
    trackerInterval: f.trackerInterval,
    ...(nonEmpty(f.settings) ? { settings: f.settings } : {}),
    ...(f.webSeeds?.length ? { webSeeds: f.webSeeds } : {}),
    ...(f.tracker === false ? { tracker: false } : {}),
    ...(f.dht ? { dht: f.dht } : {}),
    expect: withoutUndefined(f.expect),
    seeds: f.seeds,
  };
}

/** How many ranges a file holds (what `swarmlab shrink` fixes to the values drawn). */
export function countRanges(value: unknown): number {
  if (value instanceof Range) return 1;
  if (value && typeof value === 'object') return Object.values(value).reduce((n: number, v) => n + countRanges(v), 0);
  return 0;
}

/** The value drawn for one range. */
export function draw(range: Range, random: SeededRandom): number {
  switch (range.draw) {
    case 'int':
      return random.int(Math.ceil(range.lo), Math.floor(range.hi));
    case 'real':
      return range.lo + random.next() * (range.hi - range.lo);
    case 'pow2': {
      const lo = Math.ceil(Math.log2(range.lo));
      const hi = Math.floor(Math.log2(range.hi));
      return 2 ** random.int(lo, hi);
    }
  }
}

function drawAll(value: unknown, path: string, root: SeedRoot): unknown {
  if (value instanceof Range) return draw(value, root.stream(`scenario/${path}`));
  if (Array.isArray(value)) return value.map((v, i) => drawAll(v, `${path}[${i}]`, root));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, drawAll(v, path ? `${path}.${k}` : k, root)]));
  }
  return value;
}

const nonEmpty = <T extends object>(o: T | undefined) => (o && Object.keys(o).length > 0 ? o : undefined);

/** Drops keys whose value is undefined, so a resolved scenario prints and compares cleanly. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
