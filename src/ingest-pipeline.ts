import type { RedisClient } from './redis/client.js';
import type { BridgeConfig } from './config/types.js';
import type { DispatchFrame } from './events/envelope.js';
import type { Logger } from './log.js';
import { DurableSink, enqueueEntryWith } from './queue/durable-sink.js';
import type { Journal } from './queue/journal.js';
import { DeliveryProducer } from './queue/producer.js';
import { replicaWaitPolicy } from './queue/replica-wait.js';
import type { BridgeMetrics } from './server/metrics.js';

/** Where every ingress (WebSocket shards, HTTP callbacks) hands a dispatch: one normalizer, one queue. */
export interface IngestPipeline {
  /**
   * Resolves once the events are durable: enqueued in Redis and confirmed by `redis.min_replicas` replicas, or
   * fsynced to the local journal while Redis (or its replicas) is away.
   */
  accept(frames: readonly DispatchFrame[], shard: [number, number]): Promise<void>;
  sink: DurableSink;
  /** Stops the drain loop and closes the producer's queues; the journal stays open for its owner to close. */
  stop(): Promise<void>;
}

/**
 * Builds producer → durable sink (falling back to `journal`, opened and locked by the caller) and starts draining
 * whatever a previous run left in the journal.
 */
export function startIngestPipeline(options: {
  config: BridgeConfig;
  redis: RedisClient;
  journal: Journal;
  metrics: BridgeMetrics;
  logger: Logger;
}): IngestPipeline {
  const { config, redis, journal, metrics, logger } = options;
  const producer = new DeliveryProducer({
    connection: redis,
    prefix: config.redis.prefix,
    targets: config.targets,
    dedupeWindowMs: config.delivery.dedupeWindowMs,
    // an event counts as durable (its seq may advance) once enough replicas have it; too few, and it is journaled
    replicaWait: replicaWaitPolicy(config.redis),
    onFiltered: (target) => metrics.eventFiltered(target),
    logger: logger.child({ component: 'events' }),
  });
  const sink = new DurableSink({
    journal,
    enqueue: enqueueEntryWith(
      producer,
      config.qq.appId,
      logger.child({ component: 'events' }),
      (event, targets) => {
        metrics.eventReceived(event.envelope.type);
        for (const target of targets) metrics.eventEnqueued(target);
      },
    ),
    isRedisReady: () => redis.status === 'ready',
    logger: logger.child({ component: 'sink' }),
  });
  metrics.setJournalDepthSource(() => sink.depth());
  sink.start();
  return {
    sink,
    accept: (frames, shard) => {
      const receivedAt = new Date().toISOString();
      return sink.accept(frames.map((frame) => ({ frame, shard, receivedAt })));
    },
    async stop() {
      await sink.stop();
      await producer.close();
    },
  };
}
