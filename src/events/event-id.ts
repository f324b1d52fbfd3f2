/**
 * Event ids and dedupe keys (DESIGN.md §3, PROTOCOL.md D.7 and §9 item 1). The envelope `id` is QQ's dispatch id
 * when it sent one, else a hash of `t` + `d` that does not depend on key order, so a replayed or re-delivered frame
 * gets the same id. The dedupe key is coarser for messages: QQ may push one message as GROUP_AT_MESSAGE_CREATE and
 * GROUP_MESSAGE_CREATE under two frame ids, and both carry the same `d.id`.
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

/** `<t>:<first 32 hex of sha256(t + text)>`: the id of an event QQ gave no id. */
export function hashedEventId(t: string, text: string): string {
  const digest = createHash('sha256')
    .update(t + text)
    .digest('hex');
  return `${t}:${digest.slice(0, HASH_HEX_LENGTH)}`;
}

/**
 * The envelope id: `frame.id` when it is a non-empty string, else
 * `<t>:<first 32 hex of sha256(t + canonical JSON of d)>` (object keys sorted, so key order does not matter).
 */
export function eventIdOf(frame: DispatchFrame): string {
  if (typeof frame.id === 'string' && frame.id !== '') return frame.id;
  const t = qqTypeOf(frame);
  return hashedEventId(t, canonicalJson(frame.d));
}

/**
 * The key the producer dedupes on: `msg:<d.id>` for message events with a non-empty string `d.id` (the @-mention
 * and full-mode copies of one message share it), else the event id.
 */
export function dedupeKeyOf(frame: DispatchFrame): string {
  const d: unknown = frame.d;
  if (MESSAGE_EVENTS.has(qqTypeOf(frame)) && isRecord(d) && Object.hasOwn(d, 'id')) {
    const messageId = d.id;
    if (typeof messageId === 'string' && messageId !== '') return `msg:${messageId}`;
  }
  return eventIdOf(frame);
}
