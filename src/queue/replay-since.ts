import type { Job } from 'bullmq';
import type { DeliveryJobData } from './job.js';
import { parseDuration } from '../util/duration.js';
import type { DeliveryQueue, ReplayProgress } from './dlq.js';

const PAGE_SIZE = 500;

/**
 * Sends again every delivery of a target that finished (delivered or dead-lettered) at or after `sinceMs`, with
 * the same webhook-id, for a receiver that lost what it had processed. Only retained jobs can be replayed:
 * completed deliveries are kept for `KEEP_COMPLETED` (an hour, at most 1000 per target), dead letters until
 * purged or deleted by the retention of `delivery.dead_letter`. Returns how many were re-enqueued.
 */
export async function replaySince(
  queue: DeliveryQueue,
  sinceMs: number,
  onProgress?: ReplayProgress,
): Promise<number> {
  const selected: { job: Job<DeliveryJobData>; state: 'completed' | 'failed' }[] = [];
  for (const state of ['completed', 'failed'] as const) {
    for (let start = 0; ; start += PAGE_SIZE) {
      const page = await queue.getJobs([state], start, start + PAGE_SIZE - 1, true);
      for (const job of page) {
        if ((job.finishedOn ?? 0) >= sinceMs) selected.push({ job, state });
      }
      if (page.length < PAGE_SIZE) break;
    }
  }
  // Oldest first, so a receiver that cares about order sees the original order as far as concurrency allows.
  selected.sort((a, b) => (a.job.finishedOn ?? 0) - (b.job.finishedOn ?? 0));
  let replayed = 0;
  for (const [index, { job, state }] of selected.entries()) {
    try {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      replayed += 1;
    } catch (err) {
      // Removed or replayed meanwhile (a race with retention or another replay) is fine; anything else is not.
      const now = await queue.getJobState(job.id ?? '');
      if (now === state) throw err;
    }
    onProgress?.(index + 1, selected.length);
  }
  return replayed;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]|$)/;
const NUMBER_FIRST = /^-?\d/;

/**
 * Reads `--since`: a duration back from now (`2h`, `30m`, `7d`, in the grammar of util/duration.ts) or an ISO 8601
 * time (`2026-11-25T12:00:00Z`). Anything else is refused with the reason, a bare number included: `Date.parse`
 * would read `7` as a day in 2001.
 *
 * @returns the time in ms since the epoch, or a problem phrase that follows the quoted value
 */
export function parseSince(text: string, nowMs: number): { sinceMs: number } | { problem: string } {
  if (ISO_DATE.test(text)) {
    const at = Date.parse(text);
    return Number.isNaN(at)
      ? { problem: 'is not a valid ISO 8601 time; write one like 2026-11-25T12:00:00Z' }
      : { sinceMs: at };
  }
  const ago = parseDuration(text, 'h');
  if ('ms' in ago) return { sinceMs: nowMs - ago.ms };
  if (NUMBER_FIRST.test(text)) return ago;
  return {
    problem: 'is neither a duration like 30m, 2h or 7d nor an ISO 8601 time like 2026-11-25T12:00:00Z',
  };
}
