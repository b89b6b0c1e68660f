// Which transport a scenario runs on, and what keeps it from running there. A scenario that cannot
// run on a transport says so before anything starts (`TransportError`, every problem listed).

import type { Scenario, Transport } from './types.ts';

export class TransportError extends Error {
  constructor(
    readonly transport: Transport,
    readonly problems: readonly string[],
  ) {
    super(`cannot run on the ${transport} transport: ${problems.join('; ')}`);
    this.name = 'TransportError';
  }
}

/** The transport a run uses: the command line's choice, else the file's, else memory. */
export function transportOf(s: Scenario, chosen?: Transport): Transport {
  return chosen ?? s.transport ?? 'memory';
}

/** Why the scenario cannot run in memory: other clients are real processes on real sockets. */
export function memoryProblems(s: Scenario): string[] {
  return s.groups
    .filter((g) => g.client !== undefined)
    .map((g) => `group ${g.name} is played by ${typeof g.client === 'string' ? g.client : `the command ${g.client!.command[0]}`}, which needs real sockets (--transport tcp, or transport: tcp in the file)`);
}
