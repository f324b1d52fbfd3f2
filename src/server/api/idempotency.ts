/**
 * `Idempotency-Key` on sends. The outbound queue already turns one key into one outbound id and stores it once
 * for 24 h; what it cannot see is a key reused for a different message, which would silently answer with the
 * first message's id. So the first request with a key binds the key to a fingerprint of what it asked for (scene,
 * openid and body), in Redis next to the queue, and a later request with the key and another fingerprint is
 * refused with 422. The binding is made before the message is enqueued and holds even when that request then
 * fails: a key means one message, whatever became of it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RedisClient } from '../../redis/client.js';
import type { QqMessageBody, Scene } from '../../outbound/message.js';
import { OUTBOUND_RETENTION_MS } from '../../outbound/send-queue.js';
import { invalid } from './api-error.js';
import { idempotencyKey } from '../../redis/keys.js';

/** The header, as node:http names it. */
const HEADER = 'idempotency-key';

/** The longest key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Visible ASCII, `!` to `~`: what the key may consist of. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * How long a binding lives: a minute longer than the queue's own dedupe of the key, so no request can find the
 * queue still deduping a key whose fingerprint is already forgotten.
 */
const BINDING_TTL_MS = OUTBOUND_RETENTION_MS + 60_000;

/** The request's Idempotency-Key, undefined without one; throws the 400 when it is malformed or given twice. */
export function readIdempotencyKey(req: IncomingMessage): string | undefined {
  const value = req.headers[HEADER];
  if (value === undefined) return undefined;
  // node:http joins a repeated header with ", ", which the character check below refuses.
  const key = Array.isArray(value) ? value.join(', ') : value;
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !VISIBLE_ASCII.test(key)) {
    throw invalid(
      'Idempotency-Key',
      `the Idempotency-Key header must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters ` +
        `(no spaces), given once, such as a UUID`,
    );
  }
  return key;
}

/** JSON with every object's keys sorted, so two bodies that differ only in key order fingerprint alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 of what a send asked for. */
export function sendFingerprint(scene: Scene, openid: string, body: QqMessageBody): string {
  return createHash('sha256').update(canonicalJson({ scene, openid, body })).digest('hex');
}

/** The Redis key holding a key's fingerprint; the key itself is hashed, so any key makes a short, plain name. */
export function idempotencyBindingKey(prefix: string, appId: string, key: string): string {
  return idempotencyKey(prefix, appId, createHash('sha256').update(key).digest('hex'));
}

/** KEYS[1] the binding; ARGV: fingerprint, ttl ms. */
const BIND = `
local bound = redis.call('GET', KEYS[1])
if not bound then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'new'
end
if bound == ARGV[1] then return 'same' end
return 'different'
`;

/** Whether a key was free (`new`), already bound to this fingerprint (`same`) or to another one (`different`). */
export type Binding = 'new' | 'same' | 'different';

/** Binds `bindingKey` to `fingerprint` unless it is bound already, atomically; resolves with what it found. */
export async function bindIdempotencyKey(
  redis: RedisClient,
  bindingKey: string,
  fingerprint: string,
): Promise<Binding> {
  const result = await redis.eval(BIND, 1, bindingKey, fingerprint, String(BINDING_TTL_MS));
  return result === 'new' || result === 'same' ? result : 'different';
}
