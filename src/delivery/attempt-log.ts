import { STATUS_CODES } from 'node:http';
import type { AttemptRecord } from '../queue/job.js';
import { attemptHint, type HintTarget } from './attempt-hints.js';
import { targetHost } from './target-host.js';

/** How much of the recorded response body a log line carries; the attempt record (`dlq show`) keeps more. */
export const LOGGED_BODY_CHARS = 200;

/** What became of a failed attempt, which decides the line's wording. */
export type AttemptVerdict =
  /** Retryable, with attempts left; `nextRetryAt` says when. */
  | 'retry'
  /** Permanent (a 4xx, the SSRF guard…): dead-lettered at once. */
  | 'rejected'
  /** Retryable, but it was the last attempt: dead-lettered. */
  | 'exhausted'
  /** Cut short by shutdown and handed back to the queue without using up an attempt. */
  | 'aborted'
  /** Cut short by shutdown, and handing it back failed; queued again once its lock expires. */
  | 'aborted_unreturned';

/** Everything a delivery log line is built from. */
export interface AttemptLogInput {
  readonly eventId: string;
  readonly target: HintTarget & { readonly id: string };
  readonly result: AttemptRecord;
  /** The job's attempts in total (the target's `retry.attempts` when it was enqueued). */
  readonly attempts: number;
  readonly verdict: AttemptVerdict;
  /** When the next attempt is due; only for `retry`. */
  readonly nextRetryAt?: Date;
}

/** The structured fields of a delivery log line, beside its message. */
export interface AttemptLogFields {
  readonly eventId: string;
  readonly targetId: string;
  readonly host: string;
  readonly attempt: number;
  readonly attempts: number;
  readonly status?: number;
  readonly code?: string;
  readonly latencyMs: number;
  readonly nextRetryAt?: string;
  readonly hint?: string;
  readonly body?: string;
}

/** One delivery log line: a message that reads on its own, and the same facts as fields. */
export interface AttemptLogLine {
  readonly fields: AttemptLogFields;
  readonly message: string;
}

/** `HTTP 401 Unauthorized`, or the code and text of a failure without a response (`ECONNREFUSED (…)`). */
export function attemptProblem(result: Pick<AttemptRecord, 'status' | 'errorCode' | 'error'>): string {
  if (result.status !== undefined) {
    const text = STATUS_CODES[result.status];
    return text === undefined ? `HTTP ${result.status}` : `HTTP ${result.status} ${text}`;
  }
  const code = result.errorCode ?? 'unknown error';
  return result.error === undefined ? code : `${code} (${result.error})`;
}

/** The first {@link LOGGED_BODY_CHARS} characters of a body, never splitting a surrogate pair. */
export function loggedBody(body: string | undefined): string | undefined {
  if (body === undefined || body.length === 0) return undefined;
  if (body.length <= LOGGED_BODY_CHARS) return body;
  const end = /[\uD800-\uDBFF]/.test(body.charAt(LOGGED_BODY_CHARS - 1))
    ? LOGGED_BODY_CHARS - 1
    : LOGGED_BODY_CHARS;
  return `${body.slice(0, end)}…`;
}

function whatNext(input: AttemptLogInput): string {
  switch (input.verdict) {
    case 'retry':
      return input.nextRetryAt === undefined
        ? 'will retry'
        : `will retry at ${input.nextRetryAt.toISOString()}`;
    case 'rejected':
      return 'dead-lettered without retrying';
    case 'exhausted':
      return 'no attempt left; dead-lettered';
    case 'aborted':
      return 'returned to the queue without using up an attempt';
    case 'aborted_unreturned':
      return (
        'the job could not be returned to the queue; it is queued again without losing an attempt once its ' +
        'lock expires (delivery.stall_timeout)'
      );
  }
}

/**
 * The log line of a failed or aborted delivery attempt: target, host, what went wrong, latency, `attempt N of M`,
 * what happens next, and a hint for the common causes. The body is cut to {@link LOGGED_BODY_CHARS}; like every
 * line it then goes through the logger's scrubbing (src/log.ts).
 */
export function attemptLogLine(input: AttemptLogInput): AttemptLogLine {
  const { result, target } = input;
  const host = targetHost(target.url);
  const aborted = input.verdict === 'aborted' || input.verdict === 'aborted_unreturned';
  const hint = aborted ? undefined : attemptHint(result, target);
  const body = loggedBody(result.body);
  const fields: AttemptLogFields = {
    eventId: input.eventId,
    targetId: target.id,
    host,
    attempt: result.attempt,
    attempts: input.attempts,
    ...(result.status === undefined ? {} : { status: result.status }),
    ...(result.errorCode === undefined ? {} : { code: result.errorCode }),
    latencyMs: result.latencyMs,
    ...(input.verdict === 'retry' && input.nextRetryAt
      ? { nextRetryAt: input.nextRetryAt.toISOString() }
      : {}),
    ...(hint === undefined ? {} : { hint }),
    ...(body === undefined ? {} : { body }),
  };
  const what = aborted
    ? 'aborted by shutdown'
    : `${input.verdict === 'rejected' ? 'rejected' : 'failed'}: ${attemptProblem(result)}`;
  const message =
    `delivery to "${target.id}" (${host}) ${what} after ${result.latencyMs} ms, ` +
    `attempt ${result.attempt} of ${input.attempts}; ${whatNext(input)}` +
    (hint === undefined ? '' : ` — ${hint}`);
  return { fields, message };
}
