/**
 * `?wait=5s` on sends: answer once the message is sent or failed, up to that long. The status is polled from
 * Redis every {@link POLL_INTERVAL_MS} rather than followed through BullMQ's QueueEvents: polling reads the same
 * state `GET /v1/messages/{id}` reads, needs no blocking connection per process and no event stream that could be
 * trimmed or missed across a reconnect, and costs at most one status read per waiting request per interval.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { OutboundJobData } from '../../outbound/message.js';
import { readOutboundStatus, type OutboundStatus } from '../../outbound/status.js';
import { parseDurationMs } from '../../util/duration.js';
import { invalid } from './api-error.js';

/** The longest wait a request may ask for. */
export const MAX_WAIT_MS = 30_000;

/** How often a waiting request reads the message's status. */
export const POLL_INTERVAL_MS = 100;

/** The `wait` query parameter in ms (0 when absent); throws the 400 when it is not a duration up to 30 s. */
export function readWait(search: string): number {
  const values = new URLSearchParams(search).getAll('wait');
  if (values.length === 0) return 0;
  const ms = values.length === 1 ? parseDurationMs(values[0]!) : undefined;
  if (ms === undefined || ms > MAX_WAIT_MS) {
    throw invalid(
      'wait',
      `wait must be given once, as a duration with a unit from 0s to ${MAX_WAIT_MS / 1000}s, such as wait=5s ` +
        `or wait=500ms`,
    );
  }
  return ms;
}

/** Whether a status is final: the message was sent or failed. */
export function isFinal(status: OutboundStatus): boolean {
  return status.status !== 'queued';
}

/**
 * Reads the status of `id` until it is final or `waitMs` has passed (at least once, even when `waitMs` is 0), or
 * `signal` aborts. Resolves with the final status, or undefined when the message is still queued, unknown or its
 * status could not be read: the message is stored either way, so the caller answers 202.
 */
export async function waitForFinal(
  queue: Queue<OutboundJobData>,
  id: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<OutboundStatus | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let status: OutboundStatus | undefined;
    try {
      status = await readOutboundStatus(queue, id);
    } catch {
      return undefined;
    }
    if (status && isFinal(status)) return status;
    const left = deadline - Date.now();
    if (left <= 0 || signal.aborted) return undefined;
    try {
      await sleep(Math.min(POLL_INTERVAL_MS, left), undefined, { signal });
    } catch {
      return undefined;
    }
  }
}
