/**
 * The upgrade from the shared key layout (every queue under the one hash tag `redis.prefix`) to per-queue hash
 * tags (src/redis/keys.ts). The new producers write only the new queues, but an upgraded deployment may still hold
 * jobs in the old ones: waiting, delayed, retrying, in flight when the old worker stopped, or a dead letter that
 * `dlq replay` put back. So each worker also watches the old queue of its target (or of the bot's outbound queue)
 * and runs a worker on it for as long as it holds unfinished jobs, with the same processor and settings. A job
 * there is processed in place, under BullMQ's usual lock: nothing is copied, so nothing is done twice. The check
 * repeats every interval, which also covers a rolling upgrade where a process of the old version still enqueues.
 */
import type { RedisClient } from '../redis/client.js';
import { describeError } from '../errors.js';
import { legacyQueueKey } from '../redis/legacy-keys.js';
import type { Logger } from '../log.js';

/** How often a worker looks at the old queue; an idle look is one command. */
export const LEGACY_DRAIN_INTERVAL_MS = 30_000;

/**
 * BullMQ's lists and sets of the jobs that are not finished yet (waiting, paused, in flight, delayed or retrying,
 * prioritized, waiting for children): a worker must run while any holds a job.
 */
const UNFINISHED_LISTS = ['wait', 'paused', 'active'] as const;
const UNFINISHED_SETS = ['delayed', 'prioritized', 'waiting-children'] as const;

/** Options of {@link startLegacyDrain}. */
export interface LegacyDrainOptions {
  /** Where the old queue is: the connection (stays the caller's), its BullMQ prefix and name. */
  readonly connection: RedisClient;
  readonly queuePrefix: string;
  readonly queueName: string;
  /** Starts a worker on the old queue with the new worker's processor and settings. */
  readonly startWorker: () => { close(): Promise<void> };
  /** Log fields naming the queue, e.g. `{ targetId }`. */
  readonly fields: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /** Default {@link LEGACY_DRAIN_INTERVAL_MS}. */
  readonly intervalMs?: number;
}

/** A running drain; `close()` stops the checks and the worker on the old queue (for `closeWorkers`). */
export interface LegacyDrain {
  close(): Promise<void>;
}

/**
 * How many of a queue's jobs are unfinished, read with plain LLEN and ZCARD rather than through a BullMQ queue
 * handle, which would write the queue's meta key: a fresh install gets no key of the old layout.
 */
export async function unfinishedJobs(
  connection: RedisClient,
  queuePrefix: string,
  queueName: string,
): Promise<number> {
  const key = (suffix: string): string => legacyQueueKey(queuePrefix, queueName, suffix);
  const counts = await Promise.all([
    ...UNFINISHED_LISTS.map((suffix) => connection.llen(key(suffix))),
    ...UNFINISHED_SETS.map((suffix) => connection.zcard(key(suffix))),
  ]);
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Watches one old queue and works it while it holds unfinished jobs. */
export function startLegacyDrain(options: LegacyDrainOptions): LegacyDrain {
  const log = options.logger.child({ component: 'legacy-drain' });
  const { connection, queuePrefix, queueName, fields } = options;
  const queue = `${queuePrefix}:${queueName}`;
  let worker: { close(): Promise<void> } | undefined;
  let closed = false;
  let checking: Promise<void> = Promise.resolve();

  const check = async (): Promise<void> => {
    let pending: number;
    try {
      pending = await unfinishedJobs(connection, queuePrefix, queueName);
    } catch (err) {
      log.warn(
        { ...fields, queue, err: describeError(err) },
        'could not count the jobs left in the queue of the old key layout; looking again at the next check',
      );
      return;
    }
    if (closed) return;
    if (pending > 0 && !worker) {
      log.info(
        { ...fields, queue, pending },
        'jobs found in the queue of the old key layout (before per-queue hash tags); working them off in place',
      );
      worker = options.startWorker();
    } else if (pending === 0 && worker) {
      const done = worker;
      worker = undefined;
      await done.close();
      log.info({ ...fields, queue }, 'queue of the old key layout drained; its worker stopped');
    }
  };

  const tick = (): void => {
    checking = checking.then(check);
  };
  tick();
  const timer = setInterval(tick, options.intervalMs ?? LEGACY_DRAIN_INTERVAL_MS);
  timer.unref();

  return {
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      await checking;
      await worker?.close();
    },
  };
}
