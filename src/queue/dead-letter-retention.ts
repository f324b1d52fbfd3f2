import type { Redis } from 'ioredis';
import type { BridgeConfig, DeadLetterRetentionConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatDuration } from '../util/duration.js';
import { deliveryQueue, type DeliveryQueue } from './delivery-queue.js';

/**
 * Retention of the dead-letter queues (`delivery.dead_letter`). Redis runs with `noeviction`, so dead letters kept
 * forever would let one target that refuses everything fill it, after which every enqueue, for every target,
 * fails. A sweeper trims each target's failed set on a timer rather than through BullMQ's `removeOnFail`: that
 * option is stored in each job when it is added, so it would never reach letters enqueued before the setting
 * changed, and BullMQ applies it silently, without the count and log line an operator needs.
 */

/** Why dead letters were deleted: failed longer ago than `max_age`, or older than the newest `max_count`. */
export type DeadLetterTrimReason = 'age' | 'count';

/** How often each worker process trims every target; also how long one trim keeps other replicas off a target. */
export const SWEEP_INTERVAL_MS = 10_000;

/**
 * Dead letters removed per `clean()` call. `Queue.clean(grace, limit)` asks its script for min(limit, 10 000) jobs
 * on every round and stops once a round comes back short, so a limit above 10 000 can remove up to 10 000 more
 * than asked; at or below it, one call removes at most `limit`. Small batches also keep each script, during which
 * Redis serves nothing else, short next to live deliveries.
 */
const BATCH = 1_000;

/** How many dead letters one trim of one target deleted, for each reason. */
export interface TrimResult {
  readonly age: number;
  readonly count: number;
}

/**
 * Trims one target's dead letters to `retention`: first those that failed longer ago than `maxAgeMs`, then the
 * oldest beyond the newest `maxCount`. The failed set is scored by the time each job failed and `clean()` takes
 * the lowest scores first, so the oldest go first. A deleted dead letter takes its dedupe key with it, as with
 * `dlq purge`: QQ replaying that event later would deliver it again.
 */
export async function trimDeadLetters(
  queue: DeliveryQueue,
  retention: DeadLetterRetentionConfig,
): Promise<TrimResult> {
  let age = 0;
  for (;;) {
    const removed = (await queue.clean(retention.maxAgeMs, BATCH, 'failed')).length;
    age += removed;
    if (removed < BATCH) break;
  }
  let count = 0;
  for (;;) {
    const excess = (await queue.getFailedCount()) - retention.maxCount;
    if (excess <= 0) break;
    // grace 0: any failure time up to now. One that is later (another host's clock ahead) waits for a next sweep.
    const removed = (await queue.clean(0, Math.min(excess, BATCH), 'failed')).length;
    if (removed === 0) break;
    count += removed;
  }
  return { age, count };
}

/** The key a worker process holds while it trims a target, so replicas do not trim the same target at once. */
function sweepKey(prefix: string, targetId: string): string {
  return `${prefix}:dead-letter-sweep:${targetId}`;
}

/** Options of {@link startDeadLetterSweeper}. */
export interface DeadLetterSweeperOptions {
  readonly config: BridgeConfig;
  /** For non-blocking commands; stays the caller's to close. */
  readonly connection: Redis;
  readonly logger: Logger;
  /** Called after each trim that deleted something, for metrics. Exceptions it throws are logged and ignored. */
  readonly onTrimmed?: (targetId: string, reason: DeadLetterTrimReason, count: number) => void;
  /** Time between sweeps; default {@link SWEEP_INTERVAL_MS}. */
  readonly intervalMs?: number;
}

/** A running sweeper. */
export interface DeadLetterSweeper {
  /** Clears the timer, waits for a sweep in progress and closes the queue handles. Never rejects. */
  stop(): Promise<void>;
}

/**
 * Trims every configured target's dead letters at once and then every `intervalMs`, each target separately. With
 * several worker processes, a target trimmed by one of them is left alone by the others for an interval.
 */
export function startDeadLetterSweeper(options: DeadLetterSweeperOptions): DeadLetterSweeper {
  const { config, connection } = options;
  const { prefix } = config.redis;
  const retention = config.delivery.deadLetter;
  const intervalMs = options.intervalMs ?? SWEEP_INTERVAL_MS;
  const log = options.logger.child({ component: 'dead-letter-retention' });
  const queues = config.targets.map((target) => {
    const queue = deliveryQueue(target.id, prefix, connection);
    // Failures surface as rejected calls, logged below; without a listener BullMQ would print each one.
    queue.on('error', () => undefined);
    return { targetId: target.id, queue };
  });
  const maxAge = formatDuration(retention.maxAgeMs);
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  const report = (targetId: string, reason: DeadLetterTrimReason, count: number): void => {
    if (count === 0) return;
    const fields = { targetId, reason, deleted: count, maxAge, maxCount: retention.maxCount };
    if (reason === 'age') {
      log.info(
        fields,
        `deleted ${count} dead letters of target ${targetId} that failed more than ${maxAge} ago ` +
          '(delivery.dead_letter.max_age); replay dead letters sooner or raise the setting to keep them longer',
      );
    } else {
      log.info(
        fields,
        `deleted the ${count} oldest dead letters of target ${targetId}, over the ${retention.maxCount} it keeps ` +
          '(delivery.dead_letter.max_count); the target refuses deliveries, see dlq list',
      );
    }
    try {
      options.onTrimmed?.(targetId, reason, count);
    } catch (err) {
      log.error({ targetId, err: describeError(err) }, 'onTrimmed hook failed');
    }
  };

  const sweepTarget = async (targetId: string, queue: DeliveryQueue): Promise<void> => {
    const claimed = await connection.set(
      sweepKey(prefix, targetId),
      String(process.pid),
      'PX',
      intervalMs,
      'NX',
    );
    if (claimed === null) {
      log.debug({ targetId }, 'dead letters trimmed by another worker process within the interval; skipped');
      return;
    }
    const trimmed = await trimDeadLetters(queue, retention);
    report(targetId, 'age', trimmed.age);
    report(targetId, 'count', trimmed.count);
  };

  const sweep = async (): Promise<void> => {
    for (const { targetId, queue } of queues) {
      if (stopped) return;
      try {
        await sweepTarget(targetId, queue);
        if (failing) log.info({ targetId }, 'dead-letter retention works again');
        failing = false;
      } catch (err) {
        // One line per failing stretch (Redis away), not one per target and sweep; the app logs the connection.
        if (!failing) {
          log.warn(
            { targetId, err: describeError(err), retryInMs: intervalMs },
            `could not trim the dead letters of target ${targetId}; retrying every ${formatDuration(intervalMs)}`,
          );
        }
        failing = true;
      }
    }
  };

  const run = (): void => {
    sweeping = sweep().finally(() => {
      sweeping = undefined;
      if (stopped) return;
      timer = setTimeout(run, intervalMs);
      // Retention must never be what keeps the process alive.
      timer.unref();
    });
  };
  run();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await sweeping;
      await Promise.all(queues.map(({ queue }) => queue.close().catch(() => undefined)));
    },
  };
}
