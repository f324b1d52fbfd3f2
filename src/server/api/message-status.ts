import type { IncomingMessage, ServerResponse } from 'node:http';
import { readOutboundStatus } from '../../outbound/status.js';
import { sendJson } from '../respond.js';
import { ApiError } from './api-error.js';
import type { ApiContext } from './context.js';
import { storeCall, StoreUnavailableError } from './store-call.js';

/** What outbound ids look like (`ob_` and 32 hex digits); anything else cannot be one. */
const OUTBOUND_ID = /^ob_[0-9a-f]{32}$/;

/** `GET /v1/messages/{id}`: the message's status, 200 `{id, status, attempts, qq?, error?}`, or 404. */
export async function messageStatus(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
): Promise<void> {
  const status = OUTBOUND_ID.test(id) ? await readStatus(ctx, id) : undefined;
  if (!status) {
    throw new ApiError(
      'not_found',
      `no message ${id}: not an id this bridge gave out, or the message finished more than 24 h ago`,
      'id',
    );
  }
  sendJson(req, res, 200, status);
}

async function readStatus(ctx: ApiContext, id: string): ReturnType<typeof readOutboundStatus> {
  try {
    return await storeCall(readOutboundStatus(ctx.outbound().queue, id), ctx.storeTimeoutMs);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    ctx.log.warn(
      { err: err.message },
      'send API: a message status could not be read because Redis is unavailable',
    );
    throw new ApiError(
      'store_unavailable',
      'Redis is unavailable: the status cannot be read now; retry later',
    );
  }
}
