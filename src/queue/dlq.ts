import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BridgeConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import type { AttemptRecord, DeliveryJobData } from './job.js';
import { deliveryQueue, type DeliveryQueue } from './delivery-queue.js';
import { eventIdFromJobId, jobIdForEvent } from './names.js';

/**
 * The dead-letter queue of a target is BullMQ's failed set of its delivery queue: jobs are added with
 * `removeOnFail: false`, so a failed delivery stays, with its attempt log, until purged or deleted by the
 * retention of `delivery.dead_letter` (dead-letter-retention.ts). These functions are what
 * `dlq list|show|replay|purge` and the admin dashboard call.
 */

export type { DeliveryQueue } from './delivery-queue.js';

/** One line of `dlq list`. */
export interface DeadLetterRow {
  eventId: string;
  type: string;
  /** Attempts made in the last round (a replay starts a new round). */
  attempts: number;
  /** HTTP status of the last attempt; absent when no response arrived. */
  lastStatus?: number;
  /** The last attempt's error, else BullMQ's failed reason. */
  lastError?: string;
  /** ISO 8601. */
  failedAt: string;
}

/** What `dlq show` prints. */
export interface DeadLetterDetail {
  eventId: string;
  type: string;
  failedAt: string;
  /** The delivered body, parsed; the raw string if it is not JSON. */
  envelope: unknown;
  /** Every attempt recorded for this job, oldest first, replays included. */
  attempts: AttemptRecord[];
  failedReason: string;
}

/** Which dead letters `replayDeadLetters` acts on. */
export type ReplaySelector = { readonly eventId: string } | { readonly all: true };

/**
 * Which dead letters `purgeDeadLetters` removes. `failedUpToMs` is a fixed time (ms since the epoch): those that
 * failed at or before it, so what a confirmation counted is what is then removed, however long the answer took.
 */
export type PurgeSelector =
  { readonly eventId: string } | { readonly all: true } | { readonly failedUpToMs: number };

/** Called after each replayed job with how many are done and how many were selected. */
export type ReplayProgress = (done: number, total: number) => void;

const PAGE_SIZE = 500;

/**
 * Opens the delivery queue of one configured target. The connection is shared and stays the caller's; close the
 * returned queue with `queue.close()`.
 *
 * @throws BridgeError `BRIDGE_ERR_NOT_FOUND` naming the configured ids when `targetId` is not one of them
 */
export function openDeliveryQueue(config: BridgeConfig, targetId: string, connection: Redis): DeliveryQueue {
  if (!config.targets.some((target) => target.id === targetId)) {
    const known = config.targets.map((target) => target.id);
    throw new BridgeError(
      'BRIDGE_ERR_NOT_FOUND',
      `unknown target "${targetId}"; configured targets: ${known.length > 0 ? known.join(', ') : '(none)'}`,
    );
  }
  return deliveryQueue(targetId, config.redis.prefix, connection);
}

function parseRecord(line: string): AttemptRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && 'attempt' in value && 'outcome' in value) {
      return value as AttemptRecord;
    }
  } catch {
    // a log line not written by the worker; it is not an attempt
  }
  return undefined;
}

function eventIdOf(job: Job<DeliveryJobData>): string {
  return job.data.eventId || eventIdFromJobId(job.id ?? '');
}

function failedAtOf(job: Job<DeliveryJobData>): string {
  return new Date(job.finishedOn ?? job.timestamp).toISOString();
}

async function failedJob(queue: DeliveryQueue, eventId: string): Promise<Job<DeliveryJobData> | undefined> {
  const jobId = jobIdForEvent(eventId);
  if ((await queue.getJobState(jobId)) !== 'failed') return undefined;
  return queue.getJob(jobId);
}

/** Ids of every dead letter right now. Taken up front so jobs that fail again during a replay are not revisited. */
async function failedJobIds(queue: DeliveryQueue): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; ; start += PAGE_SIZE) {
    const page = await queue.getRanges(['failed'], start, start + PAGE_SIZE - 1, true);
    ids.push(...page);
    if (page.length < PAGE_SIZE) return ids;
  }
}

/**
 * The newest dead letters first.
 *
 * @param options.limit - at most this many rows; default 50
 */
