/**
 * The one type for a Redis connection: a single node or Sentinel-managed master (`Redis`) or a Redis Cluster
 * (`Cluster`). Both speak the same commands for keys that share a hash tag, which every bridge key does.
 *
 * @packageDocumentation
 */
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;
