/**
 * The worker side of a bot's outbound queue (docs/design.md §1): takes each stored message in turn, holds it while
 * the gateway is not READY (QQ answers such sends 200 and drops them, docs/qq-protocol.md §7.1), sends it once
 * per attempt, and completes it with QQ's answer or fails it with a reason `readOutboundStatus` reads back.
 */
import { setMaxListeners } from 'node:events';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { BridgeConfig } from '../config/types.js';
import { retryDelayMs } from '../delivery/backoff.js';
import { ABORTED_CODE } from '../delivery/classify.js';
import { closeWorkers, FORCE_CLOSE_MS } from '../delivery/close-workers.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { QqTokenSource } from '../qq/rest-client.js';
import type { OutboundJobData, OutboundSent } from './message.js';
import { outboundQueueName, OUTBOUND_BACKOFF_TYPE } from './send-queue.js';
import { startLegacyDrain } from '../queue/legacy-drain.js';
import { outboundQueuePrefix } from '../redis/keys.js';
import { legacyQueuePrefix } from '../redis/legacy-keys.js';
import { QQ_DUPLICATE_MSG_SEQ } from './send-verdict.js';
import { QqSender, type OutboundAttemptRecord, type SendAttempt } from './sender.js';
import { failureReason } from './status.js';

/** Whether the bot's gateway sessions are READY (GatewayReadiness); absent in webhook mode, which never holds. */
export interface ReadinessSource {
  isReady(): Promise<boolean>;
}

/**
 * What became of one run of an outbound job: `sent` (QQ answered with the message), `duplicate` (a repeated send
 * answered `40054005`: QQ already had it), `retry` (another attempt follows), `failed` (QQ refused it, or the last
 * attempt failed too), `expired` (its reply window closed; QQ was not called). All but `retry` are final.
 */
export type OutboundOutcome = 'sent' | 'duplicate' | 'retry' | 'failed' | 'expired';

/** What the result hook receives after each attempt and each expiry. */
export interface OutboundResult {
  readonly outcome: OutboundOutcome;
  /** True for every outcome but `retry`: the job is done, and a `bridge.message.sent|failed` is due. */
  readonly final: boolean;
  /** Attempts made so far, this one included (0 when it expired before any). */
  readonly attempts: number;
  /** The attempt's record; absent on `expired` and for a malformed job, where QQ was not called. */
  readonly attempt?: SendAttempt;
  /** The job's return value on `sent` / `duplicate`. */
  readonly sent?: OutboundSent;
  /** Why, on `failed` / `expired`: the code and message the job is failed with. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Options of {@link startOutboundWorker}. */
export interface OutboundWorkerOptions {
  readonly config: BridgeConfig;
  /**
   * A worker-grade ioredis client (`maxRetriesPerRequest: null`, as BullMQ requires), owned by the caller, who
   * closes it after `close()`; BullMQ duplicates it for its blocking reads.
   */
  readonly connection: RedisClient;
  /** The bot's AccessTokenManager. */
  readonly tokens: QqTokenSource;
  /** The gateway's readiness; give it in websocket mode, leave it out in webhook mode. */
  readonly readiness?: ReadinessSource;
  readonly logger: Logger;
  /**
   * Called after every attempt and expiry, for metrics and result envelopes, and awaited before the job moves on.
   * Its exceptions and rejections are logged and otherwise ignored: a broken hook never changes what happens to a
   * message.
   */
  readonly onResult?: (job: OutboundJobData, result: OutboundResult) => void | Promise<void>;
  /** Source of randomness for backoff jitter and hold spacing; injectable for tests. Default `Math.random`. */
  readonly random?: () => number;
  /** How often the queue of the old key layout is looked at; default 30 s (queue/legacy-drain.ts). */
  readonly legacyDrainIntervalMs?: number;
}

/** The error code of QQ's `40054005` (this `msg_id` + `msg_seq` was sent already). */
const DUPLICATE_CODE = `QQ_${QQ_DUPLICATE_MSG_SEQ}`;

/** A running outbound worker. */
export interface OutboundWorker {
  /**
   * Stops taking jobs and waits up to `graceMs` for sends in flight; then aborts them. An aborted send that had
   * left the process counts as an attempt (QQ may have it, and only a retry can tell); one still waiting for its
   * token goes back to the queue without using one. Whatever has not let go within {@link FORCE_CLOSE_MS} is left
   * to BullMQ's stalled-job check. Never rejects.
   */
  close(graceMs: number): Promise<void>;
}

export { FORCE_CLOSE_MS };

/** A held message is looked at again after HOLD_MIN_MS plus up to HOLD_SPREAD_MS, spread so they do not bunch. */
export const HOLD_MIN_MS = 250;
const HOLD_SPREAD_MS = 250;

/**
 * Thrown for a retryable attempt. Its message is already the `failureReason` form, because on the last attempt it
 * becomes the job's failed reason; it carries `Retry-After` to the backoff strategy, which BullMQ calls with it.
 */
class RetryableSendError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'RetryableSendError';
  }
}

