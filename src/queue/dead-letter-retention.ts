import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { BridgeConfig, DeadLetterRetentionConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { openOutboundQueue, outboundQueueName } from '../outbound/send-queue.js';
import { formatDuration } from '../util/duration.js';
import { deliveryQueue } from './delivery-queue.js';
import { outboundSweepLockKey, targetSweepLockKey } from '../redis/keys.js';

/**
 * Retention of the dead-letter queues (`delivery.dead_letter`): every target's failed deliveries and the bot's
 * failed replies and sends (its outbound queue), each queue trimmed separately to the same limits. Redis runs
 * with `noeviction`, so dead letters kept forever would let one target that refuses everything, or a bot whose
 * messages QQ refuses, fill it, after which every enqueue fails. A sweeper trims each failed set on a timer
 * rather than through BullMQ's `removeOnFail`: that option is stored in each job when it is added, so it would
 * never reach letters enqueued before the setting changed, and BullMQ applies it silently, without the count and
 * log line an operator needs.
 */

/** Why dead letters were deleted: failed longer ago than `max_age`, or older than the newest `max_count`. */
export type DeadLetterTrimReason = 'age' | 'count';

/** How often each worker process trims every queue; also how long one trim keeps other replicas off a queue. */
export const SWEEP_INTERVAL_MS = 10_000;

/**
 * Dead letters removed per `clean()` call. `Queue.clean(grace, limit)` asks its script for min(limit, 10 000) jobs
 * on every round and stops once a round comes back short, so a limit above 10 000 can remove up to 10 000 more
 * than asked; at or below it, one call removes at most `limit`. Small batches also keep each script, during which
 * Redis serves nothing else, short next to live deliveries.
 */
const BATCH = 1_000;

/** How many dead letters one trim of one queue deleted, for each reason. */
export interface TrimResult {
  readonly age: number;
  readonly count: number;
}

/**
 * Trims one queue's dead letters to `retention`: first those that failed longer ago than `maxAgeMs`, then the
 * oldest beyond the newest `maxCount`. The failed set is scored by the time each job failed and `clean()` takes
 * the lowest scores first, so the oldest go first. A deleted dead letter takes its dedupe key with it, as with
 * `dlq purge`: QQ replaying that event later would deliver it again.
 */
export async function trimDeadLetters<T>(
  queue: Queue<T>,
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

/** One dead-letter queue the sweeper trims, and how it speaks of it. */
interface SweptQueue {
  /** `target backend`, `the outbound queue`, for log lines. */
  readonly name: string;
  /** Log fields naming the queue. */
  readonly fields: Readonly<Record<string, string>>;
  readonly lockKey: string;
  /** What an operator does about a queue over `max_count`. */
  readonly overCountHint: string;
  readonly trim: () => Promise<TrimResult>;
  readonly onTrimmed: (reason: DeadLetterTrimReason, count: number) => void;
  readonly close: () => Promise<void>;
}

/** Options of {@link startDeadLetterSweeper}. */
export interface DeadLetterSweeperOptions {
  readonly config: BridgeConfig;
  /** For non-blocking commands; stays the caller's to close. */
  readonly connection: RedisClient;
  readonly logger: Logger;
  /**
   * Called after each trim of a target that deleted something, for metrics. Exceptions it throws (and those of
   * `onOutboundTrimmed`) are logged and ignored.
   */
  readonly onTrimmed?: (targetId: string, reason: DeadLetterTrimReason, count: number) => void;
  /** Called after each trim of the bot's outbound queue that deleted something, for metrics. */
  readonly onOutboundTrimmed?: (reason: DeadLetterTrimReason, count: number) => void;
  /** Time between sweeps; default {@link SWEEP_INTERVAL_MS}. */
  readonly intervalMs?: number;
}

/** A running sweeper. */
export interface DeadLetterSweeper {
  /** Clears the timer, waits for a sweep in progress and closes the queue handles. Never rejects. */
  stop(): Promise<void>;
}

/** Failures surface as rejected calls, logged by the sweeper; without a listener BullMQ would print each one. */
function quiet<T>(queue: Queue<T>): Queue<T> {
  queue.on('error', () => undefined);
  return queue;
}

/** The queues a sweeper trims: every configured target's delivery queue, then the bot's outbound queue. */
function sweptQueues(options: DeadLetterSweeperOptions): SweptQueue[] {
  const { config, connection } = options;
  const { prefix } = config.redis;
  const retention = config.delivery.deadLetter;
  const targets = config.targets.map((target): SweptQueue => {
    const queue = quiet(deliveryQueue(target.id, prefix, connection));
    return {
      name: `target ${target.id}`,
      fields: { targetId: target.id },
      lockKey: targetSweepLockKey(prefix, target.id),
      overCountHint: 'the target refuses deliveries, see dlq list',
      trim: () => trimDeadLetters(queue, retention),
      onTrimmed: (reason, count) => options.onTrimmed?.(target.id, reason, count),
      close: () => queue.close(),
    };
  });
  const { appId } = config.qq;
  const outbound = quiet(openOutboundQueue(appId, prefix, connection));
  return [
    ...targets,
    {
      name: 'the outbound queue',
      fields: { queue: outboundQueueName(appId) },
      lockKey: outboundSweepLockKey(prefix, appId),
      overCountHint: "QQ refuses the bot's replies and sends, see dlq list --outbound",
      trim: () => trimDeadLetters(outbound, retention),
      onTrimmed: (reason, count) => options.onOutboundTrimmed?.(reason, count),
      close: () => outbound.close(),
    },
  ];
}

/**
 * Trims the dead letters of every configured target and of the bot's outbound queue at once and then every
 * `intervalMs`, each queue separately. With several worker processes, a queue trimmed by one of them is left
 * alone by the others for an interval.
 */
export function startDeadLetterSweeper(options: DeadLetterSweeperOptions): DeadLetterSweeper {
  const { connection } = options;
  const retention = options.config.delivery.deadLetter;
  const intervalMs = options.intervalMs ?? SWEEP_INTERVAL_MS;
  const log = options.logger.child({ component: 'dead-letter-retention' });
  const queues = sweptQueues(options);
  const maxAge = formatDuration(retention.maxAgeMs);
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  const report = (swept: SweptQueue, reason: DeadLetterTrimReason, count: number): void => {
    if (count === 0) return;
    const fields = { ...swept.fields, reason, deleted: count, maxAge, maxCount: retention.maxCount };
    if (reason === 'age') {
      log.info(
        fields,
        `deleted ${count} dead letters of ${swept.name} that failed more than ${maxAge} ago ` +
          '(delivery.dead_letter.max_age); replay dead letters sooner or raise the setting to keep them longer',
      );
    } else {
      log.info(
        fields,
        `deleted the ${count} oldest dead letters of ${swept.name}, over the ${retention.maxCount} it keeps ` +
          `(delivery.dead_letter.max_count); ${swept.overCountHint}`,
      );
    }
    try {
      swept.onTrimmed(reason, count);
    } catch (err) {
      log.error({ ...swept.fields, err: describeError(err) }, 'onTrimmed hook failed');
    }
  };

  const sweepQueue = async (swept: SweptQueue): Promise<void> => {
    const claimed = await connection.set(swept.lockKey, String(process.pid), 'PX', intervalMs, 'NX');
    if (claimed === null) {
      log.debug(swept.fields, 'dead letters trimmed by another worker process within the interval; skipped');
      return;
    }
    const trimmed = await swept.trim();
    report(swept, 'age', trimmed.age);
    report(swept, 'count', trimmed.count);
  };

  const sweep = async (): Promise<void> => {
    for (const swept of queues) {
      if (stopped) return;
      try {
        await sweepQueue(swept);
        if (failing) log.info(swept.fields, 'dead-letter retention works again');
        failing = false;
      } catch (err) {
        // One line per failing stretch (Redis away), not one per queue and sweep; the app logs the connection.
        if (!failing) {
          log.warn(
            { ...swept.fields, err: describeError(err), retryInMs: intervalMs },
            `could not trim the dead letters of ${swept.name}; retrying every ${formatDuration(intervalMs)}`,
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
      await Promise.all(queues.map((swept) => swept.close().catch(() => undefined)));
    },
  };
}
