import { z } from 'zod';

type Segment = string | number;

const ALTERNATIVE_FORMS = new WeakSet<z.ZodType>();

/**
 * Marks a setting as one of several exclusive forms of its parent (like `redis.cluster` beside `redis.url`): an
 * example file shows it in a comment only, as it does a union's forms.
 */
export function alternativeForm<T extends z.ZodType>(schema: T): T {
  ALTERNATIVE_FORMS.add(schema);
  return schema;
}

/** Strips the wrappers that do not change which keys a value may have. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The schemas a value may match (several under a union), each unwrapped. */
function alternatives(schema: z.ZodType): z.ZodType[] {
  const inner = unwrap(schema);
  return inner instanceof z.ZodUnion ? (inner.options as z.ZodType[]).flatMap(alternatives) : [inner];
}

function childSchemas(schema: z.ZodType, segment: Segment): z.ZodType[] {
  return alternatives(schema).flatMap((option): z.ZodType[] => {
    if (option instanceof z.ZodObject && typeof segment === 'string') {
      const child = (option.shape as Record<string, z.ZodType | undefined>)[segment];
      return child === undefined ? [] : [child];
    }
    if (option instanceof z.ZodArray && typeof segment === 'number') return [option.element as z.ZodType];
    if (option instanceof z.ZodRecord && typeof segment === 'string') return [option.valueType as z.ZodType];
    return [];
  });
}

/** The keys the schema allows in the mapping at `path` (a data path), e.g. `['targets', 0]` → id, url, … */
export function knownKeysAt(root: z.ZodType, path: readonly Segment[]): string[] {
  let schemas = [root];
  for (const segment of path) schemas = schemas.flatMap((schema) => childSchemas(schema, segment));
  const keys = schemas
    .flatMap(alternatives)
    .flatMap((option) => (option instanceof z.ZodObject ? Object.keys(option.shape) : []));
  return [...new Set(keys)];
}

/** One key the schema allows, as a path with `[]` for list items, like `targets[].retry.base`. */
export interface SchemaKey {
  readonly path: string;
  /**
   * True when the key belongs to one form of a union (like `qq.shards.total`) or to an {@link alternativeForm}
   * (like `redis.cluster`), so a file shows only one form.
   */
  readonly alternative: boolean;
}

/** Every key the schema allows, depth first. Records (free-form mappings like `headers`) contribute no keys. */
export function schemaKeys(root: z.ZodType): SchemaKey[] {
  const keys: SchemaKey[] = [];
  const walk = (schema: z.ZodType, prefix: string, alternative: boolean): void => {
    const options = alternatives(schema);
    const inUnion = alternative || options.length > 1;
    for (const option of options) {
      if (option instanceof z.ZodObject) {
        for (const [key, child] of Object.entries<z.ZodType>(option.shape)) {
          const path = prefix === '' ? key : `${prefix}.${key}`;
          const alternativeKey = inUnion || ALTERNATIVE_FORMS.has(child);
          keys.push({ path, alternative: alternativeKey });
          walk(child, path, alternativeKey);
        }
      } else if (option instanceof z.ZodArray) {
        walk(option.element as z.ZodType, `${prefix}[]`, inUnion);
      }
    }
  };
  walk(root, '', false);
  return keys;
}
