/**
 * The published envelope schema (schema/envelope.schema.json), compiled once with ajv in strict mode, the way a
 * receiver would use it.
 */
import { readFileSync } from 'node:fs';
import ajv2020 from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

// Both packages are CommonJS with a `default` export; under NodeNext the default import is the module object.
const Ajv2020 = ajv2020.default;
const addFormats = ajvFormats.default;

export const ENVELOPE_SCHEMA = JSON.parse(
  readFileSync(new URL('../../schema/envelope.schema.json', import.meta.url), 'utf8'),
) as { $id: string; properties: { type: { enum: string[] } }; $defs: Record<string, unknown> };

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(ENVELOPE_SCHEMA);

/** The schema violations of `value`, one line each; empty when it is a valid envelope. */
export function schemaErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}
