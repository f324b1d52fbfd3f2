import type { Job, Queue } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { BridgeConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import type { AttemptRecord, DeliveryJobData } from './job.js';
import { deliveryQueue, legacyDeliveryQueue, type DeliveryQueue } from './delivery-queue.js';
import { eventIdFromJobId, jobIdForEvent } from './names.js';

/**
 * A dead-letter queue is BullMQ's failed set of a queue whose jobs are added with `removeOnFail: false`: a
 * target's delivery queue (failed deliveries) or the bot's outbound queue (failed replies and sends). A failed job
 * stays, with its attempt log, until purged or deleted by the retention of `delivery.dead_letter`
 * (dead-letter-retention.ts). Replay, purge and count work on any such queue; the listing of deliveries is here,
 * that of outbound messages in src/outbound/dead-letters.ts. These functions are what `dlq list|show|replay|purge`
 * calls.
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

/**
 * One dead letter: by event id in a target's delivery queue (whose job ids are made from it), or by job id in any
 * queue (an outbound message's id is its job id).
 */
export type DeadLetterRef = { readonly eventId: string } | { readonly jobId: string };

/** Which dead letters `replayDeadLetters` acts on. */
export type ReplaySelector = DeadLetterRef | { readonly all: true };

/**
 * Which dead letters `purgeDeadLetters` removes. `failedUpToMs` is a fixed time (ms since the epoch): those that
 * failed at or before it, so what a confirmation counted is what is then removed, however long the answer took.
 */
export type PurgeSelector = DeadLetterRef | { readonly all: true } | { readonly failedUpToMs: number };

/** What a worker writes as one line of a job's log per attempt: at least its number and outcome. */
export interface AttemptLine {
  readonly attempt: number;
  readonly outcome: string;
}

/** A dead letter and the attempt records of its log. */
export interface FailedJob<T, R extends AttemptLine> {
  readonly job: Job<T>;
  readonly attempts: R[];
}

/** Called after each replayed job with how many are done and how many were selected. */
export type ReplayProgress = (done: number, total: number) => void;

const PAGE_SIZE = 500;

/**
 * Opens the delivery queue of one configured target. The connection is shared and stays the caller's; close the
 * returned queue with `queue.close()`.
 *
 * @throws BridgeError `BRIDGE_ERR_NOT_FOUND` naming the configured ids when `targetId` is not one of them
 */
export function openDeliveryQueue(
  config: BridgeConfig,
  targetId: string,
  connection: RedisClient,
): DeliveryQueue {
  assertConfiguredTarget(config, targetId);
  return deliveryQueue(targetId, config.redis.prefix, connection);
}

function assertConfiguredTarget(config: BridgeConfig, targetId: string): void {
  if (!config.targets.some((target) => target.id === targetId)) {
    const known = config.targets.map((target) => target.id);
    throw new BridgeError(
      'BRIDGE_ERR_NOT_FOUND',
      `unknown target "${targetId}"; configured targets: ${known.length > 0 ? known.join(', ') : '(none)'}`,
    );
  }
}

/**
 * The same target's queue in the key layout before per-target hash tags, whose dead letters an upgraded
 * deployment still has (queue/legacy-drain.ts works off whatever is replayed there).
 */
export function openLegacyDeliveryQueue(
  config: BridgeConfig,
  targetId: string,
  connection: RedisClient,
): DeliveryQueue {
  assertConfiguredTarget(config, targetId);
  return legacyDeliveryQueue(targetId, config.redis.prefix, connection);
}

function isRef(selector: PurgeSelector): selector is DeadLetterRef {
  return 'eventId' in selector || 'jobId' in selector;
}

/** The job id a reference names. */
function jobIdOf(ref: DeadLetterRef): string {
  return 'eventId' in ref ? jobIdForEvent(ref.eventId) : ref.jobId;
}

/** An attempt record of the shape `R` that the queue's worker writes, or undefined for any other log line. */
function parseRecord<R extends AttemptLine>(line: string): R | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && 'attempt' in value && 'outcome' in value) {
      return value as R;
    }
  } catch {
    // a log line not written by the worker; it is not an attempt
  }
  return undefined;
}

function eventIdOf(job: Job<DeliveryJobData>): string {
  return job.data.eventId || eventIdFromJobId(job.id ?? '');
}

/** When a dead letter failed, ISO 8601. */
export function failedAtOf<T>(job: Job<T>): string {
  return new Date(job.finishedOn ?? job.timestamp).toISOString();
}

