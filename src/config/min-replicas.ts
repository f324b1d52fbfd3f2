/**
 * The default of `redis.min_replicas`. A Cluster or a Sentinel set exists to survive losing a master, which only
 * holds for enqueues a replica already has: there an enqueue waits for one. A single `url` may have no replica at
 * all, and waiting for one would journal every event: there it waits for none.
 */
export function defaultMinReplicas(redis: {
  readonly url?: unknown;
  readonly cluster?: unknown;
  readonly sentinel?: unknown;
}): number {
  return redis.cluster !== undefined || redis.sentinel !== undefined ? 1 : 0;
}
