import type { BridgeConfig } from '../config/types.js';
import { BridgeError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/client.js';
import { createRedisConnections } from '../redis/connections.js';
import { sleep, untilAborted } from '../util/abortable.js';
import type { Part } from './supervisor.js';

/**
 * The app's Redis connections, each built by the one connection factory (src/redis/connections.ts) for `redis.url`,
 * `redis.cluster` or `redis.sentinel`.
 */

/**
 * The app's shared connection: queues, leases, sessions, readiness, the send API. Fails fast while Redis is away
 * (no offline queue, one retry), so an event goes to the journal within milliseconds instead of waiting on a queued
 * command; reconnects forever in the background. Not connected until {@link waitForRedis}.
 */
export function openAppRedis(config: BridgeConfig, logger: Logger): RedisClient {
  const redis = createRedisConnections(config.redis).producer();
  let lastRedisError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct error, not one per reconnect attempt.
    if (err.message !== lastRedisError) logger.warn({ err: err.message }, 'redis connection error');
    lastRedisError = err.message;
  });
  redis.on('ready', () => {
    if (lastRedisError !== '') logger.info('redis connection restored');
    lastRedisError = '';
  });
  return redis;
}

/** The outbound worker's blocking connection (BullMQ requires `maxRetriesPerRequest: null` for a worker). */
export function openWorkerRedis(config: BridgeConfig): RedisClient {
  return createRedisConnections(config.redis).worker();
}

/**
 * Releases the app's connection, last of all. Started first, before anything waits for Redis: a start interrupted
 * while Redis is away must still end the reconnect loop.
 */
export function appRedisPart(redis: RedisClient): Part {
  return {
    name: 'redis',
    async stop() {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** Waits for Redis (see {@link waitForRedis}); nothing to stop, the connection is {@link appRedisPart}'s. */
export function redisReadyPart(redis: RedisClient, logger: Logger): Part {
  return {
    name: 'redis-ready',
    start: (signal) => waitForRedis(redis, logger, signal),
    stop: () => Promise.resolve(),
  };
}

/**
 * Waits until Redis answers, logging while it does not: nothing the bridge does is safe without it at start. Rejects
 * with BRIDGE_ERR_ABORTED once `signal` aborts, without waiting for the attempt under way.
 */
export async function waitForRedis(
  redis: RedisClient,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<void> {
  const what = 'waiting for Redis';
  let lastError: unknown;
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      await untilAborted<unknown>(redis.status === 'wait' ? redis.connect() : redis.ping(), signal, what);
      return;
    } catch (err) {
      if (signal?.aborted) break;
      lastError = err;
      if (attempt === 1 || attempt % 10 === 0) {
        logger.warn({ err: describeError(err), attempt }, 'waiting for Redis');
      }
      await sleep(500, signal);
    }
  }
  logger.warn(
    lastError === undefined ? {} : { err: describeError(lastError) },
    'start interrupted while waiting for Redis: shutting down without having connected',
  );
  throw new BridgeError('BRIDGE_ERR_ABORTED', `start interrupted while ${what}`);
}
