/**
 * What `GET /v1/messages/{id}` answers: an outbound job's state as a backend sees it. The worker fails a job with
 * a reason `<CODE>: <message>` (see {@link failureReason}), which is read back here as `{code, message}`.
 */
import type { Job, Queue } from 'bullmq';
import type { OutboundJobData, OutboundSent } from './message.js';

export type OutboundState = 'queued' | 'sent' | 'failed';

/** QQ's answer to a sent message. */
export interface SentView {
  readonly id?: string;
  readonly timestamp?: number | string;
  readonly duplicate?: boolean;
}

/** An outbound message's state. */
export interface OutboundStatus {
  readonly id: string;
  readonly status: OutboundState;
  /** Attempts made so far. */
  readonly attempts: number;
  /** QQ's answer once sent: its message id and timestamp (absent when QQ already had it: `duplicate`). */
  readonly qq?: SentView;
  /** Why it failed, once failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** The failed reason the worker stores, which {@link readOutboundStatus} parses back. */
export function failureReason(code: string, message: string): string {
  return `${code}: ${message}`;
}

/** Parses a stored failed reason; a reason not in the `<CODE>: <message>` form gets the code `BRIDGE_ERR_QQ_SEND`. */
export function parseFailureReason(reason: string): { code: string; message: string } {
  const match = /^([A-Z][A-Z0-9_]*): (.*)$/s.exec(reason);
  return match ? { code: match[1]!, message: match[2]! } : { code: 'BRIDGE_ERR_QQ_SEND', message: reason };
}

function sentView(value: unknown): SentView {
  if (typeof value !== 'object' || value === null) return {};
  const sent = value as Partial<OutboundSent>;
  return {
    ...(typeof sent.qqId === 'string' ? { id: sent.qqId } : {}),
    ...(sent.timestamp === undefined ? {} : { timestamp: sent.timestamp }),
    ...(sent.duplicate === true ? { duplicate: true } : {}),
  };
}

/** The status of one job in `state` (read before the job, so the job is at least as new as the state). */
export function statusOfJob(job: Job<OutboundJobData>, state: string): OutboundStatus {
  const base = { id: job.id ?? job.data.id, attempts: job.attemptsMade };
  if (state === 'completed') return { ...base, status: 'sent', qq: sentView(job.returnvalue) };
  if (state === 'failed') {
    return { ...base, status: 'failed', error: parseFailureReason(job.failedReason ?? '') };
  }
  return { ...base, status: 'queued' };
}

/**
 * The status of outbound id `id`, or undefined when no such message is known (never, or removed after a day). The
 * state is read before the job: a job read first could be older than the state (a send finishing in between
 * would show as failed with no reason).
 */
export async function readOutboundStatus(
  queue: Queue<OutboundJobData>,
  id: string,
): Promise<OutboundStatus | undefined> {
  const state = await queue.getJobState(id);
  if (state === 'unknown') return undefined;
  const job = await queue.getJob(id);
  return job ? statusOfJob(job, state) : undefined;
}
