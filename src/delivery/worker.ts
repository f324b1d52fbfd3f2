import { setMaxListeners } from 'node:events';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { BridgeConfig, TargetConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { within } from '../util/within.js';
import { closeWorkers, FORCE_CLOSE_MS } from './close-workers.js';
import type { AttemptRecord, DeliveryJobData } from '../queue/job.js';
import { BACKOFF_TYPE } from '../queue/job-options.js';
import { deliveryQueueName, eventIdFromJobId } from '../queue/names.js';
import { startLegacyDrain } from '../queue/legacy-drain.js';
import { targetQueuePrefix } from '../redis/keys.js';
import { legacyQueuePrefix } from '../redis/legacy-keys.js';
import { attemptLogLine, type AttemptVerdict } from './attempt-log.js';
import { retryDelayMs } from './backoff.js';
import { startDeliverySummary } from './delivery-summary.js';
import { ABORTED_CODE } from './classify.js';
import { WebhookDeliverer, type AttemptResult } from './deliver.js';
import type { RedisClient } from '../redis/client.js';
import { connectRedis, createRedisConnections } from '../redis/connections.js';
import { createReplyHandler, type ReplyOutcome, type ReplyRecord, type ReplyRouting } from './replies.js';

/**
 * Where the workers' connection comes from: a single node's URL, or a factory returning a NEW ioredis client or
 * Cluster (created with `maxRetriesPerRequest: null`, as BullMQ requires for workers, e.g. the `worker()` of
 * src/redis/connections.ts). It is called once; every target's worker
 * shares the client for its non-blocking commands. Either way the client is owned, and closed, by
 * {@link startDeliveryWorkers}.
 */
export type RedisConnectionSource = { readonly url: string } | (() => RedisClient);

/** Options of {@link startDeliveryWorkers}. */
export interface DeliveryWorkersOptions {
  readonly config: BridgeConfig;
  /** Default: a worker connection for `config.redis` (one node, Cluster or Sentinel). */
  readonly redis?: RedisConnectionSource;
  readonly logger: Logger;
  /** Shared deliverer (e.g. one with the SSRF guard); when given, the caller closes it. Default: a new one. */
  readonly deliverer?: WebhookDeliverer;
  /**
   * Called after every attempt, for metrics; `exhausted` is true when it was a retryable failure on the job's last
   * attempt, so the job goes to the dead-letter queue. Exceptions it throws are logged and otherwise ignored.
   */
  readonly onResult?: (targetId: string, result: AttemptResult, exhausted: boolean) => void;
  /** Source of randomness for backoff jitter; injectable for tests. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Sends the replies in targets' 2xx answers (`{"replies": […]}`, docs/design.md §4): each is stored in
   * `replies.outbound` before the delivery completes, and each that cannot be sent is reported through
   * `replies.results` as `bridge.message.failed`. Without it an answer is only an acknowledgement.
   */
  readonly replies?: ReplyRouting;
  /** Called once per reply read from an answer, with what became of it, for metrics. Exceptions are ignored. */
  readonly onReply?: (targetId: string, outcome: ReplyOutcome) => void;
  /** How often the queues of the old key layout are looked at; default 30 s (queue/legacy-drain.ts). */
  readonly legacyDrainIntervalMs?: number;
  /** How often the per-target summary of deliveries is logged at info; default 10 s (delivery-summary.ts). */
  readonly summaryIntervalMs?: number;
}

/** Running delivery workers. */
export interface DeliveryWorkers {
  /**
   * Stops taking jobs and waits up to `graceMs` for in-flight deliveries. After that the remaining requests are
   * aborted and their jobs handed back to the queue without using up an attempt; whatever still has not let go
   * within {@link FORCE_CLOSE_MS} is abandoned, and BullMQ's stalled-job check gives it to another worker once
   * its lock expires. Never rejects.
   */
  close(graceMs: number): Promise<void>;
}

export { FORCE_CLOSE_MS };

/**
 * Thrown by the processor for a retryable outcome. It carries `Retry-After` to the backoff strategy, which
 * BullMQ calls with the thrown error — the only channel from the processor to the delay calculation.
 */
class RetryableDeliveryError extends Error {
  readonly retryAfterMs: number | undefined;
  /** The delay already drawn for the next attempt, so the time the log line announced is the one used. */
  readonly delayMs: number | undefined;

  constructor(message: string, retryAfterMs: number | undefined, delayMs?: number) {
    super(message);
    this.name = 'RetryableDeliveryError';
    this.retryAfterMs = retryAfterMs;
    this.delayMs = delayMs;
  }
}

/** The persisted part of a result: exactly the {@link AttemptRecord} fields, so job logs keep one shape. */
function toRecord(result: AttemptResult): AttemptRecord {
  const { retryAfterMs: _retryAfterMs, errorKind: _errorKind, answer: _answer, ...record } = result;
  return record;
}

function isDeliveryJobData(data: unknown): data is DeliveryJobData {
  if (typeof data !== 'object' || data === null) return false;
  const { eventId, body } = data as Partial<Record<keyof DeliveryJobData, unknown>>;
  return typeof eventId === 'string' && eventId.length > 0 && typeof body === 'string';
}

function failureSummary(result: AttemptResult): string {
  return result.error ?? result.errorCode ?? `HTTP ${result.status ?? '?'}`;
}

/**
 * Starts one BullMQ worker per configured target, each on its own queue and connection, so a slow or dead
 * target only ever occupies its own concurrency slots (docs/design.md §4). Retries use the custom backoff type
 * {@link BACKOFF_TYPE} that the producer sets on every job; failed jobs stay in BullMQ's failed set, which is the
 * dead-letter queue.
 */
export function startDeliveryWorkers(options: DeliveryWorkersOptions): DeliveryWorkers {
  const { config } = options;
  const log = options.logger.child({ component: 'delivery' });
  const deliverer = options.deliverer ?? new WebhookDeliverer();
  const random = options.random ?? Math.random;
  const source = options.redis ?? createRedisConnections(config.redis).worker;
  // One connection for every target's non-blocking commands; BullMQ gives each worker its own blocking duplicate.
  // (Auto-pipelining would batch completions into fewer writes, but its setImmediate deferral adds a loop turn to
  // every completion, which halved the drain rate at concurrency 8 when measured.)
  const connection =
    typeof source === 'function' ? source() : connectRedis({ kind: 'single', url: source.url }, 'worker');
  // One abort signal for every in-flight delivery, fired by a forced close. A processor that declared BullMQ's
  // per-job signal would make BullMQ build an AbortController for every job just for this.
  const shutdown = new AbortController();
  // Every in-flight delivery listens on it (the sum of the targets' concurrency), which is no leak.
  setMaxListeners(0, shutdown.signal);

  const findTarget = (id: string): TargetConfig | undefined => config.targets.find((t) => t.id === id);
  const summary = startDeliverySummary({
    logger: log,
    ...(options.summaryIntervalMs === undefined ? {} : { intervalMs: options.summaryIntervalMs }),
  });
  const handleReplies =
    options.replies &&
    createReplyHandler({
      routing: options.replies,
      appId: config.qq.appId,
      logger: options.logger,
      ...(options.onReply ? { onReply: options.onReply } : {}),
    });

  /**
   * Stores the replies in a delivered attempt's answer and records what became of them on the job. When Redis
   * fails meanwhile the delivery is retried like a failed attempt: the receiver sees the same `webhook-id` again,
   * answers the same replies, and their dedupe ids store each one once.
   */
  const storeReplies = async (
    job: Job<DeliveryJobData>,
    result: AttemptResult,
    targetId: string,
  ): Promise<void> => {
    const { answer } = result;
    if (!handleReplies || !answer) return;
    const { eventId } = job.data;
    const type = typeof job.data.type === 'string' ? job.data.type : '';
    let record: ReplyRecord | undefined;
    try {
      record = await handleReplies({ eventId, targetId, type, body: job.data.body, answer });
    } catch (err) {
      const reason = `delivered, but its replies could not be stored: ${describeError(err)}`;
      const last = result.attempt >= (job.opts.attempts ?? 1);
      const tally = summary.tally(targetId);
      if (last) tally.recordDeadLettered(result.latencyMs);
      else tally.recordRetried(result.latencyMs);
      log[last ? 'error' : 'warn'](
        { eventId, targetId, attempt: result.attempt, err: describeError(err) },
        last
          ? 'replies in the answer could not be stored (is Redis reachable?) and no attempt is left; dead-lettered'
          : 'replies in the answer could not be stored (is Redis reachable?); the delivery will be retried ' +
              'with the same webhook-id',
      );
      await job.log(JSON.stringify({ ...toRecord(result), error: reason })).catch(() => undefined);
      throw new RetryableDeliveryError(reason, undefined);
    }
    if (!record) return;
    try {
      await job.log(
        JSON.stringify({ attempt: result.attempt, at: new Date().toISOString(), replies: record }),
      );
    } catch (err) {
      log.warn({ eventId, targetId, err: describeError(err) }, 'could not record the replies of the answer');
    }
  };

  const report = (targetId: string, result: AttemptResult, exhausted: boolean): void => {
    if (!options.onResult) return;
    try {
      options.onResult(targetId, result, exhausted);
    } catch (err) {
      log.error({ targetId, err: describeError(err) }, 'onResult hook failed');
    }
  };

  const startWorker = (
    target: TargetConfig,
    queuePrefix = targetQueuePrefix(config.redis.prefix, target.id),
  ): Worker<DeliveryJobData, AttemptRecord> => {
    const targetId = target.id;
    const tally = summary.tally(targetId);
    const processor = async (job: Job<DeliveryJobData>, token?: string): Promise<AttemptRecord> => {
      const eventId = isDeliveryJobData(job.data) ? job.data.eventId : eventIdFromJobId(job.id ?? '');
      // Looked up per job rather than captured, so secrets live only in config and a target removed from the
      // config fails its leftover jobs clearly instead of delivering with stale settings.
      const current = findTarget(targetId);
      if (!current) {
        log.error({ eventId, targetId }, 'target no longer configured; dead-lettering');
        throw new UnrecoverableError(`target "${targetId}" is not in the configuration`);
      }
      if (!isDeliveryJobData(job.data)) {
        tally.recordDeadLettered();
        log.error({ eventId, targetId }, 'malformed delivery job; dead-lettering');
        throw new UnrecoverableError('malformed delivery job: eventId and body are required');
      }
      if (typeof job.data.undeliverable === 'string') {
        // The producer already decided (an oversize envelope); the target is never contacted.
        tally.recordDeadLettered();
        log.error({ eventId, targetId }, `event not deliverable; dead-lettered: ${job.data.undeliverable}`);
        throw new UnrecoverableError(job.data.undeliverable);
      }

      const attempt = job.attemptsMade + 1;
      const attempts = job.opts.attempts ?? 1;
      const result = await deliverer.deliver(current, {
        eventId,
        body: job.data.body,
        attempt,
        signal: shutdown.signal,
      });
      const aborted = result.errorCode === ABORTED_CODE && token !== undefined;
      const exhausted = result.outcome === 'retry' && !aborted && attempt >= attempts;
      report(targetId, result, exhausted);
      if (result.outcome === 'delivered') {
        // Guarded, so a delivery at the default level allocates nothing for a line nobody reads.
        if (log.isLevelEnabled('debug')) {
          log.debug(
            { eventId, targetId, attempt, status: result.status, latencyMs: result.latencyMs },
            'delivered',
          );
        }
        await storeReplies(job, result, targetId);
        tally.recordDelivered(result.latencyMs);
        // The successful attempt is the job's return value, stored by the same call that completes it: one
        // Redis round trip fewer per delivery than a log entry (failed attempts are logged for `dlq show`).
        return toRecord(result);
      }
      // Failed attempts only: the delivered path above builds no line.
      const line = (verdict: AttemptVerdict, nextRetryAt?: Date) =>
        attemptLogLine({
          eventId,
          target: current,
          result,
          attempts,
          verdict,
          ...(nextRetryAt ? { nextRetryAt } : {}),
        });
      try {
        await job.log(JSON.stringify(toRecord(result)));
      } catch (err) {
        // The record is for humans; it must not change what happens to the delivery.
        log.warn({ eventId, targetId, attempt, err: describeError(err) }, 'could not record the attempt');
      }

      if (aborted) {
        // Shutdown, not the target's fault: put the job back (due now) without consuming an attempt, so another
        // worker retries it and a SIGTERM can never be what exhausts a delivery.
        try {
          await job.moveToDelayed(Date.now(), token);
          const { fields, message } = line('aborted');
          log.warn(fields, message);
        } catch (err) {
          // Not rethrown: BullMQ would take it for a failed attempt and, whenever its own write then succeeds,
          // count the attempt against the job (dead-lettering it on its last). The job stays active instead; once
          // its lock expires the stalled-job check queues it again, with the attempts it had.
          const { fields, message } = line('aborted_unreturned');
          log.warn({ ...fields, err: describeError(err) }, message);
        }
        throw new DelayedError();
      }
      if (result.outcome === 'rejected') {
        tally.recordDeadLettered(result.latencyMs);
        const { fields, message } = line('rejected');
        log.error(fields, message);
        throw new UnrecoverableError(failureSummary(result));
      }
      if (exhausted) {
        tally.recordDeadLettered(result.latencyMs);
        const { fields, message } = line('exhausted');
        log.error(fields, message);
        throw new RetryableDeliveryError(failureSummary(result), result.retryAfterMs);
      }
      tally.recordRetried(result.latencyMs);
      // Drawn here rather than in the backoff strategy, so the line can say when the next attempt is due.
      const delayMs = retryDelayMs(attempt, current.retry, random, result.retryAfterMs);
      const { fields, message } = line('retry', new Date(Date.now() + delayMs));
      log.warn(
        { ...fields, ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }) },
        message,
      );
      throw new RetryableDeliveryError(failureSummary(result), result.retryAfterMs, delayMs);
    };

    const worker = new Worker<DeliveryJobData, AttemptRecord>(deliveryQueueName(targetId), processor, {
      connection,
      prefix: queuePrefix,
      concurrency: target.concurrency,
      // A worker killed mid-delivery stops renewing its lock; after stall_timeout another worker takes the job.
      // Several stalls are tolerated (each is a crash, not a bad target) before BullMQ fails the job.
      lockDuration: config.delivery.stallTimeoutMs,
      stalledInterval: Math.max(1_000, Math.round(config.delivery.stallTimeoutMs / 2)),
      maxStalledCount: 5,
      ...(target.rateLimit
        ? { limiter: { max: target.rateLimit.max, duration: target.rateLimit.perMs } }
        : {}),
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, err?: Error): number => {
          if (type !== BACKOFF_TYPE) {
            // Only the bridge's producer adds jobs here; an unknown type still gets a sane delay rather than
            // BullMQ's "unknown strategy" failure.
            log.warn({ targetId, type }, 'unknown backoff type; using the target retry settings');
          }
          if (err instanceof RetryableDeliveryError && err.delayMs !== undefined) return err.delayMs;
          const retryAfterMs = err instanceof RetryableDeliveryError ? err.retryAfterMs : undefined;
          return retryDelayMs(
            attemptsMade,
            findTarget(targetId)?.retry ?? target.retry,
            random,
            retryAfterMs,
          );
        },
      },
    });
    // A worker without an 'error' listener would crash the process on a Redis hiccup; BullMQ reconnects itself.
    worker.on('error', (err) => log.warn({ targetId, err: describeError(err) }, 'delivery worker error'));
    return worker;
  };

  const running: { close(): Promise<void> }[] = config.targets.map((target) => startWorker(target));
  // Jobs an earlier version left under the old key layout are delivered too (legacy-drain.ts).
  for (const target of config.targets) {
    running.push(
      startLegacyDrain({
        connection,
        queuePrefix: legacyQueuePrefix(config.redis.prefix),
        queueName: deliveryQueueName(target.id),
        startWorker: () => startWorker(target, legacyQueuePrefix(config.redis.prefix)),
        fields: { targetId: target.id },
        logger: options.logger,
        ...(options.legacyDrainIntervalMs === undefined ? {} : { intervalMs: options.legacyDrainIntervalMs }),
      }),
    );
  }
  log.info({ targets: config.targets.map((t) => t.id) }, 'delivery workers started');

  let closing: Promise<void> | undefined;
  const close = async (graceMs: number): Promise<void> => {
    const finished = await closeWorkers(running, graceMs, shutdown, log, {
      work: 'in-flight deliveries',
      workers: 'delivery workers',
    });
    if (finished) {
      await connection.quit().catch(() => connection.disconnect());
    } else {
      connection.disconnect();
    }
    // The agent's close waits for in-flight requests; after a forced stop one may still be hanging, so bound it.
    if (!options.deliverer) await within(deliverer.close(), FORCE_CLOSE_MS);
    summary.stop();
    log.info('delivery workers stopped');
  };

  return {
    close(graceMs: number): Promise<void> {
      closing ??= close(graceMs);
      return closing;
    },
  };
}
