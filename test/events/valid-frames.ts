/**
 * Valid dispatches of every catalog event, generated with fast-check from the event's own rules, and the envelope
 * docs/envelope.md says each becomes. Properties over hostile input use {@link expectedData} too: the mappers
 * keep every field of `d`, whatever its shape, so `data` is predictable for any frame.
 */
import fc from 'fast-check';
import { EVENT_CATALOG, type CatalogEntry } from '../../src/events/catalog.js';
import { isRecord, type FieldKind, type FieldRule, type JsonRecord } from '../../src/events/check.js';
import type { DispatchFrame, Envelope } from '../../src/events/envelope.js';
import type { NormalizeContext } from '../../src/events/normalize.js';

/** An own field, never an inherited one (`constructor`, an own `__proto__` key read as a key). */
const own = (d: JsonRecord, key: string): unknown => (Object.hasOwn(d, key) ? d[key] : undefined);

const defined = (entries: [string, unknown][]): JsonRecord =>
  Object.fromEntries(entries.filter(([, value]) => value !== undefined));

/** Events whose `data` is `d` with one key renamed (docs/envelope.md), unless the new name is taken already. */
const RENAMED: Readonly<Record<string, readonly [string, string]>> = {
  GROUP_ADD_ROBOT: ['op_member_openid', 'operator_openid'],
  GROUP_DEL_ROBOT: ['op_member_openid', 'operator_openid'],
  GROUP_MSG_REJECT: ['op_member_openid', 'operator_openid'],
  GROUP_MSG_RECEIVE: ['op_member_openid', 'operator_openid'],
  FRIEND_ADD: ['openid', 'user_openid'],
  FRIEND_DEL: ['openid', 'user_openid'],
  C2C_MSG_REJECT: ['openid', 'user_openid'],
  C2C_MSG_RECEIVE: ['openid', 'user_openid'],
};
const AS_IS: ReadonlySet<string> = new Set(['GROUP_MEMBER_ADD', 'GROUP_MEMBER_REMOVE', 'INTERACTION_CREATE']);
const GROUP_MESSAGES: ReadonlySet<string> = new Set(['GROUP_AT_MESSAGE_CREATE', 'GROUP_MESSAGE_CREATE']);

/** `data.message`: id, content, attachments (`[]` when absent), timestamp, then the rest of `d` but `lifted`. */
function messageOf(d: JsonRecord, lifted: readonly string[]): JsonRecord {
  const head = ['id', 'content', 'attachments', 'timestamp'];
  const attachments = own(d, 'attachments');
  return defined([
    ['id', own(d, 'id')],
    ['content', own(d, 'content')],
    ['attachments', attachments === undefined ? [] : attachments],
    ['timestamp', own(d, 'timestamp')],
    ...Object.entries(d).filter(([key]) => !head.includes(key) && !lifted.includes(key)),
  ]);
}

/** The `data` of the envelope of a frame with `t` and `d` (docs/envelope.md), for any `d`. */
export function expectedData(t: string, d: unknown): JsonRecord {
  if (!isRecord(d)) return d === undefined ? {} : { value: d };
  if (!Object.hasOwn(EVENT_CATALOG, t) || AS_IS.has(t)) return Object.fromEntries(Object.entries(d));
  const rename = RENAMED[t];
  if (rename) {
    const [from, to] = rename;
    const keep = !Object.hasOwn(d, from) || Object.hasOwn(d, to);
    return Object.fromEntries(
      Object.entries(d).map(([key, value]) => [!keep && key === from ? to : key, value]),
    );
  }
  const author = own(d, 'author');
  if (GROUP_MESSAGES.has(t)) {
    return defined([
      ['group_openid', own(d, 'group_openid')],
      ['group_id', own(d, 'group_id')],
      ['message', messageOf(d, ['author', 'group_openid', 'group_id'])],
      ['author', author],
    ]);
  }
  if (t === 'C2C_MESSAGE_CREATE') {
    return defined([
      ['user_openid', isRecord(author) ? own(author, 'user_openid') : undefined],
      ['message', messageOf(d, ['author'])],
      ['author', author],
    ]);
  }
  throw new Error(`no expected data mapping for catalog event ${t}: add it here`);
}

