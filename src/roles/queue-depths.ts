import type { RedisClient } from '../redis/client.js';
import type { BridgeConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { openOutboundQueue } from '../outbound/send-queue.js';
import { deliveryQueue } from '../queue/delivery-queue.js';
import type { BridgeMetrics, QueueDepth } from '../server/metrics.js';
import { stagedPart, type Part } from './supervisor.js';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** The queue depth gauges of `/metrics`, read from every target's queue and the bot's outbound queue, in every role. */
export function queueDepthsPart(options: {
  config: BridgeConfig;
  redis: RedisClient;
  metrics: BridgeMetrics;
  logger: Logger;
}): Part {
  const { config, redis, metrics, logger } = options;
  return stagedPart('queue-depths', logger, (stops) => {
    const queues = config.targets.map(
      (target) => [target.id, deliveryQueue(target.id, config.redis.prefix, redis)] as const,
    );
    stops.push(async () => {
      await Promise.all(queues.map(([, queue]) => queue.close()));
    });
    const outbound = openOutboundQueue(config.qq.appId, config.redis.prefix, redis);
    stops.push(() => outbound.close());
    metrics.setOutboundDepthSource(async () => {
      const counts = await outbound.getJobCounts(...QUEUE_STATES);
      return QUEUE_STATES.map((state) => ({ state, count: counts[state] ?? 0 }));
    });
    metrics.setQueueDepthSource(async () => {
      const depths: QueueDepth[] = [];
      for (const [target, queue] of queues) {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) depths.push({ target, state, count: counts[state] ?? 0 });
      }
      return depths;
    });
  });
}
