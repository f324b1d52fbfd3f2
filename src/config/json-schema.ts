import { z } from 'zod';
import { configSchema } from './schema.js';

type JsonSchema = Record<string, unknown>;

/** Where the generated schema is committed, relative to the repository root. */
export const CONFIG_SCHEMA_PATH = 'schema/config.schema.json';

/** A `${VAR}` / `${VAR:-default}` reference, which the loader substitutes before validating. */
const REFERENCE: JsonSchema = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}' };

const ANNOTATIONS = new Set(['description', 'default', 'title', 'examples']);

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A scalar check a `${VAR}` reference would fail before substitution: a pattern, an enum, a number… */
function isConstrainedScalar(schema: JsonSchema): boolean {
  if ('properties' in schema || 'items' in schema || 'anyOf' in schema) return false;
  const type = schema['type'];
  return (
    ['pattern', 'format', 'enum', 'const'].some((keyword) => keyword in schema) ||
    type === 'integer' ||
    type === 'number' ||
    type === 'boolean'
  );
}

function mapChildren(schema: JsonSchema): JsonSchema {
  const result: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) {
      result[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [
          name,
          isObject(child) ? allowReferences(child) : child,
        ]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      result[key] = allowReferences(value);
    } else if (key === 'anyOf' && Array.isArray(value)) {
      // The branches keep their own form; the reference is added once, to the union.
      const branches = value.map((branch: unknown) => (isObject(branch) ? mapChildren(branch) : branch));
      const referable = branches.some((branch: unknown) => isObject(branch) && isConstrainedScalar(branch));
      result[key] = referable ? [...branches, REFERENCE] : branches;
    } else {
      result[key] = value;
    }
  }
  return result;
}

/**
 * Editors validate the file as written, before `${VAR}` is substituted. A value the loader would accept once
 * substituted must not be flagged, so every constrained scalar (a pattern, an enum, a number, a boolean) also
 * accepts a string holding a reference. Free-form strings need no such branch, and mapping keys are never
 * substituted.
 */
function allowReferences(schema: JsonSchema): JsonSchema {
  const result = mapChildren(schema);
  if (!isConstrainedScalar(result)) return result;
  const annotations = Object.fromEntries(Object.entries(result).filter(([key]) => ANNOTATIONS.has(key)));
  const check = Object.fromEntries(Object.entries(result).filter(([key]) => !ANNOTATIONS.has(key)));
  return { ...annotations, anyOf: [check, REFERENCE] };
}

/**
 * The JSON Schema (draft-07, the dialect YAML editors support best) of the configuration file, generated from
 * the zod schema so the two cannot drift. Checks zod runs in code (durations above zero, unique ids, reserved
 * headers…) are not expressible here; the loader reports those.
 */
export function configJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-07' }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'qq-webhook-bridge configuration',
    description:
      'config/bridge.yaml of qq-webhook-bridge. Any value may be a ${VAR} or ${VAR:-default} reference, checked ' +
      'once substituted. Generated from src/config/schema.ts by `npm run schema`; do not edit.',
    ...allowReferences(rest),
  };
}
