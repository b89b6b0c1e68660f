// `npm run docs:schema` (and `npm run build`): writes scenario.schema.json, the JSON Schema of the
// scenario format (sim/scenario/json-schema.ts), at the repository's root, where the package
// ships it. test/scenario-json-schema.test.ts fails when the committed copy is stale.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderScenarioJsonSchema, SCENARIO_JSON_SCHEMA_FILE } from '../sim/scenario/json-schema.ts';

export const SCENARIO_SCHEMA_PATH = fileURLToPath(new URL(`../${SCENARIO_JSON_SCHEMA_FILE}`, import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCENARIO_SCHEMA_PATH, renderScenarioJsonSchema());
  console.log(`wrote ${SCENARIO_JSON_SCHEMA_FILE}`);
}
