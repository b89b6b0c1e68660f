// Samples a swarm over virtual time: the bytes uploaded by all its peers, and how many copies of
// each piece the peers still downloading hold (a seed, or a leecher once complete, holds every
// piece alike and would only dilute the measure; with nobody downloading the entropy is 1). The samples are events of their own that touch no peer,
// so the run is the same as without them (the trace hash does not change).

import type { Swarm } from '../swarm.ts';
import { availabilityEntropy } from './entropy.ts';

export interface Samples {
  intervalMs: number;
  /** Cumulative bytes uploaded by every peer, at t = 0, interval, 2·interval, … */
  uploaded: number[];
  /** Normalised piece-availability entropy among the peers still downloading, at the same times. */
  entropy: number[];
}

/** Starts sampling `swarm` every `intervalMs` until every leecher is done; fills the returned Samples. */
export function sampleSwarm(swarm: Swarm, intervalMs: number): Samples {
  const samples: Samples = { intervalMs, uploaded: [], entropy: [] };
  const pieces = swarm.torrent.pieceCount;
  const sample = () => {
    let uploaded = 0;
    const copies = new Array<number>(pieces).fill(0);
    for (const p of swarm.peers) {
      uploaded += p.client?.uploaded ?? 0;
      if (!p.client || p.down || p.leftAt !== undefined || p.client.complete) continue;
      const have = p.client.pieces.have;
      for (let i = 0; i < pieces; i++) if (have.has(i)) copies[i]++;
    }
    samples.uploaded.push(uploaded);
    samples.entropy.push(availabilityEntropy(copies));
    if (!swarm.allLeechersDone()) swarm.scheduler.setTimer(intervalMs, sample, 'experiment');
  };
  swarm.scheduler.at(0, sample, 'experiment');
  return samples;
}
