// The JSON Schema of the scenario format, generated from the zod schema (schema.ts), for editors
// (`# yaml-language-server: $schema=…`, which `swarmlab init` writes) and other tools. It says
// what may be written; the loader's checks across fields (group references, times in order) and
// the units' grammar are beyond it, so a file it accepts can still be refused, with a line that
// says why. The package ships it as scenario.schema.json, kept fresh by
// test/scenario-json-schema.test.ts (`npm run docs:schema` writes it).

import { z } from 'zod';
import { QUANTITY_FIELDS, scenarioFileSchema } from './schema.ts';
import { EXAMPLES } from './units.ts';

/** Where the package keeps it (its root), and the name `swarmlab init` points editors at. */
export const SCENARIO_JSON_SCHEMA_FILE = 'scenario.schema.json';

export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioFileSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    // A quantity is parsed by units.ts, which zod cannot describe: say what may be written.
    override: ({ zodSchema, jsonSchema }) => {
      const quantity = QUANTITY_FIELDS.get(zodSchema as unknown as z.ZodType);
      if (quantity) Object.assign(jsonSchema, { type: ['string', 'number'], description: EXAMPLES[quantity.kind] });
    },
  });
  return {
    title: 'swarmlab scenario',
    description: 'A swarm, the faults to inject and what must still hold (docs/scenarios.md). Quantities are strings with units (4MiB, 30s, 2MiB/s) or numbers, or ranges drawn from the seed (20..200).',
    ...schema,
  };
}

/** The file's text: what is committed and shipped. */
export function renderScenarioJsonSchema(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}
