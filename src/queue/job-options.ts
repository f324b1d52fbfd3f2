import type { JobsOptions } from 'bullmq';
import type { TargetConfig } from '../config/types.js';
import { jobIdForEvent } from './names.js';

/** Name of BullMQ's custom backoff type; the worker's `backoffStrategy` implements it. */
export const BACKOFF_TYPE = 'qqwb';

/** Completed jobs kept for the dashboard; dedupe does not rely on them (it uses a TTL'd key). */
const KEEP_COMPLETED = { age: 3600, count: 1000 };

/**
 * Options of one delivery job. Failed jobs are the dead-letter queue: they are kept (`removeOnFail: false`)
 * until `dlq purge` or the retention sweeper (dead-letter-retention.ts), which, unlike an option stored in each
 * job, follows the current config. Idempotency comes from BullMQ's throttle-mode deduplication: the key outlives
 * the job for the whole window, so an event replayed hours later is still recognised.
 */
export function deliveryJobOptions(
  target: Pick<TargetConfig, 'retry'>,
  eventId: string,
  dedupeKey: string,
  dedupeWindowMs: number,
): JobsOptions {
  return {
    jobId: jobIdForEvent(eventId),
    attempts: target.retry.attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: false,
    deduplication: { id: dedupeKey, ttl: dedupeWindowMs },
  };
}
