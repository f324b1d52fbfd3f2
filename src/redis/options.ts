/**
 * ioredis options from the typed config: the TLS settings, the Cluster's per-node options and the Sentinel
 * options. Kept apart from connections.ts so the purposes (producer, worker, command) stay one screen.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisConnectionConfig, RedisTlsConfig } from '../config/types.js';
import { BridgeError, describeError } from '../errors.js';

type ClusterConnection = Extract<RedisConnectionConfig, { kind: 'cluster' }>;
type SentinelConnection = Extract<RedisConnectionConfig, { kind: 'sentinel' }>;

/** Node TLS options; the CA file is read now, so a missing file fails at start with its path. */
export function tlsOptions(tls: RedisTlsConfig, where: string): ConnectionOptions {
  let ca: Buffer | undefined;
  if (tls.caFile !== undefined) {
    try {
      ca = readFileSync(tls.caFile);
    } catch (err) {
      throw new BridgeError(
        'BRIDGE_ERR_CONFIG',
        `${where}.tls.ca_file ${tls.caFile} cannot be read (${describeError(err)}); fix the path or remove the key`,
        { cause: err },
      );
    }
  }
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(ca ? { ca } : {}),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}

/** The options shared by every Redis connection, whatever its topology. */
export type CommonOptions = Pick<
  RedisOptions,
  | 'lazyConnect'
  | 'enableOfflineQueue'
  | 'maxRetriesPerRequest'
  | 'connectTimeout'
  | 'retryStrategy'
  | 'sentinelRetryStrategy'
>;

/** A Cluster's options: the node options (credentials, TLS, timeouts) go to every node it dials. */
export function clusterOptions(connection: ClusterConnection, common: CommonOptions): ClusterOptions {
  const { retryStrategy, lazyConnect, enableOfflineQueue, maxRetriesPerRequest, connectTimeout } = common;
  return {
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    // The cluster reconnects as a whole; ioredis's Cluster does not use a per-node retry strategy.
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
    // Commands are retried, or not, by the node connection that carries them.
    redisOptions: {
      ...(maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest }),
      ...(connectTimeout === undefined ? {} : { connectTimeout }),
      ...(connection.username === undefined ? {} : { username: connection.username }),
      ...(connection.password === undefined ? {} : { password: connection.password }),
      ...(connection.tls ? { tls: tlsOptions(connection.tls, 'redis.cluster') } : {}),
    },
    ...(Object.keys(connection.natMap).length > 0 ? { natMap: { ...connection.natMap } } : {}),
  };
}

/** A Sentinel-managed master's options: ioredis asks the Sentinels for the master and follows failovers. */
export function sentinelOptions(connection: SentinelConnection, common: CommonOptions): RedisOptions {
  const tls = connection.tls ? tlsOptions(connection.tls, 'redis.sentinel') : undefined;
  return {
    ...common,
    sentinels: connection.nodes.map(({ host, port }) => ({ host, port })),
    name: connection.name,
    role: 'master',
    ...(connection.username === undefined ? {} : { username: connection.username }),
    ...(connection.password === undefined ? {} : { password: connection.password }),
    ...(connection.sentinelUsername === undefined ? {} : { sentinelUsername: connection.sentinelUsername }),
    ...(connection.sentinelPassword === undefined ? {} : { sentinelPassword: connection.sentinelPassword }),
    ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
  };
}
