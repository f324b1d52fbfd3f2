/**
 * Calls QQ for a route and relays QQ's answer as it came: the status and body, with the headers a client can
 * use (`Content-Type`, `Retry-After`, QQ's trace id). Nothing else is passed on: hop-by-hop headers, cookies and
 * QQ's own framing stay behind. QQ's error bodies (`{"code", "message", "trace_id"}`) are not the send API's
 * `{"error": {…}}`, which tells a caller who answered.
 */
import type { ServerResponse } from 'node:http';
import { describeError } from '../../errors.js';
import { ApiError } from './api-error.js';
import type { ApiContext } from './context.js';
import type { QqAnswer, QqMethod } from './qq-caller.js';

/** QQ's answer headers relayed to the caller. */
const RELAYED_HEADERS = ['content-type', 'retry-after', 'x-tps-trace-id'] as const;

/** Calls `method path` at QQ and answers the request with QQ's answer; 502 when QQ did not answer. */
export async function relayQq(
  ctx: ApiContext,
  res: ServerResponse,
  call: { readonly method: QqMethod; readonly path: string; readonly body?: unknown },
): Promise<void> {
  let answer: QqAnswer;
  try {
    answer = await ctx.qq.request(call.method, call.path, call.body);
  } catch (err) {
    ctx.log.warn(
      { method: call.method, path: call.path, err: describeError(err) },
      'send API: QQ did not answer',
    );
    throw new ApiError(
      'qq_unreachable',
      `QQ did not answer ${call.method} ${call.path}: ${describeError(err)}`,
    );
  }
  if (answer.truncated === true) {
    throw new ApiError('qq_unreachable', `QQ's answer to ${call.method} ${call.path} was too large to relay`);
  }
  if (answer.bodyFailure !== undefined) {
    throw new ApiError(
      'qq_unreachable',
      `QQ's answer to ${call.method} ${call.path} broke off (${answer.bodyFailure}); it may or may not have been applied`,
    );
  }
  const headers: Record<string, string | number> = {
    'Content-Length': Buffer.byteLength(answer.body, 'utf8'),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  for (const name of RELAYED_HEADERS) {
    const value = answer.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}
