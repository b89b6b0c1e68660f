// Peer behaviours in a simulated swarm: one table of their names, what each does, and whether it
// runs the real engine. The `Behaviour` type, scenario files' schema (sim/scenario/schema.ts), the
// adversaries' scripts (sim/adversary.ts) and the swarm's honest/malicious split all come from it.
// With the roles and leave policies, these are words the swarm runner, the adversaries and the
// scenario format share; they live in sim/, not sim/scenario/, because sim/ may not import
// sim/scenario/ (the layer table in docs/ARCHITECTURE.md).

import type { EngineSettings } from '../engine/settings.ts';

/** What each behaviour does; `engine: true` runs the real engine (honest, or honest but stingy). */
export const BEHAVIOURS = {
  honest: { engine: true, does: 'runs the real engine' },
  corrupt: { engine: false, does: 'serves blocks with flipped bytes' },
  liar: { engine: false, does: 'claims every piece, serves none (or garbage)' },
  unsolicited: { engine: false, does: 'sends PIECE messages nobody asked for' },
  malformed: { engine: false, does: 'sends messages with wrong lengths' },
  'huge-length': { engine: false, does: 'sends a length prefix of ~2 GiB' },
  'request-flood': { engine: false, does: 'floods REQUESTs' },
  silent: { engine: false, does: 'accepts connections and never answers' },
  drop: { engine: false, does: 'connects and drops at once' },
  'free-rider': { engine: true, does: 'downloads and never uploads: the real engine with no upload slots' },
  tyrant: { engine: true, does: "BitTyrant's strategic client (Piatek et al., 2007): the real engine unchoking for the best return per byte" },
} as const satisfies Record<string, { readonly engine: boolean; readonly does: string }>;

export type Behaviour = keyof typeof BEHAVIOURS;

/** Every behaviour's name, in the table's order (the order error messages list them in). */
export const BEHAVIOUR_NAMES = Object.keys(BEHAVIOURS) as [Behaviour, ...Behaviour[]];

/** A behaviour that runs the real engine. */
export type EngineBehaviour = { [B in Behaviour]: (typeof BEHAVIOURS)[B]['engine'] extends true ? B : never }[Behaviour];

/** A malicious peer's behaviour: a script of sim/adversary/, not the engine. */
export type AdversaryBehaviour = Exclude<Behaviour, EngineBehaviour>;

/**
 * True for the behaviours that run the real engine: honest peers and free riders (the checks of
 * safety and completion apply to them; malicious peers are judged by what honest peers do).
 */
export function isHonest(b: Behaviour): b is EngineBehaviour {
  return BEHAVIOURS[b].engine;
}

/**
 * The engine settings a behaviour puts over the scenario's: a free rider has no upload slot and no
 * optimistic unchoke; a tyrant chokes as BitTyrant, knowing its uplink (`upload`, bytes/s), as
 * BitTyrant measures its own. One table for the in-memory and the TCP swarm.
 */
export function behaviourSettings(b: EngineBehaviour, upload: number): Partial<EngineSettings> {
  if (b === 'free-rider') return { uploadSlots: 0, optimisticUnchoke: false };
  if (b === 'tyrant') return { chokeAlgorithm: 'bittyrant', ...(Number.isFinite(upload) ? { uploadCapacity: upload } : {}) };
  return {};
}

/** The peer roles of a swarm: a seed starts with every piece, a leecher with none. */
export const ROLES = ['seed', 'leecher'] as const;
export type Role = (typeof ROLES)[number];

/** When a peer leaves the swarm. */
export type LeavePolicy = { when: 'never' } | { when: 'on-complete'; linger?: number } | { when: 'after'; time: number };
