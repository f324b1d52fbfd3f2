/**
 * The outbound dead-letter queue: the failed set of the bot's outbound queue, that is replies and API sends QQ
 * refused, whose reply window closed, or that ran out of attempts (jobs are added with `removeOnFail: false`).
 * This reads them for `dlq list|show --outbound`; replay and purge are those of every dead-letter queue
 * (src/queue/dlq.ts), and retention is `delivery.dead_letter` (src/queue/dead-letter-retention.ts).
 */
import type { Job, Queue } from 'bullmq';
import {
  failedAtOf,
  listFailedJobs,
  readFailedJob,
  replayDeadLetters,
  type AttemptLine,
  type ReplayProgress,
  type ReplaySelector,
} from '../queue/dlq.js';
import { messagePath, type OutboundJobData } from './message.js';
import { parseFailureReason } from './status.js';

/** The bot's outbound queue, as the dead-letter commands, the sweeper and the dashboard open it. */
export type OutboundDeadLetterQueue = Queue<OutboundJobData>;

/**
 * Where a dead outbound job was going: a message to a group or a user, or a button-click acknowledgement.
 * `unknown` for a job whose data is not an outbound job (the worker dead-letters those without calling QQ).
 */
export type OutboundDestination =
  | { readonly kind: 'message'; readonly scene: 'group' | 'c2c'; readonly openid: string }
  | { readonly kind: 'interaction'; readonly interactionId: string }
  | { readonly kind: 'unknown' };

/** One attempt as the outbound worker records it in the job's log, one JSON line per attempt. */
export type OutboundAttemptLine = AttemptLine & Readonly<Record<string, unknown>>;

/** What `dlq list --outbound` and `dlq show --outbound` both say about an outbound dead letter. */
interface OutboundDeadLetterSummary {
  /** The outbound id (`ob_…`), which is also the job id and what `GET /v1/messages/{id}` reads. */
  readonly id: string;
  /** `reply` (a target's answer to a delivery) or `api` (the send API). */
  readonly source: string;
  /** Why it failed, as `GET /v1/messages/{id}` reports it: `QQ_40034005`, `BRIDGE_ERR_REPLY_EXPIRED`, … */
  readonly error: { readonly code: string; readonly message: string };
  /** ISO 8601. */
  readonly failedAt: string;
}

/** One line of `dlq list --outbound`. */
export type OutboundDeadLetterRow = OutboundDeadLetterSummary &
  OutboundDestination & {
    /** Attempts made in the last round (a replay starts a new round). */
    readonly attempts: number;
  };

/** What `dlq show --outbound` prints. */
export type OutboundDeadLetterDetail = OutboundDeadLetterSummary &
  OutboundDestination & {
    /** The request sent to QQ on every attempt; absent for a job that is not an outbound job. */
    readonly request?: OutboundRequest;
    /** The stored job data, for a job that is not an outbound job. */
    readonly data?: unknown;
    /** ISO 8601 end of a passive reply's window; replayed after it, the message fails `BRIDGE_ERR_REPLY_EXPIRED`. */
    readonly deadline?: string;
    /** The inbound event a reply answers: its event id and the target whose answer it was. */
    readonly inbound?: unknown;
    readonly idempotencyKey?: string;
    /** Every attempt recorded for this job, oldest first, replays included. */
    readonly attempts: OutboundAttemptLine[];
    /** The failed reason as stored, `<CODE>: <message>`. */
    readonly failedReason: string;
  };

/** A request to QQ's OpenAPI. */
export interface OutboundRequest {
  readonly method: 'POST' | 'PUT';
  readonly path: string;
  readonly body: unknown;
}

/** A passive reply that a replay sent back to the queue after its window had closed. */
export interface ExpiredReplay {
  readonly id: string;
  /** ISO 8601. */
  readonly deadline: string;
}

/** The field `key` of job data that may be anything. */
function field(data: unknown, key: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
}

