/**
 * Connecting a CLI command's Redis connection with one clear line when Redis is not there: which address, what
 * the socket said, and what to change. ioredis reports the cause as an `error` event and rejects `connect()` with
 * a bare "Connection is closed.", so the cause is taken from the event.
 *
 * @packageDocumentation
 */
import type { RedisConnectionConfig } from '../config/types.js';
import { BridgeError, describeError } from '../errors.js';
import type { RedisClient } from '../redis/client.js';
import { redisConfigKey } from '../redis/describe.js';

/** `127.0.0.1:6390` for a URL, `cluster 10.0.0.1:6379, 10.0.0.2:6379`, `sentinel …`: never credentials. */
export function redisAddress(connection: RedisConnectionConfig): string {
  if (connection.kind === 'single') {
    try {
      const url = new URL(connection.url);
      return `${url.hostname}:${url.port === '' ? '6379' : url.port}`;
    } catch {
      return 'at redis.url';
    }
  }
  const nodes = connection.nodes.map(({ host, port }) => `${host}:${port}`).join(', ');
  return `${connection.kind} ${nodes}`;
}

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
  let cause: unknown;
  redis.on('error', (err: unknown) => {
    cause ??= err;
  });
  try {
    await redis.connect();
  } catch (err) {
    throw new BridgeError(
      'BRIDGE_ERR_REDIS',
      `Redis ${redisAddress(connection)} unreachable: ${describeError(cause ?? err)} — start Redis or fix ` +
        `${redisConfigKey(connection)} in ${source}`,
      { cause: cause ?? err },
    );
  }
}