export async function listDeadLetters(
  queue: DeliveryQueue,
  options: { limit?: number } = {},
): Promise<DeadLetterRow[]> {
  const limit = Math.max(1, options.limit ?? 50);
  const jobs = await queue.getFailed(0, limit - 1);
  return Promise.all(
    jobs.map(async (job) => {
      const { logs } = await queue.getJobLogs(job.id ?? '', 0, 0, false);
      const last = logs[0] === undefined ? undefined : parseRecord(logs[0]);
      const row: DeadLetterRow = {
        eventId: eventIdOf(job),
        type: job.data.type,
        attempts: job.attemptsMade,
        failedAt: failedAtOf(job),
      };
      if (last?.status !== undefined) row.lastStatus = last.status;
      const lastError = last?.error ?? job.failedReason;
      if (lastError) row.lastError = lastError;
      return row;
    }),
  );
}

/** One dead letter with its envelope and full attempt history; undefined when `eventId` is not dead-lettered. */
export async function showDeadLetter(
  queue: DeliveryQueue,
  eventId: string,
): Promise<DeadLetterDetail | undefined> {
  const job = await failedJob(queue, eventId);
  if (!job) return undefined;
  const { logs } = await queue.getJobLogs(job.id ?? '', 0, -1, true);
  let envelope: unknown;
  try {
    envelope = JSON.parse(job.data.body);
  } catch {
    envelope = job.data.body;
  }
  return {
    eventId: eventIdOf(job),
    type: job.data.type,
    failedAt: failedAtOf(job),
    envelope,
    attempts: logs.map(parseRecord).filter((record) => record !== undefined),
    failedReason: job.failedReason,
  };
}

/**
 * Sends dead letters again. The same job moves back to waiting (`job.retry`), so it keeps its id — the receiver
 * sees the same `webhook-id` and can dedupe — and bypasses the enqueue-time dedupe, which would otherwise swallow
 * it. Attempt counters are reset, so a replay gets the target's full retry budget.
 *
 * @returns how many jobs were moved back to waiting; a job another process replayed or purged meanwhile is skipped
 */
export async function replayDeadLetters(
  queue: DeliveryQueue,
  selector: ReplaySelector,
  onProgress?: ReplayProgress,
): Promise<number> {
  const ids = 'eventId' in selector ? [jobIdForEvent(selector.eventId)] : await failedJobIds(queue);
  let replayed = 0;
  for (const [index, id] of ids.entries()) {
    const job = await queue.getJob(id);
    if (job && (await job.getState()) === 'failed') {
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed += 1;
      } catch (err) {
        // Losing a race to another replay or purge is fine; anything else (Redis down) is the caller's to see.
        if ((await queue.getJobState(id)) === 'failed') throw err;
      }
    }
    onProgress?.(index + 1, ids.length);
  }
  return replayed;
}

/**
 * Deletes dead letters with their logs. Irreversible. BullMQ drops the job's dedupe key with it, so QQ replaying
 * a purged event would deliver it again.
 *
 * @returns how many jobs were removed
 */
export async function purgeDeadLetters(queue: DeliveryQueue, selector: PurgeSelector): Promise<number> {
  if ('eventId' in selector) {
    const job = await failedJob(queue, selector.eventId);
    if (!job) return 0;
    try {
      await job.remove();
    } catch (err) {
      // A concurrent replay can pick the job up (and lock it) between the check and the removal.
      if ((await queue.getJobState(job.id ?? '')) === 'failed') throw err;
      return 0;
    }
    return 1;
  }
  // limit 0 = no limit; clean() pages through the set itself, 10k per script call. It removes the failed jobs
  // whose finishedOn (their score in the set) is at or before now - grace.
  const grace = 'failedUpToMs' in selector ? Math.max(0, Date.now() - selector.failedUpToMs) : 0;
  const removed = await queue.clean(grace, 0, 'failed');
  return removed.length;
}

/**
 * How many dead letters {@link purgeDeadLetters} would remove with `selector` right now.
 *
 * @param connection - the connection `queue` was opened on
 */
export async function countDeadLetters(
  queue: DeliveryQueue,
  connection: Redis,
  selector: PurgeSelector,
): Promise<number> {
  if ('eventId' in selector) return (await failedJob(queue, selector.eventId)) ? 1 : 0;
  if ('all' in selector) return queue.getFailedCount();
  // The failed set is scored by the time each job failed, the same score clean() compares.
  return connection.zcount(queue.toKey('failed'), 0, selector.failedUpToMs);
}
