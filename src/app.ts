import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { ListenAddress } from './config/listen.js';
import type { BridgeConfig } from './config/types.js';
import { startDeliveryWorkers } from './delivery/worker.js';
import { normalize } from './events/normalize.js';
import { RedisSessionStore } from './gateway/session-store.js';
import { ShardManager, type ShardManagerOptions } from './gateway/shard-manager.js';
import type { Logger } from './log.js';
import { AccessTokenManager } from './qq/access-token.js';
import { QqOpenApi } from './qq/openapi.js';
import { deliveryQueueName } from './queue/names.js';
import { DeliveryProducer } from './queue/producer.js';
import { createHttpServer } from './server/http.js';
import { createMetrics, type BridgeMetrics, type QueueDepth } from './server/metrics.js';
import type { HealthReport } from './server/readiness.js';

export type Role = 'all' | 'gateway' | 'worker';

export interface AppOptions {
  config: BridgeConfig;
  role: Role;
  logger: Logger;
  /** Called when a shard can never connect (close 4914/4915); the CLI exits non-zero. */
  onFatal?: (message: string) => void;
  /** Timing overrides for tests. */
  sessionOverrides?: ShardManagerOptions['sessionOverrides'];
  /** Skip the HTTP server (tests that run several apps in one process). */
  withoutHttp?: boolean;
}

export interface App {
  start(): Promise<void>;
  /** Stops in reverse order of start: gateway first (persisting sessions), then workers, then Redis. */
  stop(): Promise<void>;
  shards(): ReturnType<ShardManager['snapshot']>;
  health(): HealthReport;
  readonly metrics: BridgeMetrics;
  /** The HTTP server's bound address once started. */
  httpAddress(): ListenAddress | undefined;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Builds every part of the bridge for a role without starting anything (build is separate from listen). */
export function createApp(options: AppOptions): App {
  const { config, role, logger } = options;
  const metrics = createMetrics({ logger });
  const runsGateway = role === 'all' || role === 'gateway';
  const runsWorkers = role === 'all' || role === 'worker';
  const stops: (() => Promise<void>)[] = [];
  let shardManager: ShardManager | undefined;
  let started = false;

  // Fail fast: a command that cannot reach Redis must reject quickly, so the session resumes instead of hanging.
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));

  function health(): HealthReport {
    return {
      role,
      started,
      shards: (shardManager?.snapshot() ?? []).map(({ shard, status, seq }) => ({ shard, status, seq })),
      redis: redis.status === 'ready' ? 'up' : 'down',
      journal: { mode: 'direct', events: 0 },
    };
  }

  const http = options.withoutHttp
    ? undefined
    : createHttpServer({ config: config.server, metrics, health: () => Promise.resolve(health()), logger });

  function watchQueueDepths(): void {
    const queues = config.targets.map(
      (target) =>
        [
          target.id,
          new Queue(deliveryQueueName(target.id), { connection: redis, prefix: config.redis.prefix }),
        ] as const,
    );
    stops.push(async () => {
      await Promise.all(queues.map(([, queue]) => queue.close()));
    });
    metrics.setQueueDepthSource(async () => {
      const depths: QueueDepth[] = [];
      for (const [target, queue] of queues) {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        for (const state of QUEUE_STATES) depths.push({ target, state, count: counts[state] ?? 0 });
      }
      return depths;
    });
  }

  async function startGateway(): Promise<void> {
    const producer = new DeliveryProducer({
      connection: redis,
      prefix: config.redis.prefix,
      targets: config.targets,
      dedupeWindowMs: config.delivery.dedupeWindowMs,
    });
    stops.push(() => producer.close());
    const tokens = new AccessTokenManager({
      tokenUrl: config.qq.tokenUrl,
      appId: config.qq.appId,
      clientSecret: config.qq.clientSecret,
      logger: logger.child({ component: 'token' }),
    });
    stops.push(() => Promise.resolve(tokens.stop()));
    const api = new QqOpenApi({ apiBase: config.qq.apiBase, appId: config.qq.appId, tokens });
    const eventLog = logger.child({ component: 'events' });
    shardManager = new ShardManager({
      qq: config.qq,
      api,
      tokens,
      store: new RedisSessionStore(redis, config.redis.prefix, config.qq.appId),
      logger,
      maxFrameBytes: config.gateway.maxFrameBytes,
      ...(options.sessionOverrides ? { sessionOverrides: options.sessionOverrides } : {}),
      hooks: (shardId) => ({
        onStatus: (status) => metrics.shardStatus(shardId, status),
        onReconnect: (reason) => metrics.reconnect(shardId, reason),
        onRejectedFrame: (reason) => metrics.frameRejected(reason),
        onFatal: (code, meaning, hint) => options.onFatal?.(`gateway closed with ${code} (${meaning}): ${hint}`),
      }),
      onDispatch: async (frame, shard) => {
        const event = normalize(frame, { appId: config.qq.appId, shard, receivedAt: new Date() });
        metrics.eventReceived(event.envelope.type);
        const targets = await producer.enqueue(event, frame);
        for (const target of targets) metrics.eventEnqueued(target);
        eventLog.debug(
          { eventId: event.envelope.id, type: event.envelope.type, seq: frame.s, targets },
          'event enqueued',
        );
      },
    });
    const manager = shardManager;
    stops.push(() => manager.stop());
    await manager.start();
  }

  function startWorkers(): void {
    const workers = startDeliveryWorkers({
      config,
      redis: { url: config.redis.url },
      logger,
      onResult: (targetId, result) => {
        const target = config.targets.find((t) => t.id === targetId);
        const exhausted = result.outcome === 'retry' && target !== undefined && result.attempt >= target.retry.attempts;
        metrics.delivery(targetId, exhausted ? 'dead_lettered' : result.outcome, result.latencyMs / 1000);
      },
    });
    stops.push(() => workers.close(config.delivery.shutdownGraceMs));
  }

  return {
    metrics,
    async start() {
      await redis.connect();
      stops.push(async () => {
        await redis.quit().catch(() => redis.disconnect());
      });
      watchQueueDepths();
      if (http) {
        const address = await http.listen();
        stops.push(() => http.close());
        logger.info({ address }, 'health and metrics server listening');
      }
      if (runsWorkers) startWorkers();
      if (runsGateway) await startGateway();
      started = true;
      logger.info({ role, targets: config.targets.map((t) => t.id) }, 'bridge started');
    },
    async stop() {
      started = false;
      for (const stop of stops.reverse()) {
        try {
          await stop();
        } catch (err) {
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'error during shutdown');
        }
      }
      stops.length = 0;
    },
    shards: () => shardManager?.snapshot() ?? [],
    health,
    httpAddress: () => http?.address(),
  };
}
