import { Agent, request } from 'undici';
import type { TargetConfig } from '../config/types.js';
import type { AttemptRecord } from '../queue/job.js';
import { VERSION } from '../version.js';
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
export const USER_AGENT = `qq-webhook-bridge/${VERSION}`;

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

function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Reads at most {@link RESPONSE_READ_LIMIT_BYTES} of a response body, then destroys the stream (closing the
 * socket) if more remains. Returns the bytes read and any error that cut the read short.
 */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<{
  bytes: Buffer;
  error?: unknown;
}> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= RESPONSE_READ_LIMIT_BYTES) {
        body.destroy();
        break;
      }
    }
    return { bytes: Buffer.concat(chunks).subarray(0, RESPONSE_READ_LIMIT_BYTES) };
  } catch (error) {
    body.destroy();
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** The first {@link RECORDED_BODY_BYTES} as text, without a trailing half of a multi-byte character. */
function recordedText(bytes: Buffer): string {
  // `stream: true` makes TextDecoder hold back an incomplete trailing sequence instead of emitting U+FFFD.
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, RECORDED_BODY_BYTES), {
    stream: true,
  });
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

    // One controller bounds the whole exchange (connect, headers, body) by timeoutMs and relays a shutdown abort;
    // the flags tell the two apart without inspecting undici's error, which is just the abort reason.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, target.timeoutMs);
    const onOuterAbort = (): void => controller.abort();
    input.signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (input.signal?.aborted === true) controller.abort();

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
      const headers: Record<string, string> = {};
      // Configured headers first, lowercased, so they can never shadow the protocol headers set after them.
      for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = value;
      Object.assign(headers, {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': input.eventId,
        'webhook-timestamp': String(timestampSec),
        'webhook-signature': signWebhook(target.secrets, input.eventId, timestampSec, input.body),
        'x-qqwb-target': target.id,
        'x-qqwb-attempt': String(input.attempt),
      });

      const response = await request(target.url, {
        dispatcher: target.allowPrivate ? this.#open : this.#guarded,
        method: 'POST',
        headers,
        body: input.body,
        signal: controller.signal,
        // The abort timer already bounds the exchange; these make undici report which phase stalled.
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      });
      const status = response.statusCode;
      const read = await readCapped(response.body);
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
        const text = recordedText(read.bytes);
        if (text.length > 0) result.body = text;
      }
      if (outcome === 'retry') {
        const retryAfterMs = parseRetryAfterMs(response.headers['retry-after'], this.#now());
        if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
      }
      return result;
    } catch (err) {
      return failure(err);
    } finally {
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Closes both agents: waits for in-flight requests, then closes every pooled socket. */
  async close(): Promise<void> {
    await Promise.all([this.#guarded.close(), this.#open.close()]);
  }
}
