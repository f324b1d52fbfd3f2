import { Redis } from 'ioredis';
import type { BridgeConfig } from './config/types.js';
import { startDeliveryWorkers } from './delivery/worker.js';
import { normalize } from './events/normalize.js';
import { RedisSessionStore } from './gateway/session-store.js';
import { ShardManager, type ShardManagerOptions } from './gateway/shard-manager.js';
import type { Logger } from './log.js';
import { AccessTokenManager } from './qq/access-token.js';
import { QqOpenApi } from './qq/openapi.js';
import { DeliveryProducer } from './queue/producer.js';

export type Role = 'all' | 'gateway' | 'worker';

export interface AppOptions {
  config: BridgeConfig;
  role: Role;
  logger: Logger;
  /** Called when a shard can never connect (close 4914/4915); the CLI exits non-zero. */
  onFatal?: (message: string) => void;
  /** Timing overrides for tests. */
  sessionOverrides?: ShardManagerOptions['sessionOverrides'];
}

export interface App {
  start(): Promise<void>;
  /** Stops in reverse order of start: gateway first (persisting sessions), then workers, then Redis. */
  stop(): Promise<void>;
  shards(): ReturnType<ShardManager['snapshot']>;
}

/** Builds every part of the bridge for a role without starting anything (build is separate from listen). */
export function createApp(options: AppOptions): App {
  const { config, role, logger } = options;
  const stops: (() => Promise<void>)[] = [];
  let shardManager: ShardManager | undefined;

  async function startGateway(): Promise<void> {
    // Fail fast: a command that cannot reach Redis must reject quickly, so the session resumes instead of hanging.
    const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, lazyConnect: true });
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
    await redis.connect();
    stops.push(async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
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
      hooks: () => ({
        onFatal: (code, meaning, hint) =>
          options.onFatal?.(`gateway closed with ${code} (${meaning}): ${hint}`),
      }),
      onDispatch: async (frame, shard) => {
        const event = normalize(frame, { appId: config.qq.appId, shard, receivedAt: new Date() });
        const targets = await producer.enqueue(event, frame);
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

  async function startWorkers(): Promise<void> {
    const workers = startDeliveryWorkers({ config, redis: { url: config.redis.url }, logger });
    stops.push(() => workers.close(config.delivery.shutdownGraceMs));
    await Promise.resolve();
  }

  return {
    async start() {
      if (role === 'all' || role === 'worker') await startWorkers();
      if (role === 'all' || role === 'gateway') await startGateway();
      logger.info({ role, targets: config.targets.map((t) => t.id) }, 'bridge started');
    },
    async stop() {
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
  };
}
