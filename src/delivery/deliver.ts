import { Agent, request } from 'undici';
import type { TargetConfig } from '../config/types.js';
import type { AnswerText } from '../outbound/reply-parser.js';
import type { AttemptRecord } from '../queue/job.js';
import { readCapped, leadingText } from '../util/response-body.js';
import { USER_AGENT } from '../version.js';
import {
  ABORTED_CODE,
  TIMEOUT_CODE,
  classifyErrorCode,
  classifyStatus,
  errorCodeOf,
  statusErrorCode,
  type NetworkErrorKind,
} from './classify.js';
import { parseRetryAfterMs } from './retry-after.js';
import { AttemptAbort, follow } from './attempt-abort.js';
import { signWebhook } from './sign.js';
import { guardedConnector, type ConnectOptions } from './ssrf-guard.js';

/** How much of a response is read. Draining a small body lets undici reuse the keep-alive socket; past this the
 * socket is destroyed instead, so a target answering with megabytes cannot waste our bandwidth or time. */
export const RESPONSE_READ_LIMIT_BYTES = 64 * 1024;
/** How much of the response body each attempt record keeps (docs/design.md §4). */
export const RECORDED_BODY_BYTES = 1024;

/** What the worker hands the deliverer for one attempt. */
export interface DeliveryInput {
  /** The envelope id; sent as `webhook-id` on every attempt so receivers can dedupe. */
  readonly eventId: string;
  /** The exact JSON to POST. */
  readonly body: string;
  /** 1-based attempt number, sent as `x-qqwb-attempt`. */
  readonly attempt: number;
  /** Aborts the attempt from outside (shutdown); the result then has code {@link ABORTED_CODE}. */
  readonly signal?: AbortSignal;
}

/** One attempt's record plus what only the retry logic needs. */
export interface AttemptResult extends AttemptRecord {
  /** The server's `Retry-After`, in ms, when the outcome is `retry` and the header was valid. */
  retryAfterMs?: number;
  /** Class of a failure without a response; absent when a response arrived. */
  errorKind?: NetworkErrorKind;
  /**
   * A 2xx response's body as read (up to {@link RESPONSE_READ_LIMIT_BYTES}), for the replies it may hold; absent
   * when empty. Never persisted: the record keeps `body`, its first {@link RECORDED_BODY_BYTES}.
   */
  answer?: AnswerText;
}

/** Options of {@link WebhookDeliverer}. */
export interface WebhookDelivererOptions {
  /**
   * undici connector options for both agents (see {@link WebhookDeliverer}). A `lookup` given here is the
   * resolver: targets with `allowPrivate` use it as is, the others through the SSRF guard, which checks what it
   * returns. Tests inject one to resolve made-up hostnames without DNS.
   */
  readonly connect?: ConnectOptions;
  /** Clock for `webhook-timestamp` and the attempt's `at`; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** `user-agent` of every delivery. */
export { USER_AGENT };

/**
 * Replaces anything secret-bearing that could appear in an error message: the webhook secrets, configured header
 * values (often bearer tokens) and the URL's password and query string (tokens are often put there).
 */
function redact(message: string, target: TargetConfig): string {
  const needles: string[] = [...target.secrets, ...Object.values(target.headers)];
  try {
    const url = new URL(target.url);
    needles.push(url.password, url.search.slice(1));
    needles.push(decodeURIComponent(url.password));
  } catch {
    // an unparseable URL (or password escape) fails the request itself; what was collected is still hidden
  }
  let out = message;
  for (const needle of needles) {
    if (needle.length >= 4) out = out.replaceAll(needle, '[redacted]');
  }
  return out;
}

/** A target's configured headers with lowercased names, built once per target rather than per attempt. */
const lowercasedHeaders = new WeakMap<TargetConfig, Readonly<Record<string, string>>>();

function configuredHeaders(target: TargetConfig): Readonly<Record<string, string>> {
  let headers = lowercasedHeaders.get(target);
  if (headers === undefined) {
    const built: Record<string, string> = {};
    for (const [name, value] of Object.entries(target.headers)) built[name.toLowerCase()] = value;
    headers = built;
    lowercasedHeaders.set(target, headers);
  }
  return headers;
}

function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Sends signed webhooks over two pooled, keep-alive undici agents shared by every target, so connections to a
 * target are reused across deliveries. Targets with `allowPrivate: false` (the default) go through the guarded
 * agent, whose connector refuses loopback, private, link-local and metadata addresses (see ssrf-guard.ts); the
 * others through a plain one. Two agents rather than a per-request check, because only the connector sees the
 * address actually dialled, and a pooled socket of the guarded agent was necessarily opened through the guard.
 * One instance per process; `close()` it on shutdown.
 */
export class WebhookDeliverer {
  readonly #guarded: Agent;
  readonly #open: Agent;
  readonly #now: () => number;

