/**
 * Connecting a CLI command's Redis connection with one clear line when Redis is not there: which address, what
 * the socket said, and what to change. ioredis reports the cause as an `error` event and rejects `connect()` with
 * a bare "Connection is closed.", so the cause is taken from the event (src/redis/link.ts).
 *
 * @packageDocumentation
 */
import type { RedisConnectionConfig } from '../config/types.js';
import { BridgeError, describeError } from '../errors.js';
import { redisAddress } from '../redis/address.js';
import type { RedisClient } from '../redis/client.js';
import { redisConfigKey } from '../redis/describe.js';
import { connectionCause, type RedisCause } from '../redis/link.js';

/**
 * Connects `redis`, or rejects with BRIDGE_ERR_REDIS: `Redis 127.0.0.1:6390 unreachable: connect ECONNREFUSED
 * 127.0.0.1:6390 — start Redis or fix redis.url in config/bridge.yaml`. Leaves an `error` listener on the
 * connection, so a later error never surfaces as ioredis's unhandled-error output.
 *
 * @param source - the config file the connection comes from
 */
export async function connectOrExplain(
  redis: RedisClient,
  connection: RedisConnectionConfig,
  source: string,
): Promise<void> {
  let cause: RedisCause | undefined;
  redis.on('error', (err: unknown) => {
    cause ??= connectionCause(err);
  });
  try {
    await redis.connect();
  } catch (err) {
    throw new BridgeError(
      'BRIDGE_ERR_REDIS',
      `Redis ${redisAddress(connection)} unreachable: ${cause?.message ?? describeError(err)} — start Redis or ` +
        `fix ${redisConfigKey(connection)} in ${source}`,
      { cause: err },
    );
  }
}
