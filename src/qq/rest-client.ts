/**
 * One authorized call to QQ's REST API (docs/qq-protocol.md §1.3, §1.4, §8): `Authorization: QQBot <token>`,
 * `X-Union-Appid`, JSON, the bridge's user agent, a time limit over the whole exchange, and one refetch-and-retry
 * when QQ says the token is invalid. The outbound sender and the send API's recall and pass-through routes all go
 * through it, so there is one place that knows how to talk to QQ.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { ABORTED_CODE, TIMEOUT_CODE, errorCodeOf } from '../delivery/classify.js';
import { BridgeError, describeError } from '../errors.js';
import { leadingText, readCapped } from '../util/response-body.js';
import { USER_AGENT } from '../version.js';

/** QQ's token error codes (docs/qq-protocol.md §1.3): the token is invalid or expired; refetch it. */
export const TOKEN_INVALID_CODES: ReadonlySet<number> = new Set([11241, 11242, 11243, 11244]);

/** The largest QQ answer read; QQ's answers are a few hundred bytes, so more than this is not QQ talking. */
export const QQ_RESPONSE_LIMIT_BYTES = 64 * 1024;

/** Where the token comes from: the bot's AccessTokenManager (or anything with its three calls). */
export interface QqTokenSource {
  get(): Promise<string>;
  refresh(): Promise<string>;
  invalidate(): void;
}

/** HTTP methods QQ's API uses. */
export type QqMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** QQ's answer to one call. */
export interface QqResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as text, at most the client's `maxAnswerBytes` (default {@link QQ_RESPONSE_LIMIT_BYTES}). */
  readonly body: string;
  /** True when the body was longer than the limit and `body` is only its start. */
  readonly truncated: boolean;
  /**
   * Set when the body stopped arriving before its end (the time limit, a reset): the stable code of that failure.
   * The status came, but what QQ meant by it may be in the part that never did.
   */
  readonly bodyFailure?: string;
}

/**
 * No answer from QQ: a network failure, the time limit, an abort from outside, or no token. `reason` is the stable
 * code for records and classification (`ECONNREFUSED`, `UND_ERR_SOCKET`, `ETIMEDOUT`, `BRIDGE_ERR_ABORTED`,
 * `BRIDGE_ERR_QQ_TOKEN`, …). `dispatched` says whether the request had been handed to undici, after which QQ may
 * have received and acted on it; before that, nothing left the process.
 */
export class QqUnreachableError extends BridgeError {
  constructor(
    readonly reason: string,
    readonly dispatched: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('BRIDGE_ERR_QQ_API', message, options);
    this.name = 'QqUnreachableError';
  }
}

/** Options of {@link QqRestClient}. */
export interface QqRestClientOptions {
  /** `qq.api_base`, e.g. `https://api.sgroup.qq.com`. */
  readonly apiBase: string;
  readonly appId: string;
  readonly tokens: QqTokenSource;
  /** Time limit of one call (connect, headers and body), ms. */
  readonly timeoutMs: number;
  /** undici dispatcher; default undici's global agent. */
  readonly dispatcher?: Dispatcher;
  /** The most of an answer read, bytes; default {@link QQ_RESPONSE_LIMIT_BYTES}. Past it the answer is `truncated`. */
  readonly maxAnswerBytes?: number;
}

/** Options of one call. */
export interface QqCallOptions {
  /** Aborts the call from outside (shutdown); it then rejects with reason `BRIDGE_ERR_ABORTED`. */
  readonly signal?: AbortSignal;
}

/** QQ's error body `{"code", "message", "err_code", "trace_id"}`, from either a 4xx or an HTTP 200 (§8). */
export interface QqErrorBody {
  readonly code?: number;
  readonly message?: string;
  readonly errCode?: number;
  readonly traceId?: string;
}

/** Parses `text` as JSON; undefined when it is not. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An integer field that QQ sends as a number or, now and then, as a numeric string. */
function integerField(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}

