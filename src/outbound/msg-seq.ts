/**
 * `msg_seq` allocation (docs/qq-protocol.md §7.2, §9 item 8). QQ refuses a second message with the same `msg_id`
 * (or `event_id`) and `msg_seq` with `40054005`, so every passive message answering one inbound id gets the next
 * number of one Redis counter: 1, 2, 3 … across replies and API sends, across processes. The number is fixed per
 * outbound id: asking again for the same id (a redelivered reply, a repeated Idempotency-Key, a retry) returns the
 * number it got the first time, which is what lets a retry after an ambiguous failure be recognised by QQ.
 */
import type { RedisClient } from '../redis/client.js';
import { msgSeqKey as outboundMsgSeqKey } from '../redis/keys.js';

/**
 * KEYS[1] the counter hash of one inbound id; ARGV: outbound id, limit, ttl ms. Field `#` holds the last number
 * given out (outbound ids start with `ob_`, so they never collide with it). Returns the outbound id's number, or 0
 * when the inbound id already has `limit` numbers given to other outbound ids.
 */
const ALLOCATE = `
local given = redis.call('HGET', KEYS[1], ARGV[1])
if given then return tonumber(given) end
local last = tonumber(redis.call('HGET', KEYS[1], '#') or '0')
if last >= tonumber(ARGV[2]) then return 0 end
last = last + 1
redis.call('HSET', KEYS[1], '#', last, ARGV[1], last)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return last
`;

/**
 * How long a counter lives after its last allocation: longer than the longest passive-reply window (C2C, 60 min),
 * after which QQ accepts no reply to the inbound id anyway.
 */
export const MSG_SEQ_TTL_MS = 2 * 60 * 60_000;

/** What a passive message is numbered under: `m:<msg_id>` for message replies, `e:<event_id>` for event ones. */
export type SeqKey = `m:${string}` | `e:${string}`;

/** The counter key of an inbound id, next to the bot's outbound queue. */
export function msgSeqKey(prefix: string, appId: string, seqKey: SeqKey): string {
  return outboundMsgSeqKey(prefix, appId, seqKey);
}

/**
 * Allocates (or reads back) the `msg_seq` of outbound id `outboundId` under `seqKey`. Resolves with the number,
 * or `undefined` when `limit` numbers are already taken by other messages (QQ allows 5 replies per inbound id).
 */
export async function allocateMsgSeq(
  redis: RedisClient,
  key: string,
  outboundId: string,
  limit: number,
): Promise<number | undefined> {
  const result = await redis.eval(ALLOCATE, 1, key, outboundId, String(limit), String(MSG_SEQ_TTL_MS));
  const seq = Number(result);
  return Number.isInteger(seq) && seq > 0 ? seq : undefined;
}
