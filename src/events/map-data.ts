/**
 * The `d` → `data` mappers of the catalog (docs/design.md §3). Every mapper keeps the fields it does not name, so nothing
 * QQ sends is silently dropped, and builds objects with `Object.fromEntries` so an own `__proto__` key in `d` stays
 * an ordinary key instead of changing a prototype.
 */
import { isRecord, type JsonRecord } from './check.js';

/** Turns a well- or ill-formed `d` object into the envelope's `data`. Never throws. */
export type DataMapper = (d: JsonRecord) => JsonRecord;

/** Fields a message envelope lists first inside `data.message`, in this order. */
const MESSAGE_HEAD = ['id', 'content', 'attachments', 'timestamp'] as const;

function defined(entries: readonly (readonly [string, unknown])[]): JsonRecord {
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

function own(d: JsonRecord, key: string): unknown {
  return Object.hasOwn(d, key) ? d[key] : undefined;
}

/** `d` unchanged (a shallow copy, so the envelope never aliases the frame). */
export const keepAsIs: DataMapper = (d) => Object.fromEntries(Object.entries(d));

/**
 * `d` with `from` renamed to `to`, in place in the key order. When `to` is already in `d` nothing is renamed and
 * both keys are kept as sent (the catalog reports the collision as malformed).
 */
export function renameKey(from: string, to: string): DataMapper {
  return (d) => {
    if (!Object.hasOwn(d, from) || Object.hasOwn(d, to)) return keepAsIs(d);
    return Object.fromEntries(Object.entries(d).map(([key, value]) => [key === from ? to : key, value]));
  };
}

/**
 * `data.message`: id, content, attachments (`[]` when absent), timestamp, then every other field of `d` except
 * those lifted to the top of `data` (`lifted`).
 */
function messageOf(d: JsonRecord, lifted: readonly string[]): JsonRecord {
  const skip = new Set<string>([...MESSAGE_HEAD, ...lifted]);
  const head = MESSAGE_HEAD.map((key): [string, unknown] => {
    const value = own(d, key);
    return [key, key === 'attachments' && value === undefined ? [] : value];
  });
  return defined([...head, ...Object.entries(d).filter(([key]) => !skip.has(key))]);
}

/** GROUP_AT_MESSAGE_CREATE / GROUP_MESSAGE_CREATE → `{ group_openid, group_id?, message, author }`. */
export const groupMessageData: DataMapper = (d) =>
  defined([
    ['group_openid', own(d, 'group_openid')],
    ['group_id', own(d, 'group_id')],
    ['message', messageOf(d, ['author', 'group_openid', 'group_id'])],
    ['author', own(d, 'author')],
  ]);

/** C2C_MESSAGE_CREATE → `{ user_openid (from author.user_openid), message, author }`. */
export const c2cMessageData: DataMapper = (d) => {
  const author = own(d, 'author');
  return defined([
    ['user_openid', isRecord(author) ? own(author, 'user_openid') : undefined],
    ['message', messageOf(d, ['author'])],
    ['author', author],
  ]);
};
