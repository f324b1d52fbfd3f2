/**
 * The send API under `/v1` on `server.listen` (docs/design.md §6, docs/openapi.yaml): backends in any language
 * send, follow and recall QQ messages through the bridge, which holds the token, the queue and QQ's rules.
 * Every request needs `Authorization: Bearer <one of server.api_tokens>`, checked before anything else is read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisClient } from '../../redis/client.js';
import type { Logger } from '../../log.js';
import type { Scene } from '../../outbound/message.js';
import { OutboundQueue } from '../../outbound/send-queue.js';
import type { ReplicaWaitPolicy } from '../../queue/replica-wait.js';
import { bearerListCheck } from '../bearer.js';
import type { BridgeMetrics } from '../metrics.js';
import { ApiError, invalid, sendApiError } from './api-error.js';
import type { ApiContext } from './context.js';
import { messageStatus } from './message-status.js';
import { passThrough } from './pass-through.js';
import { MAX_MESSAGE_ID_LENGTH, MAX_OPENID_LENGTH, pathParam } from './path-params.js';
import type { QqCaller, QqMethod } from './qq-caller.js';
import { recallMessage } from './recall.js';
import { parseApiTarget, type ApiTarget } from './request-path.js';
import { matchApiRoute, type RouteMatch } from './routes.js';
import { sendMessage } from './send-message.js';

/** Options of {@link createSendApi}. */
export interface SendApiOptions {
  /** `server.api_tokens`; at least one. */
  readonly tokens: readonly string[];
  /** The app's Redis connection: the outbound queue and the Idempotency-Key bindings use it. */
  readonly redis: RedisClient;
  /** `redis.prefix`. */
  readonly prefix: string;
  /** `qq.app_id`: whose outbound queue. */
  readonly appId: string;
  /** Attempts per message, the first included (`outbound.retry.attempts`). */
  readonly attempts: number;
  /** Replicas a stored message needs before the 202 (`redis.min_replicas`); too few answer 503. Default none. */
  readonly replicaWait?: ReplicaWaitPolicy;
  /** Calls QQ for recalls and the pass-through. */
  readonly qq: QqCaller;
  readonly metrics: BridgeMetrics;
  readonly logger: Logger;
  /** How long a Redis call may take before the request is answered 503; default 5000 ms. */
  readonly storeTimeoutMs?: number;
}

/** The send API as the HTTP server sees it. */
export interface SendApi {
  /** Answers a request whose normalized path is under `/v1`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Answers requests still waiting for a send (`?wait=`) at once and closes the outbound queue. */
  close(): Promise<void>;
}

const REALM = 'Bearer realm="qq-webhook-bridge api"';

/** The label of requests that match no route. */
const UNMATCHED = 'unmatched';

/** Builds the send API; nothing connects until the first request that needs Redis. */
export function createSendApi(options: SendApiOptions): SendApi {
  const isAuthorized = bearerListCheck(options.tokens);
  const log = options.logger.child({ component: 'send-api' });
  const closing = new AbortController();
  let outbound: OutboundQueue | undefined;
  const ctx: ApiContext = {
    outbound: () =>
      (outbound ??= new OutboundQueue({
        connection: options.redis,
        prefix: options.prefix,
        appId: options.appId,
        attempts: options.attempts,
        ...(options.replicaWait ? { replicaWait: options.replicaWait } : {}),
      })),
    redis: options.redis,
    prefix: options.prefix,
    appId: options.appId,
    qq: options.qq,
    log,
    storeTimeoutMs: options.storeTimeoutMs ?? 5000,
    closing: closing.signal,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = parseApiTarget(req.url ?? '/');
    const match = 'segments' in target ? matchApiRoute(target.segments) : undefined;
    const route = match?.route.template ?? UNMATCHED;
    res.once('finish', () => {
      options.metrics.apiRequest(route, res.statusCode);
      log.debug({ method: req.method, route, status: res.statusCode }, 'send API request answered');
    });
    try {
      const authorization = req.headers.authorization;
      if (!isAuthorized(authorization)) {
        const challenge = authorization === undefined ? REALM : `${REALM}, error="invalid_token"`;
        throw new ApiError(
          'unauthorized',
          'send Authorization: Bearer <token> with one of the tokens in server.api_tokens',
          'Authorization',
          { 'WWW-Authenticate': challenge },
        );
      }
      if (!('segments' in target)) throw invalid('path', `the request path ${target.problem}`);
      if (!match) {
        throw new ApiError(
          'not_found',
          'no such route of the send API; its routes are listed in docs/openapi.yaml',
        );
      }
      const method = match.route.methods.find((allowed) => allowed === req.method);
      if (!method) {
        const allow = match.route.methods.join(', ');
        throw new ApiError(
          'method_not_allowed',
          `${req.method ?? '?'} is not allowed on ${match.route.template}; use ${allow}`,
          undefined,
          { Allow: allow },
        );
      }
      await dispatch(match, method, target, req, res);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // An answer already under way (a relayed one) cannot be replaced; the server cuts the connection then.
      if (res.headersSent) throw err;
      sendApiError(req, res, err);
    }
  }

  function dispatch(
    match: RouteMatch,
    method: QqMethod,
    target: ApiTarget,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const scene: Scene = match.route.name.endsWith('-group') ? 'group' : 'c2c';
    const openidField = scene === 'group' ? 'group_openid' : 'openid';
    switch (match.route.name) {
      case 'send-group':
      case 'send-user':
        return sendMessage(ctx, req, res, {
          scene,
          openid: pathParam(match, openidField, MAX_OPENID_LENGTH),
          search: target.search,
        });
      case 'recall-group':
      case 'recall-user':
        return recallMessage(ctx, res, {
          scene,
          openid: pathParam(match, openidField, MAX_OPENID_LENGTH),
          messageId: pathParam(match, 'message_id', MAX_MESSAGE_ID_LENGTH),
        });
      case 'status':
        return messageStatus(ctx, req, res, pathParam(match, 'id', MAX_MESSAGE_ID_LENGTH));
      case 'openapi':
        return passThrough(ctx, req, res, { method, segments: match.rest, search: target.search });
    }
  }

  return {
    handle,
    async close() {
      closing.abort();
      await outbound?.close();
    },
  };
}
