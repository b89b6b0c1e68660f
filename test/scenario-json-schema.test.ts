// scenario.schema.json, the JSON Schema of the scenario format the package ships, is generated
// from the zod schema (sim/scenario/json-schema.ts): this fails when the committed copy is stale,
// and checks that it describes the files the loader takes.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderScenarioJsonSchema, scenarioJsonSchema } from '../sim/scenario/json-schema.ts';
import { SCENARIO_SCHEMA_PATH } from '../scripts/docs-schema.ts';

describe('scenario.schema.json', () => {
  it('is what `npm run docs:schema` renders from the zod schema', () => {
    const committed = readFileSync(SCENARIO_SCHEMA_PATH, 'utf8');
    expect(committed === renderScenarioJsonSchema(), 'scenario.schema.json is stale: run `npm run docs:schema` and commit it').toBe(true);
  });

  it('names the keys, their enums and unknown keys refused; quantities are strings or numbers, as the units say', () => {
    const schema = scenarioJsonSchema() as { properties: Record<string, any>; required: string[]; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'torrent', 'groups']));
    const group = schema.properties.groups.items;
    expect(group.properties.role.enum).toEqual(['seed', 'leecher']);
    expect(group.additionalProperties).toBe(false);
    expect(group.properties.count).toEqual({ type: ['string', 'number'], description: 'a whole number such as 20, or a range such as 20..200' });
    expect(schema.properties.torrent.properties.size.description).toMatch(/^a size such as 4MiB/);
  });

  it('ships in the package', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.files).toContain('scenario.schema.json');
  });
});