/** {@link expectedData} for any input `normalize` may get, read the way it reads a frame. */
export function expectedDataOfInput(input: unknown): JsonRecord {
  const frame = isRecord(input) ? input : {};
  return expectedData(typeof frame.t === 'string' ? frame.t : '', frame.d);
}

/** The note of normalize's last resort, which a frame a JSON parser produced never needs. */
export const UNREADABLE_NOTE = /^frame: could not be read/;

/** Keys no catalog rule names, nor a renamed field: what QQ may add later. */
const extraKey = fc.constantFrom('extra', 'future_field', 'x_新', 'nested');
const extras = fc.dictionary(extraKey, fc.jsonValue({ depthSize: 'small' }), { maxKeys: 2 });

/** A time QQ could send: 2000 to 2100. */
const instantMs = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) });

/** A field's value: its `timestamp` readable as a time; `id` visible ASCII, as QQ's are. */
function valueOf(
  kind: Exclude<FieldKind, 'absent'>,
  path: string,
  children: readonly FieldRule[],
): fc.Arbitrary<unknown> {
  if (path === 'timestamp' && kind === 'integer') return instantMs.map((ms) => Math.floor(ms / 1000));
  if (path === 'timestamp' && kind === 'string')
    return instantMs.map((ms) => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00'));
  if (path === 'id' && kind === 'string') return fc.stringMatching(/^[!-~]{1,100}$/);
  switch (kind) {
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 16 });
    case 'integer':
      return fc.maxSafeInteger();
    case 'boolean':
      return fc.boolean();
    case 'object':
      return recordOf(children);
    case 'array':
      return fc.array(fc.jsonValue({ depthSize: 'small' }), { maxLength: 3 });
    case 'object[]':
      return fc.array(recordOf([]), { maxLength: 3 });
    case 'string|integer':
      return fc.oneof(fc.string({ maxLength: 16 }), fc.maxSafeInteger());
  }
}

/** An object that satisfies `rules` (paths relative to it), optional fields sometimes left out, plus extras. */
function recordOf(rules: readonly FieldRule[]): fc.Arbitrary<JsonRecord> {
  const fieldRules = rules.filter((rule) => !rule.path.includes('.') && rule.kind !== 'absent');
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const rule of fieldRules) {
    const children = rules
      .filter((child) => child.path.startsWith(`${rule.path}.`))
      .map((child) => ({ ...child, path: child.path.slice(rule.path.length + 1) }));
    model[rule.path] = valueOf(rule.kind as Exclude<FieldKind, 'absent'>, rule.path, children);
  }
  const requiredKeys = fieldRules.filter((rule) => rule.optional !== true).map((rule) => rule.path);
  return fc
    .tuple(fc.record(model, { requiredKeys }), extras)
    .map(([fields, extra]) => Object.fromEntries([...Object.entries(extra), ...Object.entries(fields)]));
}

/** A valid dispatch of `entry`: every rule of its `d` holds, with a QQ-style id and a sequence number. */
export function validFrameOf(entry: CatalogEntry): fc.Arbitrary<DispatchFrame> {
  return fc.record({ uuid: fc.uuid(), s: fc.nat(), d: recordOf(entry.rules) }).map(({ uuid, s, d }) => ({
    op: 0 as const,
    s,
    t: entry.qqType,
    id: `${entry.qqType}:${uuid}`,
    d,
  }));
}

/** A valid dispatch of any catalog event. */
export const validFrame: fc.Arbitrary<DispatchFrame> = fc.oneof(
  ...Object.values(EVENT_CATALOG).map((entry) => validFrameOf(entry)),
);

/** The whole envelope a valid frame from {@link validFrameOf} becomes: no `malformed`, every field mapped. */
export function expectedEnvelope(frame: DispatchFrame, ctx: NormalizeContext): Envelope {
  const entry = EVENT_CATALOG[frame.t]!;
  const d = frame.d as JsonRecord;
  const timestamp = d.timestamp;
  return {
    id: frame.id!,
    type: entry.type,
    qq_type: frame.t,
    occurred_at: new Date(typeof timestamp === 'number' ? timestamp * 1000 : String(timestamp)).toISOString(),
    received_at: ctx.receivedAt.toISOString(),
    app_id: ctx.appId,
    shard: [ctx.shard[0], ctx.shard[1]],
    seq: frame.s ?? null,
    data: expectedData(frame.t, d),
    v: 1,
  };
}
