/**
 * Redis naming. Every key the bridge writes starts with the configured prefix, which is hash-tagged (`{qqwb}`)
 * so that Redis Cluster keeps BullMQ's multi-key scripts in one slot.
 */
export function deliveryQueueName(targetId: string): string {
  return `deliver-${targetId}`;
}

/**
 * BullMQ job ids may not contain `:` and must not look like integers; event ids are `TYPE:uuid`, so the id is
 * made safe by a reversible substitution rather than a hash, which keeps it readable in dashboards.
 */
export function jobIdForEvent(eventId: string): string {
  return `ev|${eventId.replaceAll(':', '|')}`;
}

export function eventIdFromJobId(jobId: string): string {
  return jobId.replace(/^ev\|/, '').replaceAll('|', ':');
}

/** Key of one shard's persisted gateway session (session_id + processed seq). */
export function sessionKey(prefix: string, appId: string, shardId: number): string {
  return `${prefix}:session:${appId}:${shardId}`;
}
