/**
 * Names of the key layout before per-queue hash tags (docs/design.md, "Redis key layout"): every key under the one
 * prefix `redis.prefix`, as written by earlier versions. Read only to carry an existing deployment over — its
 * queued jobs, dead letters and sessions — and never written except where a job there finishes.
 */

/** The BullMQ prefix every queue used: `redis.prefix` itself. */
export function legacyQueuePrefix(prefix: string): string {
  return prefix;
}

/** A shard's lease in the old layout, still held by a replica of an earlier version during an upgrade. */
export function legacyLeaseKey(prefix: string, appId: string, shardId: number): string {
  return `${prefix}:lease:${appId}:${shardId}`;
}

/** A shard's persisted session in the old layout, resumed from once after an upgrade. */
export function legacySessionKey(prefix: string, appId: string, shardId: number): string {
  return `${prefix}:session:${appId}:${shardId}`;
}

/** One key of a BullMQ queue: `<queue prefix>:<queue name>:<suffix>` (`wait`, `delayed`, …), as BullMQ names it. */
export function legacyQueueKey(queuePrefix: string, queueName: string, suffix: string): string {
  return `${queuePrefix}:${queueName}:${suffix}`;
}
