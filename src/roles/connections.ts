import { Redis } from 'ioredis';
import type { BridgeConfig } from '../config/types.js';
import { BridgeError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep, untilAborted } from '../util/abortable.js';
import type { Part } from './supervisor.js';

/**
 * Every Redis connection the app opens itself (the delivery workers open theirs from `redis.url`). The one place
 * that says how the bridge connects to Redis.
 */

/**
 * The app's shared connection: queues, leases, sessions, readiness, the send API. Fails fast while Redis is away
 * (no offline queue, one retry), so an event goes to the journal within milliseconds instead of waiting on a queued
 * command; reconnects forever in the background. Not connected until {@link waitForRedis}.
 */
export function openAppRedis(config: BridgeConfig, logger: Logger): Redis {
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
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
export function openWorkerRedis(config: BridgeConfig): Redis {
  return new Redis(config.redis.url, { maxRetriesPerRequest: null });
}

/**
 * Releases the app's connection, last of all. Started first, before anything waits for Redis: a start interrupted
 * while Redis is away must still end the reconnect loop.
 */
export function appRedisPart(redis: Redis): Part {
  return {
    name: 'redis',
    async stop() {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** Waits for Redis (see {@link waitForRedis}); nothing to stop, the connection is {@link appRedisPart}'s. */
export function redisReadyPart(redis: Redis, logger: Logger): Part {
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
  redis: Redis,
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
