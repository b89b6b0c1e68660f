// dist/ is compiled from these sources: the same classes, the same types.
export { Swarm } from '../sim/swarm.ts';
export { SwarmWireChecks } from '../sim/wire-checks.ts';
