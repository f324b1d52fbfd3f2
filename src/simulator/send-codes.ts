import { randomUUID } from 'node:crypto';

/**
 * The business error codes the simulator answers on QQ's send routes (docs/qq-protocol.md §7.2, §8). Where the
 * protocol reference documents a code for the case, that code is used; where QQ's code for a case is not
 * documented, the simulator picks one in the same shape and says so here, so a client never hard-codes it as QQ's.
 */
export const SEND_CODE = {
  /** docs/qq-protocol.md §1.2, §9 item 5: a missing or expired token (HTTP 401). */
  TOKEN_NOT_EXIST: 11244,
  /** docs/qq-protocol.md §1.4: `X-Union-Appid` missing or not this bot's app id (recorded by satori). */
  APPID_HEADER: 630006,
  /** docs/qq-protocol.md §7.2: passive reply past its window (the table lists it for "expired, or too many"). */
  REPLY_EXPIRED: 40034005,
  /** docs/qq-protocol.md §7.2: a sixth passive message to one inbound id (same table row as 40034005). */
  REPLY_LIMIT: 40034128,
  /** docs/qq-protocol.md §7.2, §9 item 8: the same `msg_id`/`event_id` + `msg_seq` again. */
  DUPLICATE_MSG_SEQ: 40054005,
  /** docs/qq-protocol.md §5.4: an `event_id` of an event QQ accepts no reply to. */
  EVENT_NOT_REPLIABLE: 40034027,
  /** docs/qq-protocol.md §0.2, §7.2: an active message without the permission. */
  ACTIVE_NOT_ALLOWED: 40034105,
  /** docs/qq-protocol.md §7.2: `22009 msg limit exceed`, sending too often (with HTTP 429 here). */
  MSG_LIMIT: 22009,
  /** docs/qq-protocol.md §7.2 `304027 MSG_EXPIRE`; answering a recall after its 2 minutes with it is a choice. */
  RECALL_EXPIRED: 304027,
  /** Simulator's choice: a body that is not a valid message (QQ's code is not documented). */
  INVALID_BODY: 40034001,
  /** Simulator's choice of code; the message is the one QQ answers an unknown `msg_id` with (HTTP 400). */
  MSG_ID_INVALID: 40034024,
  /** Simulator's choice: an `event_id` the simulator never emitted, or one of another group or user. */
  EVENT_ID_INVALID: 40034025,
  /** Simulator's choice: a recall of a message id that was never delivered here, or is already recalled. */
  MESSAGE_NOT_FOUND: 40034026,
  /** Simulator's choice: an acknowledgement of an interaction id the simulator never emitted. */
  INTERACTION_NOT_FOUND: 40034029,
} as const;

/** The messages that go with the codes; the Chinese ones are QQ's own wording (docs/qq-protocol.md). */
export const SEND_MESSAGE = {
  TOKEN_NOT_EXIST: 'token not exist or expire',
  APPID_HEADER: 'get header appid failed',
  DUPLICATE_MSG_SEQ: '消息被去重，请检查请求msgseq',
  EVENT_NOT_REPLIABLE: '请求参数event_id对应事件不能回复消息',
  ACTIVE_NOT_ALLOWED: '主动消息失败, 无权限',
  MSG_LIMIT: 'msg limit exceed',
  MSG_ID_INVALID: '请求参数msg_id无效或越权',
} as const;

/** QQ's error body: `{message, code, err_code, trace_id}` (docs/qq-protocol.md §8). */
export interface QqErrorBody {
  message: string;
  code: number;
  err_code: number;
  trace_id: string;
}

/** An error body with a fresh trace id; the same id goes in the `X-Tps-Trace-Id` header (docs/qq-protocol.md §1.4). */
export function qqErrorBody(code: number, message: string, traceId: string = randomUUID()): QqErrorBody {
  return { message, code, err_code: code, trace_id: traceId };
}
