// TEST ONLY: hooks that make the engine misbehave on purpose, to show that swarm testing finds a
// bug, reproduces it from its seed and shrinks it (test/planted-bug.test.ts, `--planted-bug`).
// Not a setting (engine/settings.ts), so no scenario file or user turns one on: a driver passes
// them to the `Client` as `testHooks`, and only tests do (the simulator records them in the trace
// header, so a trace says it was made with a planted bug).

/** The bugs that can be planted, and what each does. */
export const PLANTED_BUGS = {
  'trust-single-source': 'a piece whose blocks all came from one peer is marked verified without checking its SHA1',
} as const;

export type PlantedBug = keyof typeof PLANTED_BUGS;

export interface TestHooks {
  /** A known bug to plant; absent in every real run. */
  readonly plantedBug?: PlantedBug;
}
