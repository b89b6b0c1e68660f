// The simulator's classes as an installed package runs them: compiled by tsc into dist/
// (`npm run build`). `npm run bench -- … --built` loads them from here; the declarations beside
// this file say they are the sources' own.
export { Swarm } from '../dist/sim/swarm.js';
export { SwarmWireChecks } from '../dist/sim/wire-checks.js';
