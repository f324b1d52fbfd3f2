/**
 * `/v1/openapi/{path}`: QQ's API with the bridge's token, for what the send API does not model (media upload
 * `POST /v2/groups/{group_openid}/files`, group members, …; docs/qq-protocol.md §8.3, §8.4). The method, the
 * path below `/v1/openapi`, the query string and the JSON body are forwarded; none of the caller's headers are
 * (the bridge sets `Authorization`, `X-Union-Appid` and `Content-Type` itself).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid } from './api-error.js';
import type { ApiContext } from './context.js';
import type { QqMethod } from './qq-caller.js';
import { readJsonBody } from './read-json.js';
import { relayQq } from './relay.js';
import type { PathSegment } from './request-path.js';

/** The largest body forwarded: room for a base64 image in `file_data`; larger media go by `url`. */
export const MAX_PASS_THROUGH_BODY_BYTES = 10 * 1024 * 1024;

/** Forwards the request to QQ at `/<segments>` with `search`, and relays the answer. */
export async function passThrough(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: { readonly method: QqMethod; readonly segments: readonly PathSegment[]; readonly search: string },
): Promise<void> {
  const bad = target.segments.find((segment) => segment.problem !== undefined);
  if (bad) {
    throw invalid(
      'path',
      `the QQ path after /v1/openapi is not a plain path: a segment ${bad.problem ?? ''}; send QQ's own path, ` +
        'like /v1/openapi/v2/groups/{group_openid}/files',
    );
  }
  const body = await readJsonBody(req, MAX_PASS_THROUGH_BODY_BYTES);
  const path = `/${target.segments.map((segment) => segment.raw).join('/')}${target.search}`;
  await relayQq(ctx, res, { method: target.method, path, ...(body === undefined ? {} : { body }) });
}
