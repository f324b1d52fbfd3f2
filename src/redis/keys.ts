/**
 * The Redis key layout: every key the bridge writes is named here. Redis Cluster places a key by its hash tag (the
 * text between the first `{` and the next `}`), and a multi-key command or Lua script must find all its keys in
 * one slot. So every group of keys that is used together gets one tag, and nothing else shares it:
 *
 * - a target's delivery queue: `{<base>:t:<target>}` is its BullMQ prefix (BullMQ's scripts touch many keys of
 *   one queue), with its dead-letter sweep lock;
 * - the bot's outbound queue: `{<base>:o:<app id>}`, with the `msg_seq` counters and Idempotency-Key bindings
 *   of its messages;
 * - a gateway shard: `{<base>:shard:<app id>:<shard>}` holds its lease, fencing counter and session (the fenced
 *   session write checks the lease in the same script);
 * - the bot's gateway: `{<base>:bot:<app id>}` holds the live-replica set and the shard readiness hash.
 *
 * `<base>` is `redis.prefix` without its braces (`{qqwb}` → `qqwb`). Ids are escaped so that no id can end the
 * tag early. Keys of the layout before this one (everything under the single tag `redis.prefix`) are named in
 * legacy-keys.ts, for the upgrade.
 */

/** What `redis.prefix` may be, for error messages. */
export const PREFIX_EXPECTED =
  'expected a key prefix like {qqwb}: a name in braces (a bare name is read as in braces), no spaces or other braces';

/**
 * The base name of `prefix`: `{qqwb}` → `qqwb`; a bare `qqwb` is taken as `{qqwb}`. Undefined for a prefix that
 * cannot be a base: empty, with spaces, or with braces anywhere but around the whole of it.
 */
export function parseKeyBase(prefix: string): string | undefined {
  const base = /^\{(.*)\}$/.exec(prefix)?.[1] ?? prefix;
  return /^[^\s{}]+$/.test(base) ? base : undefined;
}

/**
 * The base of a prefix: {@link parseKeyBase} for the prefixes the configuration accepts; any other (a test's or the
 * bench's sub-prefix such as `{run}:phase`) loses its braces, so it still cannot break a tag.
 */
function keyBase(prefix: string): string {
  return parseKeyBase(prefix) ?? prefix.replace(/[{}]/g, '');
}

/**
 * `id` with `%`, `{`, `}` and `:` written as `%25`, `%7B`, `%7D`, `%3A`: an id can neither close the hash tag
 * nor run into the next part of it, and two ids never escape alike.
 */
export function escapeKeyPart(id: string): string {
  return id.replace(/[%{}:]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `{<base>:<kind>:<escaped id parts>}`. */
function tag(prefix: string, kind: string, ...ids: (string | number)[]): string {
  return `{${[keyBase(prefix), kind, ...ids.map((id) => escapeKeyPart(String(id)))].join(':')}}`;
}

/** The BullMQ prefix of target `targetId`'s delivery queue; its keys are `<this>:deliver-<target>:…`. */
export function targetQueuePrefix(prefix: string, targetId: string): string {
  return tag(prefix, 't', targetId);
}

/** The BullMQ prefix of the bot's outbound queue; its keys are `<this>:outbound-<app id>:…`. */
export function outboundQueuePrefix(prefix: string, appId: string): string {
  return tag(prefix, 'o', appId);
}

/** The lock a worker holds while it trims a target's dead letters. */
export function targetSweepLockKey(prefix: string, targetId: string): string {
  return `${targetQueuePrefix(prefix, targetId)}:dead-letter-sweep`;
}

/** The lock a worker holds while it trims the outbound dead letters. */
export function outboundSweepLockKey(prefix: string, appId: string): string {
  return `${outboundQueuePrefix(prefix, appId)}:dead-letter-sweep`;
}

/** The `msg_seq` counter of one inbound id (`m:<msg_id>` or `e:<event_id>`); after the tag, so any id is fine. */
export function msgSeqKey(prefix: string, appId: string, seqKey: string): string {
  return `${outboundQueuePrefix(prefix, appId)}:msgseq:${seqKey}`;
}

/** The binding of one Idempotency-Key (its SHA-256 in hex) to the fingerprint of its message. */
export function idempotencyKey(prefix: string, appId: string, keyHash: string): string {
  return `${outboundQueuePrefix(prefix, appId)}:idempotency:${keyHash}`;
}

/** The hash tag of one gateway shard's keys. */
export function shardTag(prefix: string, appId: string, shardId: number): string {
  return tag(prefix, 'shard', appId, shardId);
}

/** A shard's lease; its value is `<owner>:<fencing token>`. */
export function leaseKey(prefix: string, appId: string, shardId: number): string {
  return `${shardTag(prefix, appId, shardId)}:lease`;
}

/** A shard's fencing counter, which never expires. */
export function leaseFenceKey(prefix: string, appId: string, shardId: number): string {
  return `${shardTag(prefix, appId, shardId)}:lease-fence`;
}

/** A shard's persisted gateway session (session_id + processed seq). */
export function sessionKey(prefix: string, appId: string, shardId: number): string {
  return `${shardTag(prefix, appId, shardId)}:session`;
}

/** The sorted set of the bot's live gateway replicas. */
export function replicasKey(prefix: string, appId: string): string {
  return `${tag(prefix, 'bot', appId)}:replicas`;
}

/** The hash of the bot's shard readiness. */
export function gatewayReadyKey(prefix: string, appId: string): string {
  return `${tag(prefix, 'bot', appId)}:gateway-ready`;
}

/**
 * SCAN patterns that match every key of `prefix`, in this layout and the one before: `{<base>:*` and
 * `<prefix>*`, with SCAN's glob characters escaped.
 */
export function keyPatterns(prefix: string): string[] {
  const glob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');
  return [`{${glob(keyBase(prefix))}:*`, `${glob(prefix)}*`];
}
