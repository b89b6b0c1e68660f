// Malicious virtual peers: they speak the wire protocol directly (engine/wire.ts's codec, never
// the engine), from a SimHost, to test that honest peers cope — drop or ban the offender, fetch the
// data elsewhere, keep memory bounded. Each behaviour is a Script (sim/adversary/*.ts); all of
// their randomness comes from the context's stream and all time from its scheduler.

import { makePeerId } from '../engine/peer-id.ts';
import type { AdversaryBehaviour, Behaviour } from './behaviours.ts';
import type { AdversaryStarter, SimPeer, Swarm } from './swarm.ts';
import { silent, drop } from './adversary/connection-abuse.ts';
import { corrupt, liar, unsolicited } from './adversary/fake-data.ts';
import { AdversaryPeer } from './adversary/peer.ts';
import type { AdversaryContext, Script } from './adversary/script.ts';
import { hugeLength, malformed, requestFlood } from './adversary/wire-abuse.ts';

export type { AdversaryContext } from './adversary/script.ts';

/** The client code in a malicious peer's id: "some other client", never ours (`SL`). */
const ADVERSARY_CLIENT_CODE = 'XX';

export type { AdversaryBehaviour } from './behaviours.ts';

const SCRIPTS: Record<AdversaryBehaviour, Script> = {
  corrupt,
  liar,
  unsolicited,
  malformed,
  'huge-length': hugeLength,
  'request-flood': requestFlood,
  silent,
  drop,
};

export const ADVERSARY_BEHAVIOURS = Object.keys(SCRIPTS) as AdversaryBehaviour[];

export function isAdversaryBehaviour(b: Behaviour): b is AdversaryBehaviour {
  return Object.hasOwn(SCRIPTS, b);
}

export interface Adversary {
  /** Connections it has made or accepted so far. */
  readonly connectionsMade: number;
  /** Leaves: closes every connection, tells the tracker, traces `leave`. */
  stop(reason?: string): void;
}

/** Starts a malicious peer at once: traces `join`, listens, announces, dials what it learns. */
export function startAdversary(behaviour: AdversaryBehaviour, ctx: AdversaryContext): Adversary {
  const peer = new AdversaryPeer(behaviour, ctx, SCRIPTS[behaviour]);
  peer.start();
  return {
    get connectionsMade() {
      return peer.sessionsMade;
    },
    stop: (reason) => peer.stop(reason),
  };
}

/** The context of a swarm's malicious peer: its host, the swarm's clock, tracker and trace. */
export function adversaryContextOf(peer: SimPeer, swarm: Swarm): AdversaryContext {
  return {
    label: peer.label,
    host: peer.host,
    scheduler: swarm.scheduler,
    random: swarm.root.stream(`peer/${peer.label}`),
    torrent: swarm.torrent,
    payload: swarm.payload,
    tracker: swarm.tracker.portFor(peer.host.address),
    trace: swarm.traceSink,
    // A peer id like any other client's: `-XX0100-` and 12 characters.
    peerId: makePeerId(swarm.root.stream(`peer-id/${peer.label}`), ADVERSARY_CLIENT_CODE),
  };
}

/** Starts a swarm's malicious peers (sim/swarm.ts's AdversaryStarter), as scenario groups ask. */
export const swarmAdversaries: AdversaryStarter = (behaviour, peer, swarm) => {
  if (!isAdversaryBehaviour(behaviour)) throw new Error(`adversary: '${behaviour}' is not a malicious behaviour`);
  return startAdversary(behaviour, adversaryContextOf(peer, swarm));
};
