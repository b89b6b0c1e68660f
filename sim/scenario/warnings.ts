// Warnings about a valid scenario file: what the format allows but cannot be what was meant. Each
// is a path in the file and a message, located and printed like a problem, but nothing stops.

import { isHonest } from '../behaviours.ts';
import type { Path } from './errors.ts';
import type { ScenarioFile } from './schema.ts';
import { bounds } from './units.ts';

export interface Warning {
  path: Path;
  message: string;
}

export function scenarioWarnings(file: ScenarioFile): Warning[] {
  const warnings: Warning[] = [];
  // Whatever the seed draws, nobody holds the payload: no leecher can complete.
  const seeds = file.groups.some((g) => g.role === 'seed' && isHonest(g.behaviour) && bounds(g.count)[1] > 0);
  if (!seeds && !file.webSeeds?.length) {
    warnings.push({ path: ['groups'], message: 'no group seeds the payload and there are no web seeds: no leecher can complete (add a group with role: seed, or webSeeds: [{ upload: 1MiB/s }])' });
  }
  return warnings;
}
