/**
 * The platform's HTTP-callback push (docs/qq-protocol.md §6), simulated: the op-13 URL validation the QQ console runs when
 * a callback URL is saved, then one signed POST per event, retried until the bot answers 200 op 12.
 *
 * The signing keys come from the bridge's own `ingress/ed25519.ts`. Unlike the frame constants (frames.ts), that is
 * safe to share with the code under test: its derivation is pinned by the official vectors of docs/qq-protocol.md
 * Appendix A, so a shared mistake would fail those tests rather than make both sides agree.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { BridgeError, describeError } from '../errors.js';
import {
  callbackMessage,
  deriveCallbackKeys,
  signHex,
  validationMessage,
  verifyHex,
  type CallbackKeys,
} from '../ingress/ed25519.js';
import type { Logger } from '../log.js';
import { sleep } from '../util/abortable.js';
import { isRecord, parseJson } from './json.js';

/** How the simulator pushes callbacks. Every field is optional. */
export interface WebhookPushOptions {
  /** Bot secret the callbacks are signed with. Default: the simulator's `clientSecret`. */
  secret?: string;
  /** Attempts per callback, the first included; then it is given up (counted in `failed`). Default 5. */
  attempts?: number;
  /** Wait before the first retry, ms; doubles after each, up to 5 s. Default 100. */
  retryBaseMs?: number;
  /** Time limit of one POST, ms. Default 5000. */
  timeoutMs?: number;
}

/** What a push has done so far. */
export interface WebhookPushStats {
  /** POST requests sent: the op-13 validation and every attempt of every callback. */
  posted: number;
  /** Callbacks answered 200 op 12. */
  acked: number;
  /** Attempts that were not, and were tried again. */
  retries: number;
  /** Callbacks given up after the last attempt. */
  failed: number;
  /** Callbacks not yet acked or given up. */
  inFlight: number;
}

/** A running push, as `startWebhookPush` returns it. */
export interface WebhookPushHandle {
  readonly url: string;
  stats(): WebhookPushStats;
  /** Resolves once every callback pushed so far is acked or given up. */
  idle(): Promise<void>;
  /** Stops pushing: pending retries are dropped, requests in flight aborted. */
  stop(): Promise<void>;
}

/** One event as it goes out: the webhook frame has no `s` (docs/qq-protocol.md §5.0). */
export interface PushedEvent {
  t: string;
  id: string;
  d: unknown;
}

/** How one callback ended: acked (HTTP 200 op 12), or given up after its last attempt, or stopped. */
export interface CallbackOutcome {
  acked: boolean;
  /** POSTs made for it. */
  attempts: number;
  /** HTTP status of the last answer; null when the last attempt got none (refused, timed out, aborted). */
  status: number | null;
  /** Why the last attempt was not an ACK; absent when acked. */
  why?: string;
}

/** What a {@link WebhookPush} needs from the simulator. */
export interface WebhookPushDeps {
  url: string;
  appId: string;
  secret: string;
  /** The simulator's clock: callback timestamps follow it, so a test can make QQ's clock drift. */
  now: () => number;
  logger: Logger;
  options: WebhookPushOptions;
}

/** What a non-200 answer to op 13 most likely means, for the bridge's operator. */
function statusHint(status: number): string {
  if (status === 403) return "the bridge's qq.app_id is not the simulator's app id (--app-id)";
  if (status === 404 || status === 405) return "the URL's path is not the bridge's qq.webhook.path";
  return 'the URL must be the callback route of a bridge running with qq.mode: webhook';
}

/** One POST's answer: its status (null without one), and why it was not an ACK (absent when it was). */
interface AttemptResult {
  status: number | null;
  why?: string;
}

const MAX_RETRY_DELAY_MS = 5000;
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Pushes signed callbacks to one URL; {@link WebhookPush.validate} must succeed before the first push. */
export class WebhookPush implements WebhookPushHandle {
  readonly url: string;
  readonly #keys: CallbackKeys;
  readonly #deps: WebhookPushDeps;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stats = { posted: 0, acked: 0, retries: 0, failed: 0 };
  readonly #attempts: number;
  readonly #retryBaseMs: number;
  readonly #timeoutMs: number;

  constructor(deps: WebhookPushDeps) {
    this.url = deps.url;
    this.#deps = deps;
    this.#keys = deriveCallbackKeys(deps.secret);
    this.#attempts = deps.options.attempts ?? 5;
    this.#retryBaseMs = deps.options.retryBaseMs ?? 100;
    this.#timeoutMs = deps.options.timeoutMs ?? 5000;
  }

