/**
 * The one place Redis connections are built. Every caller says what it needs the connection for and gets an
 * ioredis `Redis` (one node, or a Sentinel-managed master) or `Cluster` for `redis.url`, `redis.cluster` or
 * `redis.sentinel`, so no caller knows the topology.
 *
 * @packageDocumentation
 */
import { Cluster, Redis } from 'ioredis';
import type { RedisConfig, RedisConnectionConfig } from '../config/types.js';
import type { RedisClient } from './client.js';
import { clusterOptions, sentinelOptions, type CommonOptions } from './options.js';

/** What a connection is for; each purpose has its own failure behaviour. */
export type RedisPurpose = 'producer' | 'worker' | 'command';

const PURPOSE_OPTIONS: Record<RedisPurpose, CommonOptions> = {
  // Fail fast while Redis is away (no offline queue, one retry), so an event goes to the journal within
  // milliseconds instead of waiting on a queued command; reconnect forever in the background. Leases and
  // readiness use it too: a renewal that cannot reach Redis must fail, not queue.
  producer: {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  },
  // BullMQ workers block (BZPOPMIN…) and require commands to wait through a reconnect rather than fail.
  worker: { maxRetriesPerRequest: null },
  // CLI commands (dlq, demo, bench): a short answer or a clear error, never a hang.
  command: { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 },
};

/**
 * A connection to one node by URL (demo, bench and tests, which run on one local Redis), typed as `Redis` for the
 * node-level commands (INFO, MEMORY) they use.
 */
export function connectSingleRedis(url: string, purpose: RedisPurpose, overrides: CommonOptions = {}): Redis {
  return new Redis(url, { ...PURPOSE_OPTIONS[purpose], ...overrides });
}

/** A new connection for `purpose`, with `overrides` (e.g. a retry strategy that gives up) on top. */
export function connectRedis(
  connection: RedisConnectionConfig,
  purpose: RedisPurpose,
  overrides: CommonOptions = {},
): RedisClient {
  const common: CommonOptions = { ...PURPOSE_OPTIONS[purpose], ...overrides };
  switch (connection.kind) {
    case 'single':
      return connectSingleRedis(connection.url, purpose, overrides);
    case 'cluster':
      return new Cluster(
        connection.nodes.map(({ host, port }) => ({ host, port })),
        clusterOptions(connection, common),
      );
    case 'sentinel':
      return new Redis(sentinelOptions(connection, common));
  }
}

/** Builds connections for one `redis:` config; each call returns a new connection the caller closes. */
export interface RedisConnections {
  /** Fail-fast: the producer, leases, sessions, readiness. Lazy: call `connect()`. */
  readonly producer: () => RedisClient;
  /** For BullMQ workers (`maxRetriesPerRequest: null`). Connects at once. */
  readonly worker: () => RedisClient;
  /** For CLI commands: lazy, one retry, 2 s connect timeout. */
  readonly command: () => RedisClient;
  /** `single`, `cluster` or `sentinel`. */
  readonly kind: RedisConnectionConfig['kind'];
}

export function createRedisConnections(redis: Pick<RedisConfig, 'connection'>): RedisConnections {
  return {
    kind: redis.connection.kind,
    producer: () => connectRedis(redis.connection, 'producer'),
    worker: () => connectRedis(redis.connection, 'worker'),
    command: () => connectRedis(redis.connection, 'command'),
  };
}

/** Closes a connection politely when it is up, else drops it (a quit would wait for a reconnect). */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
