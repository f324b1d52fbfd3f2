/**
 * The two-phase close of BullMQ workers that the delivery and outbound workers share: wait for in-flight jobs up to
 * a grace period, then abort what is still running (its request is cut and its job handed back) and wait a little
 * more. Whatever has not let go by then is left to BullMQ's stalled-job check, which gives it to another worker
 * once its lock expires.
 */
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { within } from '../util/within.js';

/** How long the forced phase waits for aborted jobs to hand their jobs back. */
export const FORCE_CLOSE_MS = 2000;

/** What the log lines of one close call the workers (`delivery workers`, `the outbound worker`). */
export interface CloseWording {
  /** Their in-flight work, e.g. `in-flight deliveries`. */
  readonly work: string;
  /** The workers themselves, e.g. `delivery workers`. */
  readonly workers: string;
}

/**
 * Closes `workers`: up to `graceMs` for a graceful close, then `abort.abort()` and up to {@link FORCE_CLOSE_MS}
 * more. Resolves true when every worker stopped, false when some were abandoned. Never rejects.
 */
export async function closeWorkers(
  workers: readonly { close(): Promise<void> }[],
  graceMs: number,
  abort: AbortController,
  log: Logger,
  wording: CloseWording,
): Promise<boolean> {
  const graceful = Promise.all(workers.map((worker) => worker.close())).then(
    () => true,
    (err: unknown) => {
      log.warn({ err: describeError(err) }, `error while closing ${wording.workers}`);
      return true;
    },
  );
  if (await within(graceful, graceMs)) return true;
  log.warn({ graceMs }, `${wording.work} outlived the grace period; aborting them`);
  abort.abort();
  if (await within(graceful, FORCE_CLOSE_MS)) return true;
  log.error(`${wording.workers} did not stop; leaving their jobs to the stalled-job check`);
  return false;
}
