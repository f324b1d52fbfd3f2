/**
 * QQ's HTTP-callback mode (docs/qq-protocol.md §6): the route QQ POSTs every event to, in place of the WebSocket gateway.
 * It does only what must happen before QQ gets its answer — read, authenticate, hand the frame to `accept` — and
 * answers from that: op 12 once the event is durable, 503 when it is not, so QQ keeps the event and retries.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QqConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { DispatchFrame } from '../events/envelope.js';
import type { Logger } from '../log.js';
import { sendJson } from '../server/respond.js';
import { checkSignature, parseCallback, type WebhookRejectReason } from './callback.js';
import { deriveCallbackKeys, signHex, validationMessage } from './ed25519.js';
import { readRawBody } from '../util/read-body.js';
import { withTimeout } from '../util/with-timeout.js';

export { WEBHOOK_REJECT_REASONS, type WebhookRejectReason } from './callback.js';

/** The HTTP callback ACK (op 12) that tells QQ the event arrived (docs/qq-protocol.md §6.4). */
export const CALLBACK_ACK = { op: 12, d: 0 } as const;

/** Options of {@link createWebhookIngress}. */
export interface WebhookIngressOptions {
  /** The bot (its secret is the Ed25519 key material) and the route settings. */
  readonly config: Pick<QqConfig, 'appId' | 'clientSecret' | 'webhook'>;
  /**
   * Makes one dispatch durable (the app normalizes it with shard [0, 1] and enqueues it; the enqueue is
   * idempotent by event id, so QQ re-deliveries are harmless). Resolving means "stored": only then is QQ ACKed.
   */
  readonly accept: (frame: DispatchFrame) => Promise<void>;
  readonly logger: Logger;
  /** Counts refused callbacks; optional so the handler can run without a metrics registry. */
  readonly metrics?: { webhookRejected(reason: WebhookRejectReason): void };
  /**
   * Longest wait for `accept` before answering 503; default 5000 ms. QQ's own timeout is undocumented, and a slow
   * answer makes it re-deliver anyway; an accept that completes after the 503 is harmless (the retry is deduped).
   */
  readonly acceptTimeoutMs?: number;
  /** Clock for the timestamp check, ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** A `node:http` request handler; it never rejects. */
export type WebhookIngressHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const STATUS: Readonly<Record<WebhookRejectReason, number>> = {
  missing_signature: 401,
  bad_signature: 401,
  stale: 401,
  wrong_app: 403,
  too_large: 413,
  invalid_json: 400,
  invalid_validation: 400,
  not_accepted: 503,
};

/**
 * Builds the handler for `POST <qq.webhook.path>`. The key pair is derived once, here. Answers:
 * - op 13 → 200 `{plain_token, signature}`, the signature over `event_ts + plain_token` (unsigned request, as QQ
 *   sends it; only token-shaped fields are signed, see callback.ts);
 * - op 0 → `accept(frame)`, then 200 `{"op":12,"d":0}`; 503 if accept rejects or times out;
 * - op 1 → 200 `{"op":11,"d":<d>}` (botgo's answer); any other op → 200 op 12, logged;
 * - refused: 401 (missing, bad or stale signature), 403 (`X-Bot-Appid` of another bot), 413, 400, 405.
 */
export function createWebhookIngress(options: WebhookIngressOptions): WebhookIngressHandler {
  const { appId, webhook } = options.config;
  const keys = deriveCallbackKeys(options.config.clientSecret);
  const log = options.logger.child({ component: 'webhook' });
  const now = options.now ?? Date.now;
  const acceptTimeoutMs = options.acceptTimeoutMs ?? 5000;

  function refuse(req: IncomingMessage, res: ServerResponse, reason: WebhookRejectReason, detail = ''): void {
    options.metrics?.webhookRejected(reason);
    log.warn({ reason, remote: req.socket.remoteAddress, detail }, 'callback refused');
    // Too large: the rest of the body is left unread, so the connection cannot be reused.
    const headers: Record<string, string> = reason === 'too_large' ? { Connection: 'close' } : {};
    if (reason === 'not_accepted') headers['Retry-After'] = '1';
    sendJson(req, res, STATUS[reason], { error: reason }, headers);
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse, frame: DispatchFrame): Promise<void> {
    const started = now();
    try {
      await withTimeout(options.accept(frame), acceptTimeoutMs);
    } catch (err) {
      // Not an op 12 of any kind: QQ must see a failure and keep the event for a retry (docs/qq-protocol.md §6.4).
      return refuse(req, res, 'not_accepted', describeError(err));
    }
    log.debug({ eventId: frame.id, t: frame.t, ms: now() - started }, 'callback accepted');
    sendJson(req, res, 200, CALLBACK_ACK);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      return sendJson(req, res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
    }
    const read = await readRawBody(req, webhook.maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'unreadable') return void res.destroy();
      return refuse(req, res, 'too_large', `limit ${webhook.maxBodyBytes} bytes`);
    }
    const callbackApp = req.headers['x-bot-appid'];
    if (typeof callbackApp === 'string' && callbackApp !== appId) {
      return refuse(req, res, 'wrong_app', `X-Bot-Appid ${callbackApp}`);
    }
    const callback = parseCallback(read.bytes);
    if (callback.kind === 'invalid') return refuse(req, res, callback.reason);
    if (callback.kind === 'validation') {
      const signature = signHex(keys.privateKey, validationMessage(callback.eventTs, callback.plainToken));
      log.info('callback URL validation (op 13) answered');
      return sendJson(req, res, 200, { plain_token: callback.plainToken, signature });
    }
    const rejected = checkSignature(req.headers, read.bytes, {
      publicKey: keys.publicKey,
      maxSkewMs: webhook.maxSkewMs,
      nowMs: now(),
    });
    if (rejected) return refuse(req, res, rejected);
    switch (callback.kind) {
      case 'dispatch':
        return dispatch(req, res, callback.frame);
      case 'heartbeat':
        return sendJson(req, res, 200, { op: 11, d: callback.d });
      case 'other':
        log.warn({ op: callback.op }, 'signed callback with an unknown op: acknowledged and ignored');
        return sendJson(req, res, 200, CALLBACK_ACK);
    }
  }

  return async (req, res) => {
    try {
      await handle(req, res);
    } catch (err) {
      log.error({ err: describeError(err) }, 'callback handler failed');
      if (!res.headersSent) sendJson(req, res, 500, { error: 'internal_error' });
      else res.destroy();
    }
  };
}
