import type { RedisClient } from '../redis/client.js';
import type { BridgeConfig } from '../config/types.js';
import type { ReplyRouting } from '../delivery/replies.js';
import { startDeliveryWorkers } from '../delivery/worker.js';
import type { Logger } from '../log.js';
import { GatewayReadiness } from '../outbound/gateway-ready.js';
import { reportOutboundResult } from '../outbound/result-envelope.js';
import { OutboundQueue } from '../outbound/send-queue.js';
import { startOutboundWorker } from '../outbound/worker.js';
import { startDeadLetterSweeper } from '../queue/dead-letter-retention.js';
import { DeliveryProducer } from '../queue/producer.js';
import { replicaWaitPolicy } from '../queue/replica-wait.js';
import type { BridgeMetrics } from '../server/metrics.js';
import type { SharedAccessTokens } from './access-tokens.js';
import { openWorkerRedis } from './connections.js';
import { stagedPart, type Part } from './supervisor.js';

export interface WorkerRoleOptions {
  config: BridgeConfig;
  redis: RedisClient;
  tokens: SharedAccessTokens;
  metrics: BridgeMetrics;
  logger: Logger;
}

/**
 * The worker role, built, not started: `outbound-routing` (closed last), `delivery` (a BullMQ worker per target,
 * replies, the dead-letter sweeper), then `outbound` (the outbound worker, which always runs with them: replies and
 * the send API may enqueue outbound messages at any time). Stopped in reverse, the workers each within
 * `delivery.shutdown_grace`.
 */
export function buildWorkerRole(options: WorkerRoleOptions): readonly Part[] {
  const { config, redis, metrics, logger } = options;
  const webhookMode = config.qq.mode === 'webhook';

  /**
   * The outbound queue replies are stored in and the producer that delivers `bridge.message.*` results. On the
   * app's fail-fast connection, so a reply stored while Redis is away fails at once and its delivery is retried;
   * closed after both workers. One per process, shared by the delivery workers (replies) and the outbound worker
   * (result envelopes); created on first use.
   */
  let routing: { outbound: OutboundQueue; results: DeliveryProducer } | undefined;
  function outboundRouting(): ReplyRouting & { results: DeliveryProducer } {
    routing ??= {
      outbound: new OutboundQueue({
        connection: redis,
        prefix: config.redis.prefix,
        appId: config.qq.appId,
        attempts: config.outbound.retry.attempts,
        replicaWait: replicaWaitPolicy(config.redis),
      }),
      results: new DeliveryProducer({
        connection: redis,
        prefix: config.redis.prefix,
        targets: config.targets,
        dedupeWindowMs: config.delivery.dedupeWindowMs,
        replicaWait: replicaWaitPolicy(config.redis),
        onFiltered: (target) => metrics.eventFiltered(target),
      }),
    };
    return routing;
  }
  const routingPart: Part = {
    name: 'outbound-routing',
    async stop() {
      if (routing) await Promise.all([routing.outbound.close(), routing.results.close()]);
    },
  };

  const delivery = stagedPart('delivery', logger, (stops) => {
    const workers = startDeliveryWorkers({
      config,
      logger,
      onResult: (targetId, result, exhausted) => {
        metrics.delivery(targetId, exhausted ? 'dead_lettered' : result.outcome, result.latencyMs / 1000);
      },
      replies: outboundRouting(),
      onReply: (targetId, outcome) => metrics.reply(targetId, outcome),
    });
    stops.push(() => workers.close(config.delivery.shutdownGraceMs));
    const retention = startDeadLetterSweeper({
      config,
      connection: redis,
      logger,
      onTrimmed: (targetId, reason, count) => metrics.deadLettersTrimmed(targetId, reason, count),
      onOutboundTrimmed: (reason, count) => metrics.outboundDeadLettersTrimmed(reason, count),
    });
    stops.push(() => retention.stop());
  });

  const outbound = stagedPart('outbound', logger, (stops) => {
    const connection = openWorkerRedis(config);
    stops.push(async () => {
      await connection.quit().catch(() => connection.disconnect());
    });
    const worker = startOutboundWorker({
      config,
      connection,
      tokens: options.tokens.get(),
      // Webhook mode has no gateway session for QQ to drop sends over: nothing to wait for.
      ...(webhookMode
        ? {}
        : { readiness: new GatewayReadiness(redis, config.redis.prefix, config.qq.appId) }),
      logger,
      onResult: async (job, result) => {
        metrics.outbound(result.outcome, result.attempt ? result.attempt.latencyMs / 1000 : undefined);
        if (!result.final) return;
        // Stored before the job completes; a failure to store it is logged by the worker and costs no resend.
        await reportOutboundResult(outboundRouting().results, job, result, { appId: config.qq.appId });
      },
    });
    stops.push(() => worker.close(config.delivery.shutdownGraceMs));
  });

  return [routingPart, delivery, outbound];
}
