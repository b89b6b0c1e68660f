// Runs before every test file (vitest.config.ts `setupFiles`): tests run the simulator with its
// debug invariant check on (sim/debug-checks.ts), the CLI and the bench without it.

import { debugChecks } from '../sim/debug-checks.ts';

debugChecks.counters = true;
