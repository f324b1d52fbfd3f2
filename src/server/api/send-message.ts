/**
 * `POST /v1/groups/{group_openid}/messages` and `POST /v1/users/{openid}/messages`: a message is stored in the
 * outbound queue and answered 202 with its outbound id; the worker sends it to QQ (docs/design.md §6). With
 * `?wait=` the answer waits for the send, and is 200 with the final status when it came in time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBridgeError } from '../../errors.js';
import type { QqMessageBody, Scene } from '../../outbound/message.js';
import { sendJson } from '../respond.js';
import { ApiError, invalid } from './api-error.js';
import type { ApiContext } from './context.js';
import {
  bindIdempotencyKey,
  idempotencyBindingKey,
  readIdempotencyKey,
  sendFingerprint,
} from './idempotency.js';
import { checkMessageBody } from '../../outbound/message-body.js';
import { readJsonBody } from './read-json.js';
import { storeCall, StoreUnavailableError } from './store-call.js';
import { waitForFinal, readWait } from './wait.js';

/** The largest message body accepted; QQ's messages are a few KiB at most. */
export const MAX_MESSAGE_BODY_BYTES = 64 * 1024;

/** The answer's `Location`: where the message's status is read. */
export function statusLocation(id: string): string {
  return `/v1/messages/${id}`;
}

/** The 503 of a failed Redis call before or while the message was stored. */
function notStored(err: StoreUnavailableError): ApiError {
  const stored = err.timedOut
    ? 'the message may not have been stored'
    : 'the message was not stored and will not be sent';
  return new ApiError(
    'store_unavailable',
    `${err.timedOut ? 'Redis did not answer in time' : 'Redis is unavailable'}: ${stored}. Retry the request ` +
      'later, with an Idempotency-Key so that a retry can never send the message twice',
  );
}

/** Handles one send to `openid` in `scene`; `search` is the request's query string. */
export async function sendMessage(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: { readonly scene: Scene; readonly openid: string; readonly search: string },
): Promise<void> {
  const { scene, openid } = target;
  const idempotencyKey = readIdempotencyKey(req);
  const waitMs = readWait(target.search);
  const parsed = await readJsonBody(req, MAX_MESSAGE_BODY_BYTES);
  if (parsed === undefined) throw invalid('body', "the body is empty; send QQ's message body as JSON");
  const checked = checkMessageBody(parsed);
  if (!checked.ok) throw invalid(checked.field, checked.message);
  const body = checked.body;

  let repeated = false;
  let id: string;
  try {
    if (idempotencyKey !== undefined) {
      const bindingKey = idempotencyBindingKey(ctx.prefix, ctx.appId, idempotencyKey);
      const fingerprint = sendFingerprint(scene, openid, body);
      const binding = await storeCall(
        bindIdempotencyKey(ctx.redis, bindingKey, fingerprint),
        ctx.storeTimeoutMs,
      );
      if (binding === 'different') {
        throw new ApiError(
          'idempotency_key_reused',
          'this Idempotency-Key was sent within the last 24 h with another message (another target or body); ' +
            'a key stands for one message: use a new key for a new message',
          'Idempotency-Key',
        );
      }
      repeated = binding === 'same';
    }
    const request = {
      scene,
      openid,
      body,
      source: 'api' as const,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    };
    id = await storeCall(ctx.outbound().enqueueMessage(request), ctx.storeTimeoutMs);
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      ctx.log.warn(
        { err: err.message, scene },
        'send API: a message was refused because Redis is unavailable',
      );
      throw notStored(err);
    }
    if (isBridgeError(err, 'BRIDGE_ERR_REPLY_LIMIT'))
      throw new ApiError('reply_limit', err.message, passiveField(body));
    throw err;
  }

  const headers = { Location: statusLocation(id) };
  // A repeated key may name a message sent long ago: say how it ended rather than "queued".
  const final =
    waitMs > 0 || repeated
      ? await waitForFinal(ctx.outbound().queue, id, waitMs, waitSignal(ctx, res))
      : undefined;
  if (final) sendJson(req, res, 200, final, headers);
  else sendJson(req, res, 202, { id, status: 'queued' }, headers);
}

/** The field the reply limit is about: `msg_id`, or `event_id` when the body has no `msg_id`. */
function passiveField(body: QqMessageBody): string {
  return typeof body['msg_id'] === 'string' && body['msg_id'] !== '' ? 'msg_id' : 'event_id';
}

/** Aborts when the client goes away or the API closes: nobody is left to answer, or the server is stopping. */
function waitSignal(ctx: ApiContext, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  if (ctx.closing.aborted) abort();
  ctx.closing.addEventListener('abort', abort, { once: true });
  res.once('close', () => {
    ctx.closing.removeEventListener('abort', abort);
    abort();
  });
  return controller.signal;
}