  /**
   * The console's URL check: POSTs `{"op":13,"d":{plain_token, event_ts}}` with only `User-Agent` and
   * `X-Bot-Appid` (as documented, no signature) and requires 200 with the same `plain_token` and a `signature` of
   * `event_ts + plain_token` that verifies with the bot's public key. Throws BRIDGE_ERR_USAGE saying what was wrong.
   */
  async validate(): Promise<void> {
    const plainToken = Array.from(
      { length: 20 },
      () => TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)],
    ).join('');
    const eventTs = this.#timestamp();
    const body = JSON.stringify({ d: { plain_token: plainToken, event_ts: eventTs }, op: 13 });
    const answer = await this.#post(body, {}).catch((err: unknown) => {
      throw this.#refused(
        `the request failed (${describeError(err)}): is the bridge running with qq.mode: webhook at this URL?`,
      );
    });
    if (answer.status !== 200) throw this.#refused(`HTTP ${answer.status}: ${statusHint(answer.status)}`);
    const value = answer.json.ok ? answer.json.value : undefined;
    if (!isRecord(value) || value.plain_token !== plainToken) {
      throw this.#refused('plain_token not echoed: the URL does not answer op 13 as a QQ bot does');
    }
    const signature = typeof value.signature === 'string' ? value.signature : '';
    if (!verifyHex(this.#keys.publicKey, validationMessage(eventTs, plainToken), signature)) {
      throw this.#refused(
        "the signature does not verify with the bot's public key: the bridge's qq.client_secret is not the " +
          'secret the simulator signs with (--client-secret)',
      );
    }
    this.#deps.logger.info({ url: this.url }, 'callback URL validated (op 13)');
  }

  /** Sends one event in the background, retrying until acked, given up or stopped. */
  push(event: PushedEvent): void {
    void this.deliver(event);
  }

  /** Sends one event, retrying until acked, given up or stopped; resolves with how it ended (never rejects). */
  deliver(event: PushedEvent): Promise<CallbackOutcome> {
    const body = JSON.stringify({ op: 0, id: event.id, t: event.t, d: event.d });
    const outcome = this.#deliver(body, event.id);
    const forget = (): void => {
      this.#inFlight.delete(settled);
    };
    const settled: Promise<void> = outcome.then(forget, forget);
    this.#inFlight.add(settled);
    return outcome;
  }

  stats(): WebhookPushStats {
    return { ...this.#stats, inFlight: this.#inFlight.size };
  }

  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.idle();
  }

  async #deliver(body: string, eventId: string): Promise<CallbackOutcome> {
    const signal = this.#abort.signal;
    let last: AttemptResult = { status: null, why: 'the simulator stopped before the first attempt' };
    let attempt = 0;
    while (!signal.aborted) {
      attempt++;
      last = await this.#attempt(body);
      if (last.why === undefined) {
        this.#stats.acked++;
        return { acked: true, attempts: attempt, status: last.status };
      }
      if (attempt >= this.#attempts || signal.aborted) {
        this.#stats.failed++;
        this.#deps.logger.warn({ url: this.url, eventId, attempt, why: last.why }, 'callback given up');
        break;
      }
      this.#stats.retries++;
      this.#deps.logger.debug({ eventId, attempt, why: last.why }, 'callback not acked; retrying');
      await sleep(Math.min(this.#retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS), signal);
    }
    return {
      acked: false,
      attempts: attempt,
      status: last.status,
      ...(last.why !== undefined && { why: last.why }),
    };
  }

  /**
   * One signed POST, re-signed with the current time, as every attempt of the real platform carries its own
   * timestamp. Acked (no `why`) on HTTP 200 with a JSON body with `op: 12` and `d` other than 1 (botgo's
   * "failed, retry me", docs/qq-protocol.md §6.4); otherwise `why` says what was wrong.
   */
  async #attempt(body: string): Promise<AttemptResult> {
    const timestamp = this.#timestamp();
    const signature = signHex(this.#keys.privateKey, callbackMessage(timestamp, Buffer.from(body, 'utf8')));
    try {
      const answer = await this.#post(body, {
        'x-signature-ed25519': signature,
        'x-signature-timestamp': timestamp,
        'x-signature-method': 'Ed25519',
      });
      const value = answer.json.ok ? answer.json.value : undefined;
      if (answer.status === 200 && isRecord(value) && value.op === 12 && value.d !== 1) {
        return { status: answer.status };
      }
      return { status: answer.status, why: `HTTP ${answer.status}, not an op-12 ACK` };
    } catch (err) {
      return { status: null, why: describeError(err) };
    }
  }

  async #post(
    body: string,
    signatureHeaders: Record<string, string>,
  ): Promise<{ status: number; json: ReturnType<typeof parseJson> }> {
    this.#stats.posted++;
    const response = await request(this.url, {
      method: 'POST',
      headers: {
        'user-agent': 'QQBot-Callback',
        'x-bot-appid': this.#deps.appId,
        'x-tps-trace-id': randomUUID().replaceAll('-', ''),
        'content-type': 'application/json',
        ...signatureHeaders,
      },
      body,
      signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]),
    });
    return { status: response.statusCode, json: parseJson(await response.body.text()) };
  }

  /** Unix seconds, as QQ writes `X-Signature-Timestamp` and `event_ts`. */
  #timestamp(): string {
    return String(Math.floor(this.#deps.now() / 1000));
  }

  #refused(why: string): BridgeError {
    return new BridgeError('BRIDGE_ERR_USAGE', `callback URL validation of ${this.url} failed: ${why}`);
  }
}
