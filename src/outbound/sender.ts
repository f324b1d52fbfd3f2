/**
 * One attempt of an outbound job against QQ (docs/qq-protocol.md §8): a message is POSTed to
 * `/v2/groups|users/{openid}/messages`, an interaction acknowledged with `PUT /interactions/{id}`. The body sent is
 * exactly the stored one, `msg_seq` included, so that QQ recognises a retry of a message it already has.
 */
import type { Dispatcher } from 'undici';
import { UNKNOWN_NETWORK_CODE } from '../delivery/classify.js';
import { RECORDED_BODY_BYTES } from '../delivery/deliver.js';
import {
  QqRestClient,
  QqUnreachableError,
  traceIdOf,
  type QqCallOptions,
  type QqMethod,
  type QqResponse,
  type QqTokenSource,
} from '../qq/rest-client.js';
import { leadingText } from '../util/response-body.js';
import { messagePath, type OutboundJobData } from './message.js';
import { judgeAnswer, judgeUnreachable, type SendOutcome, type SendVerdict } from './send-verdict.js';

export type { SendOutcome } from './send-verdict.js';

/**
 * One attempt as the outbound job's log keeps it: the shape of the delivery attempt record (src/queue/job.ts)
 * with the outbound outcomes, plus what QQ answered when it took the message.
 */
export interface OutboundAttemptRecord {
  /** 1-based. */
  attempt: number;
  /** ISO time the attempt started. */
  at: string;
  /** HTTP status, absent when no answer arrived. */
  status?: number;
  latencyMs: number;
  outcome: SendOutcome;
  /** `QQ_40034005`, `HTTP_500`, `ECONNREFUSED`, `ETIMEDOUT`, `BRIDGE_ERR_QQ_TOKEN`, … */
  errorCode?: string;
  error?: string;
  /** The first 1 KiB of QQ's answer. */
  body?: string;
  /** QQ's `X-Tps-trace-ID`, which QQ support asks for. */
  traceId?: string;
  /** QQ's message id, when sent. */
  qqId?: string;
  /** QQ's timestamp as it sent it, when sent. */
  timestamp?: number | string;
  /** Sent because QQ answered `40054005` to a repeated send: it already had the message. */
  duplicate?: true;
}

/** One attempt's record plus what only the worker needs. */
export interface SendAttempt extends OutboundAttemptRecord {
  /** QQ's `Retry-After`, ms, on a retry. */
  retryAfterMs?: number;
  /**
   * False when the attempt ended before the request left the process (shut down while waiting for the token):
   * QQ cannot have it, so the worker hands the job back without using up an attempt.
   */
  dispatched: boolean;
}

/** What the worker hands the sender for one attempt. */
export interface SendInput {
  /** 1-based attempt number. */
  readonly attempt: number;
  /**
   * True when an earlier request for this job may have reached QQ although `attempt` is 1: the job was taken over
   * from a worker that stopped mid-send (BullMQ's stalled-job check). Default: `attempt >= 2`.
   */
  readonly repeated?: boolean;
  /** Aborts the attempt (shutdown); it is then a retry with code `BRIDGE_ERR_ABORTED`. */
  readonly signal?: AbortSignal;
}