/** The error fields of a parsed QQ answer; every field absent when the answer is not an object. */
export function qqErrorBody(parsed: unknown): QqErrorBody {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const body = parsed as Record<string, unknown>;
  const code = integerField(body['code']);
  const errCode = integerField(body['err_code']);
  const message = body['message'];
  const traceId = body['trace_id'];
  return {
    ...(code === undefined ? {} : { code }),
    ...(typeof message === 'string' ? { message } : {}),
    ...(errCode === undefined ? {} : { errCode }),
    ...(typeof traceId === 'string' ? { traceId } : {}),
  };
}

/** True when QQ refused the token: HTTP 401, or one of {@link TOKEN_INVALID_CODES} in the body. */
export function isTokenRejection(status: number, code: number | undefined): boolean {
  return status === 401 || (code !== undefined && TOKEN_INVALID_CODES.has(code));
}

/** QQ's trace id of an answer (`X-Tps-trace-ID`), which QQ support asks for (docs/qq-protocol.md §1.4). */
export function traceIdOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['x-tps-trace-id'];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Authorized calls to QQ's REST API. One per process and bot; holds no sockets of its own. */
export class QqRestClient {
  private readonly base: string;

  constructor(private readonly options: QqRestClientOptions) {
    this.base = options.apiBase.replace(/\/+$/, '');
  }

  /**
   * Calls `method path` with `body` as JSON (when given) and resolves with QQ's answer, whatever its status. When
   * QQ refuses the token (HTTP 401 or codes 11241–11244) the token is dropped, refetched and the call made once
   * more; the second answer is returned as it is. Rejects only with {@link QqUnreachableError}, when no answer
   * arrived.
   */
  async request(
    method: QqMethod,
    path: string,
    body?: unknown,
    options: QqCallOptions = {},
  ): Promise<QqResponse> {
    const first = await this.once(method, path, body, options, false);
    if (!isTokenRejection(first.status, qqErrorBody(parseJsonText(first.body)).code)) return first;
    this.options.tokens.invalidate();
    return this.once(method, path, body, options, true);
  }

  private async token(refresh: boolean): Promise<string> {
    const { tokens } = this.options;
    try {
      return await (refresh ? tokens.refresh() : tokens.get());
    } catch (err) {
      throw new QqUnreachableError(
        'BRIDGE_ERR_QQ_TOKEN',
        false,
        `no access token for the call to QQ: ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  private async once(
    method: QqMethod,
    path: string,
    body: unknown,
    options: QqCallOptions,
    refresh: boolean,
  ): Promise<QqResponse> {
    const { signal } = options;
    if (signal?.aborted === true) {
      throw new QqUnreachableError(ABORTED_CODE, false, `${method} ${path} not sent: shutting down`);
    }
    const token = await this.token(refresh);
    const { timeoutMs } = this.options;
    // One controller bounds the whole exchange and relays an outside abort; the flag tells the two apart.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onOuterAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    const failureCode = (err: unknown): string =>
      timedOut ? TIMEOUT_CODE : signal?.aborted === true ? ABORTED_CODE : errorCodeOf(err);
    const headers: Record<string, string> = {
      authorization: `QQBot ${token}`,
      'x-union-appid': this.options.appId,
      'user-agent': USER_AGENT,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await request(`${this.base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      });
      const limit = this.options.maxAnswerBytes ?? QQ_RESPONSE_LIMIT_BYTES;
      const read = await readCapped(response.body, limit + 1);
      const bodyFailure = read.error === undefined ? undefined : failureCode(read.error);
      return {
        status: response.statusCode,
        headers: response.headers,
        body: leadingText(read.bytes, limit),
        truncated: read.bytes.length > limit,
        ...(bodyFailure === undefined ? {} : { bodyFailure }),
      };
    } catch (err) {
      const reason = failureCode(err);
      const detail = timedOut ? `no complete answer within ${timeoutMs} ms` : describeError(err);
      throw new QqUnreachableError(reason, true, `${method} ${path} failed (${reason}): ${detail}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }
}