/** The persisted part of an attempt: exactly the record's fields, so job logs keep one shape. */
function toRecord(attempt: SendAttempt): OutboundAttemptRecord {
  const { retryAfterMs: _retryAfterMs, dispatched: _dispatched, ...record } = attempt;
  return record;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only the bridge's producer adds jobs, but a foreign or corrupted one must fail clearly, not crash a send. */
function isOutboundJobData(data: unknown): data is OutboundJobData {
  if (!isObject(data) || typeof data['id'] !== 'string') return false;
  if (data['kind'] === 'message') {
    return (
      (data['scene'] === 'group' || data['scene'] === 'c2c') &&
      typeof data['openid'] === 'string' &&
      data['openid'] !== '' &&
      isObject(data['body'])
    );
  }
  return (
    data['kind'] === 'interaction' &&
    typeof data['interactionId'] === 'string' &&
    data['interactionId'] !== '' &&
    Number.isInteger(data['code'])
  );
}

/** The one-line reason of an attempt that did not send. */
function attemptSummary(attempt: SendAttempt): { code: string; message: string } {
  return {
    code: attempt.errorCode ?? 'BRIDGE_ERR_QQ_SEND',
    message: attempt.error ?? `HTTP ${attempt.status ?? '?'}`,
  };
}

/**
 * Starts the BullMQ worker of the bot's outbound queue (`outbound-<appId>`): `outbound.concurrency` sends at once
 * in this process, at most `outbound.rate_limit` across every worker of the bot (BullMQ's limiter lives in Redis),
 * retries with the outbound backoff ({@link OUTBOUND_BACKOFF_TYPE}) honouring QQ's `Retry-After`. The job lock
 * and stall settings are the delivery worker's (`delivery.stall_timeout`): a worker that dies mid-send gives its
 * jobs to another after that long, which sends them again as repeated sends.
 */
export function startOutboundWorker(options: OutboundWorkerOptions): OutboundWorker {
  const { config, connection } = options;
  const appId = config.qq.appId;
  const log = options.logger.child({ component: 'outbound', appId });
  const random = options.random ?? Math.random;
  const sender = new QqSender({
    apiBase: config.qq.apiBase,
    appId,
    tokens: options.tokens,
    timeoutMs: config.outbound.timeoutMs,
  });
  // One signal for every in-flight send, fired by a forced close (see the delivery worker for why not BullMQ's).
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);

  // Awaited before the job completes, so what the hook stores (the result envelope) is durable with the job.
  const report = async (data: OutboundJobData, result: OutboundResult): Promise<void> => {
    if (!options.onResult) return;
    try {
      await options.onResult(data, result);
    } catch (err) {
      log.error({ outboundId: data.id, err: describeError(err) }, 'outbound onResult hook failed');
    }
  };

  // One warning when messages start being held and one line when they are released, not one per look.
  let holding: { since: number; looks: number } | undefined;
  const gatewayReady = async (): Promise<boolean> => {
    if (!options.readiness) return true;
    let ready: boolean;
    let failure: string | undefined;
    try {
      ready = await options.readiness.isReady();
    } catch (err) {
      ready = false;
      failure = describeError(err);
    }
    if (ready) {
      if (holding) {
        log.info(
          { heldMs: Date.now() - holding.since, looks: holding.looks },
          'gateway READY again; sending the held outbound messages',
        );
        holding = undefined;
      }
      return true;
    }
    if (holding) {
      holding.looks += 1;
    } else {
      holding = { since: Date.now(), looks: 1 };
      log.warn(
        failure === undefined ? {} : { err: failure },
        failure === undefined
          ? 'gateway not READY (QQ drops sends made while the bot has no live session); holding outbound ' +
              'messages until every shard is READY — check the gateway role and its logs if this lasts'
          : 'cannot read the gateway readiness from Redis; holding outbound messages until it can be read',
      );
    }
    return false;
  };

  /** Reports a final failure and returns the error that fails the job without further attempts. */
  const finalFailure = async (
    data: OutboundJobData,
    result: Omit<OutboundResult, 'final' | 'error'> & { error: { code: string; message: string } },
  ): Promise<UnrecoverableError> => {
    await report(data, { ...result, final: true });
    return new UnrecoverableError(failureReason(result.error.code, result.error.message));
  };

  /** True when the job's log holds an attempt record from before this attempt (which has not logged yet). */
  const attemptedBefore = async (job: Job<OutboundJobData>): Promise<boolean> => {
    try {
      return (await connection.llen(`${job.queueQualifiedName}:${job.id}:logs`)) > 0;
    } catch {
      return false;
    }
  };

  const processor = async (job: Job<OutboundJobData>, token?: string): Promise<OutboundSent> => {
    const data = job.data;
    if (!isOutboundJobData(data)) {
      log.error({ jobId: job.id }, 'malformed outbound job; failing it without calling QQ');
      throw new UnrecoverableError(
        failureReason('BRIDGE_ERR_REPLY_REFUSED', 'malformed outbound job: not a message or interaction'),
      );
    }
    const fields = { outboundId: data.id, kind: data.kind, source: data.source };
    const attemptsMade = job.attemptsMade;
    if (data.kind === 'message' && data.deadline !== undefined && Date.now() > data.deadline) {
      const message = `the reply window closed at ${new Date(data.deadline).toISOString()}; QQ would refuse it`;
      log.warn({ ...fields, attemptsMade }, `outbound message expired; not sent: ${message}`);
      throw await finalFailure(data, {
        outcome: 'expired',
        attempts: attemptsMade,
        error: { code: 'BRIDGE_ERR_REPLY_EXPIRED', message },
      });
    }
    if (!(await gatewayReady())) {
      // Not an attempt: QQ was not called. moveToDelayed with the job's token keeps attemptsMade as it is.
      await job.moveToDelayed(Date.now() + HOLD_MIN_MS + Math.floor(random() * HOLD_SPREAD_MS), token);
      throw new DelayedError();
    }

    const attempt = attemptsMade + 1;
    // A job taken over after its worker died mid-send may be at QQ already although no attempt was counted.
    const repeated = attempt >= 2 || job.stalledCounter > 0;
    let result = await sender.send(data, { attempt, repeated, signal: shutdown.signal });
    if (!repeated && result.errorCode === DUPLICATE_CODE && (await attemptedBefore(job))) {
      // A replayed dead letter counts its attempts from 1 again, but its log keeps the earlier rounds, one of which
      // reached QQ: the message is there already. Checked only on this answer, so no send pays a read for it.
      result = { ...result, outcome: 'sent', duplicate: true };
    }
    try {
      await job.log(JSON.stringify(toRecord(result)));
    } catch (err) {
      // The record is for people; it must not change what happens to the message.
      log.warn({ ...fields, attempt, err: describeError(err) }, 'could not record the outbound attempt');
    }
    const logged = { ...fields, attempt, status: result.status, errorCode: result.errorCode };

    if (result.outcome === 'sent') {
      const sent: OutboundSent = {
        attempt,
        ...(result.qqId === undefined ? {} : { qqId: result.qqId }),
        ...(result.timestamp === undefined ? {} : { timestamp: result.timestamp }),
        ...(result.duplicate === true ? { duplicate: true } : {}),
      };
      const outcome = result.duplicate === true ? 'duplicate' : 'sent';
      log.debug({ ...logged, qqId: result.qqId, latencyMs: result.latencyMs }, `outbound ${outcome}`);
      await report(data, { outcome, final: true, attempts: attempt, attempt: result, sent });
      return sent;
    }
    if (result.errorCode === ABORTED_CODE && !result.dispatched && token !== undefined) {
      // Shut down before the request left: QQ cannot have it, so hand it back without using an attempt.
      log.warn(logged, 'outbound send stopped by shutdown before it left; returned to the queue');
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    const error = attemptSummary(result);
    if (result.outcome === 'failed') {
      log.error({ ...logged, traceId: result.traceId }, `outbound message refused; failed: ${error.message}`);
      throw await finalFailure(data, { outcome: 'failed', attempts: attempt, attempt: result, error });
    }
    if (attempt >= (job.opts.attempts ?? 1)) {
      log.error(
        { ...logged, traceId: result.traceId },
        `outbound message failed after ${attempt} attempts: ${error.message}`,
      );
      await report(data, { outcome: 'failed', final: true, attempts: attempt, attempt: result, error });
    } else {
      log.warn(
        { ...logged, retryAfterMs: result.retryAfterMs },
        `outbound send failed; will retry: ${error.message}`,
      );
      await report(data, { outcome: 'retry', final: false, attempts: attempt, attempt: result });
    }
    throw new RetryableSendError(failureReason(error.code, error.message), result.retryAfterMs);
  };

  const startWorker = (queuePrefix: string): Worker<OutboundJobData, OutboundSent> => {
    const worker = new Worker<OutboundJobData, OutboundSent>(outboundQueueName(appId), processor, {
      connection,
      prefix: queuePrefix,
      concurrency: config.outbound.concurrency,
      limiter: { max: config.outbound.rateLimit.max, duration: config.outbound.rateLimit.perMs },
      lockDuration: config.delivery.stallTimeoutMs,
      stalledInterval: Math.max(1_000, Math.round(config.delivery.stallTimeoutMs / 2)),
      maxStalledCount: 5,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, err?: Error): number => {
          if (type !== OUTBOUND_BACKOFF_TYPE) {
            log.warn({ type }, 'unknown backoff type on an outbound job; using the outbound retry settings');
          }
          const retryAfterMs = err instanceof RetryableSendError ? err.retryAfterMs : undefined;
          return retryDelayMs(attemptsMade, config.outbound.retry, random, retryAfterMs);
        },
      },
    });
    // Without an 'error' listener a Redis hiccup would crash the process; BullMQ reconnects by itself.
    worker.on('error', (err) => log.warn({ err: describeError(err) }, 'outbound worker error'));
    return worker;
  };
  const worker = startWorker(outboundQueuePrefix(config.redis.prefix, appId));
  // Messages an earlier version left under the old key layout are sent too (queue/legacy-drain.ts).
  const legacy = startLegacyDrain({
    connection,
    queuePrefix: legacyQueuePrefix(config.redis.prefix),
    queueName: outboundQueueName(appId),
    startWorker: () => startWorker(legacyQueuePrefix(config.redis.prefix)),
    fields: { queue: outboundQueueName(appId) },
    logger: options.logger,
    ...(options.legacyDrainIntervalMs === undefined ? {} : { intervalMs: options.legacyDrainIntervalMs }),
  });
  log.info(
    { queue: outboundQueueName(appId), concurrency: config.outbound.concurrency, holds: !!options.readiness },
    'outbound worker started',
  );

  let closing: Promise<void> | undefined;
  const close = async (graceMs: number): Promise<void> => {
    await closeWorkers([worker, legacy], graceMs, shutdown, log, {
      work: 'outbound sends',
      workers: 'the outbound worker',
    });
    log.info('outbound worker stopped');
  };
  return {
    close(graceMs: number): Promise<void> {
      closing ??= close(graceMs);
      return closing;
    },
  };
}