  constructor(options: WebhookDelivererOptions = {}) {
    const connect = options.connect ?? {};
    this.#guarded = new Agent({ connect: guardedConnector(connect) });
    this.#open = new Agent({ connect });
    this.#now = options.now ?? Date.now;
  }

  /**
   * POSTs one attempt and describes what happened. Never throws: every failure, including invalid config that
   * undici refuses, becomes an {@link AttemptResult}. Redirects are not followed (undici's `request` has no
   * redirect support without the redirect interceptor, which this agent does not install), so a 3xx is
   * `rejected`.
   */
  async deliver(target: TargetConfig, input: DeliveryInput): Promise<AttemptResult> {
    const startedMs = this.#now();
    const timestampSec = Math.floor(startedMs / 1000);
    const started = performance.now();
    const at = new Date(startedMs).toISOString();
    const latency = (): number => Math.round(performance.now() - started);

    // One abort handle bounds the whole exchange (connect, headers, body) by timeoutMs and relays a shutdown
    // abort; the flags tell the two apart without inspecting undici's error, which is just the abort reason.
    const abort = new AttemptAbort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, target.timeoutMs);
    const unfollow = follow(abort, input.signal);

    const failure = (err: unknown): AttemptResult => {
      const code = timedOut ? TIMEOUT_CODE : input.signal?.aborted === true ? ABORTED_CODE : errorCodeOf(err);
      const { kind, outcome } = classifyErrorCode(code);
      const detail = timedOut
        ? `no complete response within ${target.timeoutMs} ms`
        : redact(describeThrown(err), target);
      return {
        attempt: input.attempt,
        at,
        latencyMs: latency(),
        outcome,
        errorCode: code,
        errorKind: kind,
        error: `${kind.replaceAll('_', ' ')}: ${detail}`,
      };
    };

    try {
      const headers: Record<string, string> = {
        // Configured headers first, so they can never shadow the protocol headers set after them.
        ...configuredHeaders(target),
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': input.eventId,
        'webhook-timestamp': String(timestampSec),
        'webhook-signature': signWebhook(target.secrets, input.eventId, timestampSec, input.body),
        'x-qqwb-target': target.id,
        'x-qqwb-attempt': String(input.attempt),
      };

      const response = await request(target.url, {
        dispatcher: target.allowPrivate ? this.#open : this.#guarded,
        method: 'POST',
        headers,
        body: input.body,
        signal: abort,
        // The abort timer already bounds the exchange; these make undici report which phase stalled.
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      });
      const status = response.statusCode;
      const read = await readCapped(response.body, RESPONSE_READ_LIMIT_BYTES);
      const outcome = classifyStatus(status);
      const result: AttemptResult = { attempt: input.attempt, at, status, latencyMs: latency(), outcome };
      const errorCode = statusErrorCode(status);
      if (errorCode !== undefined) {
        result.errorCode = errorCode;
        result.error =
          status >= 300 && status <= 399 ? `HTTP ${status}; redirects are not followed` : `HTTP ${status}`;
      }
      if (read.error !== undefined) {
        // The status is the receiver's verdict; a body that stalls afterwards does not change it.
        const note = `response body incomplete (${timedOut ? TIMEOUT_CODE : errorCodeOf(read.error)})`;
        result.error = result.error === undefined ? note : `${result.error}; ${note}`;
      }
      if (read.bytes.length > 0) {
        const text = leadingText(read.bytes, RECORDED_BODY_BYTES);
        if (text.length > 0) result.body = text;
      }
      if (outcome === 'retry') {
        const retryAfterMs = parseRetryAfterMs(response.headers['retry-after'], this.#now());
        if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
      }
      if (outcome === 'delivered' && read.bytes.length > 0) {
        result.answer = {
          // `stream: true` holds back a multi-byte character cut at the read limit instead of emitting U+FFFD.
          text: new TextDecoder('utf-8', { fatal: false }).decode(read.bytes, { stream: true }),
          truncated: read.bytes.length >= RESPONSE_READ_LIMIT_BYTES || read.error !== undefined,
        };
      }
      return result;
    } catch (err) {
      return failure(err);
    } finally {
      clearTimeout(timer);
      unfollow();
    }
  }

  /** Closes both agents: waits for in-flight requests, then closes every pooled socket. */
  async close(): Promise<void> {
    await Promise.all([this.#guarded.close(), this.#open.close()]);
  }
}
