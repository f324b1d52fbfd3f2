/**
 * What QQ's answer to one send means for the outbound job (docs/qq-protocol.md §7.2, §8; docs/design.md §4): sent,
 * try again later, or failed for good. Pure: the sender makes the call, this reads the answer. Status classes come
 * from the delivery classification (src/delivery/classify.ts), so inbound and outbound agree on what "later" means.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { classifyErrorCode, classifyStatus } from '../delivery/classify.js';
import { parseRetryAfterMs } from '../delivery/retry-after.js';
import { isTokenRejection, parseJsonText, qqErrorBody, type QqErrorBody } from '../qq/rest-client.js';

/** What an attempt means: done, again later, or never. */
export type SendOutcome = 'sent' | 'retry' | 'failed';

/** `msg_id`/`event_id` + `msg_seq` seen before: QQ already has this message (§7.2). */
export const QQ_DUPLICATE_MSG_SEQ = 40054005;
/** SESSION_NOT_EXIST, "bot not connected to gateway" (§7.1): later, once the gateway is back. */
export const QQ_SESSION_NOT_EXIST = 304018;

/** The verdict on one answer, or on the absence of one. */
export interface SendVerdict {
  readonly outcome: SendOutcome;
  /** `QQ_<code>` for QQ's business codes, `HTTP_<status>`, or a network code such as `ECONNREFUSED`. */
  readonly errorCode?: string;
  /** What went wrong, for people: QQ's message, the status, the trace id. */
  readonly error?: string;
  /** QQ's `Retry-After`, in ms, on a retry. */
  readonly retryAfterMs?: number;
  /** QQ's message id, when sent. */
  readonly qqId?: string;
  /** QQ's timestamp as sent (integer or RFC 3339 string), when sent. */
  readonly timestamp?: number | string;
  /** Sent because a repeated send was answered {@link QQ_DUPLICATE_MSG_SEQ}: an earlier attempt reached QQ. */
  readonly duplicate?: boolean;
  /** QQ refused the token: the caller drops it so the next attempt fetches a new one. */
  readonly tokenRejected?: boolean;
}

/** One answer from QQ, as the REST client returns it. */
export interface SendAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly bodyFailure?: string;
  readonly traceId?: string;
}

/** What is being judged: a message (answered `{id, timestamp}`) or an interaction ack (an empty 2xx). */
export interface SendContext {
  readonly kind: 'message' | 'interaction';
  /**
   * True when an earlier attempt of this job may have reached QQ (a retry, or a job taken over from a worker that
   * stopped mid-send). Only then does {@link QQ_DUPLICATE_MSG_SEQ} mean "already sent"; on a first send it means
   * the `msg_seq` collided with another message, a real failure.
   */
  readonly repeated: boolean;
  /** Current unix ms, for an HTTP-date `Retry-After`. */
  readonly nowMs: number;
}

/** `QQ code 40034005: <message> (HTTP 400, trace t-1)`, or `HTTP 502 (trace t-1)` when QQ sent no code. */
function describeAnswer(status: number, qq: QqErrorBody, traceId: string | undefined): string {
  const trace = traceId ?? qq.traceId;
  const where = [`HTTP ${status}`, ...(trace === undefined ? [] : [`trace ${trace}`])].join(', ');
  if (qq.code === undefined) return qq.message === undefined ? where : `${where}: ${qq.message}`;
  return `QQ code ${qq.code}${qq.message === undefined ? '' : `: ${qq.message}`} (${where})`;
}

function answerCode(status: number, qq: QqErrorBody): string {
  return qq.code !== undefined && qq.code !== 0 ? `QQ_${qq.code}` : `HTTP_${status}`;
}

/** The `{id, timestamp}` of a 2xx message answer; either may be missing (QQ's audit answers carry neither). */
function sentFields(parsed: unknown): Pick<SendVerdict, 'qqId' | 'timestamp'> {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const { id, timestamp } = parsed as Record<string, unknown>;
  const qqId = typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
  const stamp =
    typeof timestamp === 'string' || (typeof timestamp === 'number' && Number.isFinite(timestamp))
      ? timestamp
      : undefined;
  return { ...(qqId === undefined ? {} : { qqId }), ...(stamp === undefined ? {} : { timestamp: stamp }) };
}

/**
 * Judges QQ's answer. In order: a body that stopped arriving is ambiguous (retry: `msg_seq` makes the resend
 * safe); a token refusal (HTTP 401, codes 11241–11244) is retried with a new token; `40054005` is sent on a repeated
 * send and a failure otherwise; `304018` waits for the gateway (retry); 408, 425, 429 (with `Retry-After`) and 5xx
 * are retried; any other status, and HTTP 2xx with a non-zero `code`, fail at once; the rest is sent.
 */
export function judgeAnswer(answer: SendAnswer, context: SendContext): SendVerdict {
  const qq = qqErrorBody(parseJsonText(answer.body));
  const { status } = answer;
  const text = describeAnswer(status, qq, answer.traceId);
  if (answer.bodyFailure !== undefined) {
    return {
      outcome: 'retry',
      errorCode: answer.bodyFailure,
      error: `${text}; the answer stopped arriving (${answer.bodyFailure}), so whether QQ took it is unknown`,
    };
  }
  if (isTokenRejection(status, qq.code)) {
    return { outcome: 'retry', errorCode: answerCode(status, qq), error: text, tokenRejected: true };
  }
  if (qq.code === QQ_DUPLICATE_MSG_SEQ && context.kind === 'message') {
    if (context.repeated) return { outcome: 'sent', duplicate: true };
    return {
      outcome: 'failed',
      errorCode: answerCode(status, qq),
      error: `${text}; on a first send this means another message already used this msg_seq`,
    };
  }
  if (qq.code === QQ_SESSION_NOT_EXIST) {
    return { outcome: 'retry', errorCode: answerCode(status, qq), error: text };
  }
  const byStatus = classifyStatus(status);
  if (byStatus === 'retry') {
    const retryAfterMs = parseRetryAfterMs(answer.headers['retry-after'], context.nowMs);
    return {
      outcome: 'retry',
      errorCode: `HTTP_${status}`,
      error: text,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  if (byStatus === 'rejected' || (qq.code !== undefined && qq.code !== 0)) {
    return { outcome: 'failed', errorCode: answerCode(status, qq), error: text };
  }
  if (context.kind === 'interaction') return { outcome: 'sent' };
  return { outcome: 'sent', ...sentFields(parseJsonText(answer.body)) };
}

/**
 * Judges a call that got no answer, from its stable code (src/delivery/classify.ts): network failures, timeouts
 * and a missing token are retried; a request undici refuses to send (a malformed `qq.api_base`) fails.
 */
export function judgeUnreachable(reason: string, message: string): SendVerdict {
  const { outcome } = classifyErrorCode(reason);
  return { outcome: outcome === 'retry' ? 'retry' : 'failed', errorCode: reason, error: message };
}