/** Options of {@link QqSender}. */
export interface QqSenderOptions {
  /** `qq.api_base`. */
  readonly apiBase: string;
  readonly appId: string;
  /** The bot's AccessTokenManager. */
  readonly tokens: QqTokenSource;
  /** `outbound.timeout`, ms: one call's limit. QQ advises at least 5 s, or a sent message may look failed (§7.2). */
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
  /** Clock for the attempt's `at` and HTTP-date `Retry-After`; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** The method, path and body of a job's call to QQ. */
function callOf(job: OutboundJobData): { method: QqMethod; path: string; body: unknown } {
  if (job.kind === 'interaction') {
    return {
      method: 'PUT',
      path: `/interactions/${encodeURIComponent(job.interactionId)}`,
      body: { code: job.code },
    };
  }
  return { method: 'POST', path: messagePath(job.scene, job.openid), body: job.body };
}

/** The record fields of a verdict, without the ones that are absent. */
function verdictFields(verdict: SendVerdict): Partial<OutboundAttemptRecord> & { retryAfterMs?: number } {
  return {
    ...(verdict.errorCode === undefined ? {} : { errorCode: verdict.errorCode }),
    ...(verdict.error === undefined ? {} : { error: verdict.error }),
    ...(verdict.qqId === undefined ? {} : { qqId: verdict.qqId }),
    ...(verdict.timestamp === undefined ? {} : { timestamp: verdict.timestamp }),
    ...(verdict.duplicate === true ? { duplicate: true as const } : {}),
    ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
  };
}

/**
 * Sends outbound jobs to QQ with the bot's token. One per process and bot; it holds no connections of its own
 * beyond undici's pool. Also the way to make any other authorized QQ call ({@link QqSender.request}), such as a
 * recall, with the same token handling.
 */
export class QqSender {
  readonly #client: QqRestClient;
  readonly #tokens: QqTokenSource;
  readonly #now: () => number;

  constructor(options: QqSenderOptions) {
    this.#client = new QqRestClient(options);
    this.#tokens = options.tokens;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Makes one attempt of `job` and says what it means. Never throws: a network failure, a timeout, an abort or a
   * missing token become a `retry` record (a malformed API base a `failed` one).
   */
  async send(job: OutboundJobData, input: SendInput): Promise<SendAttempt> {
    const startedMs = this.#now();
    const started = performance.now();
    const base = { attempt: input.attempt, at: new Date(startedMs).toISOString() };
    const latency = (): number => Math.round(performance.now() - started);
    const { method, path, body } = callOf(job);
    let response: QqResponse;
    try {
      response = await this.#client.request(method, path, body, input.signal ? { signal: input.signal } : {});
    } catch (err) {
      const reason = err instanceof QqUnreachableError ? err.reason : UNKNOWN_NETWORK_CODE;
      const message = err instanceof Error ? err.message : String(err);
      const verdict = judgeUnreachable(reason, message);
      const dispatched = !(err instanceof QqUnreachableError) || err.dispatched;
      return {
        ...base,
        latencyMs: latency(),
        outcome: verdict.outcome,
        ...verdictFields(verdict),
        dispatched,
      };
    }
    const traceId = traceIdOf(response.headers);
    const verdict = judgeAnswer(
      { ...response, ...(traceId === undefined ? {} : { traceId }) },
      { kind: job.kind, repeated: input.repeated ?? input.attempt >= 2, nowMs: this.#now() },
    );
    // The client already retried once with a fresh token; dropping it again makes the next attempt fetch anew.
    if (verdict.tokenRejected === true) this.#tokens.invalidate();
    const recorded = leadingText(Buffer.from(response.body, 'utf8'), RECORDED_BODY_BYTES);
    return {
      ...base,
      status: response.status,
      latencyMs: latency(),
      outcome: verdict.outcome,
      ...verdictFields(verdict),
      ...(recorded === '' ? {} : { body: recorded }),
      ...(traceId === undefined ? {} : { traceId }),
      dispatched: true,
    };
  }

  /**
   * One authorized call to QQ, for the send API's recall and pass-through routes: `Authorization: QQBot <token>`,
   * `X-Union-Appid`, JSON `body` when given, the outbound time limit, and one refetch-and-retry when QQ refuses
   * the token. Resolves with QQ's answer whatever its status (a 4xx or an HTTP 200 with a non-zero `code` is QQ's
   * verdict for the caller to pass on); rejects with `QqUnreachableError` (`BRIDGE_ERR_QQ_API`, its `reason` a
   * stable code such as `ETIMEDOUT`) when no answer arrived.
   */
  request(method: QqMethod, path: string, body?: unknown, options?: QqCallOptions): Promise<QqResponse> {
    return this.#client.request(method, path, body, options);
  }
}
