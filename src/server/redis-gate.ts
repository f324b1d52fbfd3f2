/**
 * Routes that need Redis for every answer (the send API, the dashboard), while the app's connection is not ready:
 * at start, when the HTTP server already answers `/healthz` and `/readyz` but the bridge still waits for Redis, and
 * during a loss. They answer a 503 at once, saying why, instead of holding the request on a connection that fails.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisClient } from '../redis/client.js';
import { sendApiError, ApiError } from './api/api-error.js';
import { sendJson } from './respond.js';

/** Seconds a client is asked to wait before retrying; the connection retries at most every 2 s. */
const RETRY_AFTER_SECONDS = '5';

const HOW = 'see /readyz for the cause; retry later';

/** True when it answered 503 because `redis` is not ready; the send API's error shape. */
export function refuseApiWithoutRedis(
  redis: RedisClient,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (redis.status === 'ready') return false;
  const error = new ApiError('store_unavailable', `Redis is not reachable: ${HOW}`, undefined, {
    'Retry-After': RETRY_AFTER_SECONDS,
  });
  sendApiError(req, res, error);
  return true;
}

/** True when it answered 503 because `redis` is not ready; the admin routes' error shape (callers are admins). */
export function refuseAdminWithoutRedis(
  redis: RedisClient,
  address: string,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (redis.status === 'ready') return false;
  const body = { error: 'redis_unavailable', message: `Redis ${address} is not reachable: ${HOW}` };
  sendJson(req, res, 503, body, { 'Retry-After': RETRY_AFTER_SECONDS });
  return true;
}
