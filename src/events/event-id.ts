/**
 * Event ids and dedupe keys (docs/design.md §3, docs/qq-protocol.md D.7 and §9 item 1). The envelope `id` is QQ's dispatch id
 * when it sent one, else a hash of `t` + `d` that does not depend on key order, so a replayed or re-delivered frame
 * gets the same id. The dedupe key is coarser for messages: QQ may push one message as GROUP_AT_MESSAGE_CREATE and
 * GROUP_MESSAGE_CREATE under two frame ids, and both carry the same `d.id`.
 *
 * The id is the `webhook-id` header and part of Redis keys, and `t`, `id` and `d.id` are whatever the frame held:
 * every id made here is therefore at most {@link MAX_EVENT_ID_LENGTH} visible ASCII characters (docs/design.md §3),
 * and anything else QQ sends is replaced by a hash of it, computed once here so the envelope, the job and the
 * header agree.
 */
import { createHash } from 'node:crypto';
import type { DispatchFrame } from './envelope.js';
import { isRecord } from './check.js';

/** Message events whose `d.id` identifies the message across frames. */
const MESSAGE_EVENTS: ReadonlySet<string> = new Set([
  'GROUP_AT_MESSAGE_CREATE',
  'GROUP_MESSAGE_CREATE',
  'C2C_MESSAGE_CREATE',
]);

/** Hex digits of the sha256 kept in a hashed id: 128 bits. */
const HASH_HEX_LENGTH = 32;

/** Longest id used as sent; real QQ ids are under 100 characters, and a hashed id is at most 97. */
export const MAX_EVENT_ID_LENGTH = 128;

/** Longest part of `t` that starts a hashed id. QQ's event names are under 30 characters. */
const MAX_TYPE_PREFIX_LENGTH = 64;

/** Visible ASCII only: what an HTTP header value and a log line carry without escaping. */
const VISIBLE_ASCII = /^[!-~]*$/;

/**
 * JSON with object keys sorted (by UTF-16 code units), so equal values serialize equally whatever their key order.
 * Follows `JSON.stringify` for odd values (undefined, functions and symbols are skipped in objects and `null` in
 * arrays, non-finite numbers are `null`); bigints become strings and a cycle becomes `"[Circular]"`.
 */
function canonicalJson(value: unknown, ancestors: Set<object> = new Set()): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      return canonicalObject(value, ancestors);
    default:
      return 'null';
  }
}

function isSkipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function canonicalObject(value: object, ancestors: Set<object>): string {
  if (ancestors.has(value)) return '"[Circular]"';
  ancestors.add(value);
  try {
    if (Array.isArray(value))
      return `[${value.map((item: unknown) => canonicalJson(item, ancestors)).join(',')}]`;
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .filter((key) => !isSkipped(record[key]))
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key], ancestors)}`);
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

/** `t` as a string ('' when QQ sent none or something else). */
function qqTypeOf(frame: DispatchFrame): string {
  return typeof frame.t === 'string' ? frame.t : '';
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_HEX_LENGTH);
}

/** True when `id` can be used as sent: 1 to {@link MAX_EVENT_ID_LENGTH} visible ASCII characters. */
function isUsableAsSent(id: string): boolean {
  return id.length > 0 && id.length <= MAX_EVENT_ID_LENGTH && VISIBLE_ASCII.test(id);
}

/** `t` as the start of an id: its first 64 characters, each one outside visible ASCII replaced by `_`. */
function typePrefixOf(t: string): string {
  const prefix = t.slice(0, MAX_TYPE_PREFIX_LENGTH);
  return VISIBLE_ASCII.test(prefix) ? prefix : prefix.replace(/[^!-~]/g, '_');
}

/**
 * `<t>:<first 32 hex of sha256(t + text)>`: the id of an event QQ gave no id. A `t` that is not visible ASCII or
 * longer than 64 characters starts the id as {@link typePrefixOf} renders it; the hash still covers all of it.
 */
export function hashedEventId(t: string, text: string): string {
  return `${typePrefixOf(t)}:${digestOf(t + text)}`;
}

/**
 * The id of an event QQ sent `id` for: `id` itself when it is at most {@link MAX_EVENT_ID_LENGTH} visible ASCII
 * characters, else `<t>:<first 32 hex of sha256(t + NUL "id" NUL + id)>`, the same for every copy of the frame.
 */
export function frameEventId(t: string, id: string): string {
  return isUsableAsSent(id) ? id : hashedEventId(t, `\u0000id\u0000${id}`);
}

/**
 * The envelope id: {@link frameEventId} when `frame.id` is a non-empty string, else
 * `<t>:<first 32 hex of sha256(t + canonical JSON of d)>` (object keys sorted, so key order does not matter).
 */
export function eventIdOf(frame: DispatchFrame): string {
  const t = qqTypeOf(frame);
  if (typeof frame.id === 'string' && frame.id !== '') return frameEventId(t, frame.id);
  return hashedEventId(t, canonicalJson(frame.d));
}

/**
 * The key the producer dedupes on: `msg:<d.id>` for message events with a non-empty string `d.id` (the @-mention
 * and full-mode copies of one message share it), else the event id. A `d.id` that is not at most
 * {@link MAX_EVENT_ID_LENGTH} visible ASCII characters becomes `msg:<first 32 hex of sha256(d.id)>`, which does
 * not depend on `t`, so both copies still share it.
 */
export function dedupeKeyOf(frame: DispatchFrame): string {
  const d: unknown = frame.d;
  if (MESSAGE_EVENTS.has(qqTypeOf(frame)) && isRecord(d) && Object.hasOwn(d, 'id')) {
    const messageId = d.id;
    if (typeof messageId === 'string' && messageId !== '')
      return `msg:${isUsableAsSent(messageId) ? messageId : digestOf(messageId)}`;
  }
  return eventIdOf(frame);
}
