/**
 * A deliberately small checker for the shape of a dispatch's `d`. Each event in the catalog lists its fields as
 * rules; a failed rule becomes one `malformed` entry (`<where>: <what>`). It never throws and never stops at the
 * first problem, so a receiver sees everything that is wrong at once.
 */

/** A JSON object as it came off the wire. */
export type JsonRecord = Record<string, unknown>;

/** The kind a field must have. `absent` flags a field that would collide with a renamed one. */
export type FieldKind =
  'string' | 'integer' | 'boolean' | 'object' | 'array' | 'object[]' | 'string|integer' | 'absent';

export interface FieldRule {
  /** Dot path below `d`, e.g. `author.member_openid`. Children are checked only when their parent is an object. */
  readonly path: string;
  readonly kind: FieldKind;
  /** When true, a missing field is fine; a present one must still have the right kind. */
  readonly optional?: boolean;
  /** For `absent`: why the field must not be there. */
  readonly reason?: string;
}

const EXPECTED: Record<Exclude<FieldKind, 'absent'>, string> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  'object[]': 'an array of objects',
  'string|integer': 'a string or an integer',
};

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON-ish name of what was found, for messages: `string`, `number`, `null`, `array`, `object`… */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matches(kind: Exclude<FieldKind, 'absent'>, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isRecord(value);
    case 'array':
    case 'object[]':
      return Array.isArray(value);
    case 'string|integer':
      return typeof value === 'string' || Number.isSafeInteger(value);
  }
}

/** The `malformed` entry for a value that is not of the expected kind (`undefined` reads as missing). */
export function mismatch(where: string, expected: string, found: unknown): string {
  if (found === undefined) return `${where}: missing (expected ${expected})`;
  return `${where}: expected ${expected}, found ${describeKind(found)}`;
}

/**
 * The value at `path` below `root` (undefined when missing: JSON has no undefined), or `unreachable` when some
 * ancestor is missing or not an object — then the ancestor's own rule reports the problem.
 */
function resolve(root: JsonRecord, path: string): { unreachable: boolean; value: unknown } {
  const parts = path.split('.');
  let node: JsonRecord = root;
  for (const part of parts.slice(0, -1)) {
    const next = Object.hasOwn(node, part) ? node[part] : undefined;
    if (!isRecord(next)) return { unreachable: true, value: undefined };
    node = next;
  }
  const last = parts[parts.length - 1] ?? '';
  return { unreachable: false, value: Object.hasOwn(node, last) ? node[last] : undefined };
}

function checkRule(d: JsonRecord, rule: FieldRule): string[] {
  const where = `d.${rule.path}`;
  const { unreachable, value } = resolve(d, rule.path);
  if (unreachable) return [];
  if (rule.kind === 'absent') {
    return value === undefined ? [] : [`${where}: unexpected, ${rule.reason ?? 'not allowed here'}`];
  }
  if (value === undefined && rule.optional === true) return [];
  if (!matches(rule.kind, value)) return [mismatch(where, EXPECTED[rule.kind], value)];
  if (rule.kind === 'object[]' && Array.isArray(value)) {
    return value.flatMap((item: unknown, i) =>
      isRecord(item) ? [] : [mismatch(`${where}[${i}]`, 'an object', item)],
    );
  }
  return [];
}

/** Every rule `d` breaks, in rule order; empty when `d` is well-formed. */
export function checkFields(d: JsonRecord, rules: readonly FieldRule[]): string[] {
  return rules.flatMap((rule) => checkRule(d, rule));
}