async function failedJob<T>(queue: Queue<T>, jobId: string): Promise<Job<T> | undefined> {
  if ((await queue.getJobState(jobId)) !== 'failed') return undefined;
  return queue.getJob(jobId);
}

/** Ids of every dead letter right now. Taken up front so jobs that fail again during a replay are not revisited. */
async function failedJobIds<T>(queue: Queue<T>): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; ; start += PAGE_SIZE) {
    const page = await queue.getRanges(['failed'], start, start + PAGE_SIZE - 1, true);
    ids.push(...page);
    if (page.length < PAGE_SIZE) return ids;
  }
}

/**
 * The newest dead letters of any queue first, each with its last attempt record (the newest line of its log, when
 * that is one).
 *
 * @param limit - at most this many; at least 1
 */
export async function listFailedJobs<T, R extends AttemptLine>(
  queue: Queue<T>,
  limit: number,
): Promise<{ job: Job<T>; last?: R }[]> {
  const jobs = await queue.getFailed(0, Math.max(1, limit) - 1);
  return Promise.all(
    jobs.map(async (job) => {
      const { logs } = await queue.getJobLogs(job.id ?? '', 0, 0, false);
      const last = logs[0] === undefined ? undefined : parseRecord<R>(logs[0]);
      return last === undefined ? { job } : { job, last };
    }),
  );
}

/** One dead letter of any queue with every attempt record of its log, oldest first; undefined when not failed. */
export async function readFailedJob<T, R extends AttemptLine>(
  queue: Queue<T>,
  ref: DeadLetterRef,
): Promise<FailedJob<T, R> | undefined> {
  const job = await failedJob(queue, jobIdOf(ref));
  if (!job) return undefined;
  const { logs } = await queue.getJobLogs(job.id ?? '', 0, -1, true);
  return { job, attempts: logs.map((line) => parseRecord<R>(line)).filter((record) => record !== undefined) };
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
  const failed = await listFailedJobs<DeliveryJobData, AttemptRecord>(queue, options.limit ?? 50);
  return failed.map(({ job, last }) => {
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
  });
}

/** One dead letter with its envelope and full attempt history; undefined when `eventId` is not dead-lettered. */
export async function showDeadLetter(
  queue: DeliveryQueue,
  eventId: string,
): Promise<DeadLetterDetail | undefined> {
  const failed = await readFailedJob<DeliveryJobData, AttemptRecord>(queue, { eventId });
  if (!failed) return undefined;
  const { job, attempts } = failed;
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
    attempts,
    failedReason: job.failedReason,
  };
}

/**
 * Sends dead letters of any queue again. The same job moves back to waiting (`job.retry`), so it keeps its id — a
 * target's receiver sees the same `webhook-id` and can dedupe, an outbound message keeps its outbound id and body
 * with `msg_seq` — and bypasses the enqueue-time dedupe, which would otherwise swallow it. Attempt counters are
 * reset, so a replay gets the full retry budget.
 *
 * @param onReplayed - called with each job moved back to waiting, as it was when it was dead
 * @returns how many jobs were moved back to waiting; a job another process replayed or purged meanwhile is skipped
 */
export async function replayDeadLetters<T>(
  queue: Queue<T>,
  selector: ReplaySelector,
  onProgress?: ReplayProgress,
  onReplayed?: (job: Job<T>) => void,
): Promise<number> {
  const ids = 'all' in selector ? await failedJobIds(queue) : [jobIdOf(selector)];
  let replayed = 0;
  for (const [index, id] of ids.entries()) {
    const job = await queue.getJob(id);
    if (job && (await job.getState()) === 'failed') {
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed += 1;
        onReplayed?.(job);
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
 * Deletes dead letters of any queue with their logs. Irreversible. BullMQ drops the job's dedupe key with it, so
 * QQ replaying a purged event would deliver it again, and an outbound message sent again with the same
 * Idempotency-Key would be enqueued anew.
 *
 * @returns how many jobs were removed
 */
export async function purgeDeadLetters<T>(queue: Queue<T>, selector: PurgeSelector): Promise<number> {
  if (isRef(selector)) {
    const job = await failedJob(queue, jobIdOf(selector));
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
export async function countDeadLetters<T>(
  queue: Queue<T>,
  connection: RedisClient,
  selector: PurgeSelector,
): Promise<number> {
  if (isRef(selector)) return (await failedJob(queue, jobIdOf(selector))) ? 1 : 0;
  if ('all' in selector) return queue.getFailedCount();
  // The failed set is scored by the time each job failed, the same score clean() compares.
  return connection.zcount(queue.toKey('failed'), 0, selector.failedUpToMs);
}
