import type { BridgeConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { redisAddress } from '../redis/address.js';
import type { RedisClient } from '../redis/client.js';
import { createRedisConnections } from '../redis/connections.js';
import { redisConfigKey } from '../redis/describe.js';
import { watchRedisLink, type RedisLink, type RedisLinkProblem } from '../redis/link.js';
import { sleep } from '../util/abortable.js';
import type { Part } from './supervisor.js';

/**
 * The app's Redis connections, each built by the one connection factory (src/redis/connections.ts) for `redis.url`,
 * `redis.cluster` or `redis.sentinel`.
 */

/** The app's shared connection and the state of its link (for the logs and `/readyz`). */
export interface AppRedis {
  readonly redis: RedisClient;
  readonly link: RedisLink;
  /** `redis.url`, `redis.cluster` or `redis.sentinel`: the key an operator fixes. */
  readonly configKey: string;
}

/**
 * The app's shared connection: queues, leases, sessions, readiness, the send API. Fails fast while Redis is away
 * (no offline queue, one retry), so an event goes to the journal within milliseconds instead of waiting on a queued
 * command; reconnects forever in the background. Not connected until {@link waitForRedis}.
 */
export function openAppRedis(config: BridgeConfig, logger: Logger): AppRedis {
  const redis = createRedisConnections(config.redis).producer();
  const link = watchRedisLink(redis, redisAddress(config.redis.connection));
  const { address } = link;
  let lastRedisError = '';
  redis.on('error', () => {
    // Until the first connection, waitForRedis reports the failures (with the attempt count).
    const problem = link.problem();
    if (!link.hasBeenReady() || !problem) return;
    // One line per distinct error, not one per reconnect attempt.
    if (problem.cause.message !== lastRedisError) {
      logger.warn(
        { address, code: problem.cause.code, err: problem.cause.message },
        `redis connection error: Redis ${address} unreachable: ${problem.cause.message}; reconnecting`,
      );
    }
    lastRedisError = problem.cause.message;
  });
  redis.on('ready', () => {
    if (lastRedisError !== '') logger.info({ address }, `redis connection to ${address} restored`);
    lastRedisError = '';
  });
  return { redis, link, configKey: redisConfigKey(config.redis.connection) };
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
export function redisReadyPart(app: AppRedis, logger: Logger): Part {
  return {
    name: 'redis-ready',
    start: (signal) => waitForRedis(app, logger, signal),
    stop: () => Promise.resolve(),
  };
}

/** How often the wait looks at the connection again; ioredis itself paces the reconnects (src/redis/connections.ts). */
const RECHECK_MS = 500;

/** `Redis 127.0.0.1:6390 unreachable: connect ECONNREFUSED 127.0.0.1:6390 (attempt 3); still waiting — …`. */
export function waitingLine(problem: RedisLinkProblem, configKey: string): string {
  return (
    `Redis ${problem.address} unreachable: ${problem.cause.message} (attempt ${problem.attempt}); ` +
    `still waiting — start Redis or fix ${configKey}`
  );
}

/** The first failed attempt, every 10th, and any attempt whose cause differs from the last one logged. */
function worthLogging(problem: RedisLinkProblem, lastLogged: RedisLinkProblem | undefined): boolean {
  if (!lastLogged) return true;
  if (problem.cause.message !== lastLogged.cause.message) return true;
  return problem.attempt % 10 === 0 && problem.attempt !== lastLogged.attempt;
}

/**
 * Waits until Redis is ready, logging where it is and why it cannot be reached: nothing the bridge does is safe
 * without it at start. ioredis reconnects by itself; this only (re)starts a connection that is not trying (never
 * started, or given up) and watches. Rejects with BRIDGE_ERR_ABORTED once `signal` aborts, without waiting for the
 * attempt under way.
 */
export async function waitForRedis(
  { redis, link, configKey }: AppRedis,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<void> {
  const what = 'waiting for Redis';
  let lastLogged: RedisLinkProblem | undefined;
  const report = (): void => {
    const problem = link.problem();
    if (!problem || !worthLogging(problem, lastLogged)) return;
    lastLogged = problem;
    logger.warn(
      { address: problem.address, code: problem.cause.code, attempt: problem.attempt },
      waitingLine(problem, configKey),
    );
  };
  redis.on('error', report);
  try {
    while (!signal?.aborted && redis.status !== 'ready') {
      // Failures arrive as `error` events (see report); the promise's own rejection repeats them.
      if (redis.status === 'wait' || redis.status === 'end') redis.connect().catch(() => undefined);
      await sleep(RECHECK_MS, signal);
    }
  } finally {
    redis.off('error', report);
  }
  if (redis.status === 'ready' && !signal?.aborted) return;
  const problem = link.problem();
  logger.warn(
    problem ? { address: problem.address, err: problem.cause.message, attempt: problem.attempt } : {},
    'start interrupted while waiting for Redis: shutting down without having connected',
  );
  throw new BridgeError('BRIDGE_ERR_ABORTED', `start interrupted while ${what}`);
}