/** Where the job was going, read defensively: a malformed job is dead-lettered as it is. */
export function destinationOf(data: unknown): OutboundDestination {
  const kind = field(data, 'kind');
  const scene = field(data, 'scene');
  const openid = field(data, 'openid');
  if (kind === 'message' && (scene === 'group' || scene === 'c2c') && typeof openid === 'string') {
    return { kind, scene, openid };
  }
  const interactionId = field(data, 'interactionId');
  if (kind === 'interaction' && typeof interactionId === 'string') return { kind, interactionId };
  return { kind: 'unknown' };
}

/** Unix ms of a passive message's deadline, if it has one. */
function deadlineOf(data: unknown): number | undefined {
  const deadline = field(data, 'deadline');
  return field(data, 'kind') === 'message' && typeof deadline === 'number' ? deadline : undefined;
}

function summaryOf(job: Job<OutboundJobData>): OutboundDeadLetterSummary {
  const source = field(job.data, 'source');
  return {
    id: job.id ?? '',
    source: typeof source === 'string' ? source : 'unknown',
    error: parseFailureReason(job.failedReason ?? ''),
    failedAt: failedAtOf(job),
  };
}

/** What the job sends to QQ (docs/qq-protocol.md §8): the same request on every attempt. */
function requestOf(data: unknown, destination: OutboundDestination): OutboundRequest | undefined {
  if (destination.kind === 'message') {
    return {
      method: 'POST',
      path: messagePath(destination.scene, destination.openid),
      body: field(data, 'body'),
    };
  }
  if (destination.kind === 'interaction') {
    const path = `/interactions/${encodeURIComponent(destination.interactionId)}`;
    return { method: 'PUT', path, body: { code: field(data, 'code') } };
  }
  return undefined;
}

/**
 * The newest outbound dead letters first.
 *
 * @param options.limit - at most this many rows; default 50
 */
export async function listOutboundDeadLetters(
  queue: OutboundDeadLetterQueue,
  options: { limit?: number } = {},
): Promise<OutboundDeadLetterRow[]> {
  const failed = await listFailedJobs<OutboundJobData, OutboundAttemptLine>(queue, options.limit ?? 50);
  return failed.map(({ job }) => ({
    ...summaryOf(job),
    ...destinationOf(job.data),
    attempts: job.attemptsMade,
  }));
}

/** One outbound dead letter with what it sent and every attempt; undefined when `id` is not dead-lettered. */
export async function showOutboundDeadLetter(
  queue: OutboundDeadLetterQueue,
  id: string,
): Promise<OutboundDeadLetterDetail | undefined> {
  const failed = await readFailedJob<OutboundJobData, OutboundAttemptLine>(queue, { jobId: id });
  if (!failed) return undefined;
  const { job, attempts } = failed;
  const destination = destinationOf(job.data);
  const request = requestOf(job.data, destination);
  const deadline = deadlineOf(job.data);
  const inbound = field(job.data, 'inbound');
  const idempotencyKey = field(job.data, 'idempotencyKey');
  return {
    ...summaryOf(job),
    ...destination,
    ...(request ? { request } : { data: job.data }),
    ...(deadline === undefined ? {} : { deadline: new Date(deadline).toISOString() }),
    ...(inbound === undefined ? {} : { inbound }),
    ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
    attempts,
    failedReason: job.failedReason ?? '',
  };
}

/**
 * Sends outbound dead letters again ({@link replayDeadLetters}: same outbound id and body, `msg_seq` included,
 * full retry budget). Passive replies whose window has closed are replayed too, as asked, and returned in
 * `expired`: QQ no longer accepts them, so they fail again with `BRIDGE_ERR_REPLY_EXPIRED`.
 *
 * @param now - unix ms the deadlines are compared with; default the current time
 */
export async function replayOutboundDeadLetters(
  queue: OutboundDeadLetterQueue,
  selector: ReplaySelector,
  onProgress?: ReplayProgress,
  now: number = Date.now(),
): Promise<{ replayed: number; expired: ExpiredReplay[] }> {
  const expired: ExpiredReplay[] = [];
  const replayed = await replayDeadLetters(queue, selector, onProgress, (job) => {
    const deadline = deadlineOf(job.data);
    if (deadline !== undefined && deadline <= now) {
      expired.push({ id: job.id ?? '', deadline: new Date(deadline).toISOString() });
    }
  });
  return { replayed, expired };
}
