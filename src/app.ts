import { Redis } from 'ioredis';
import type { ListenAddress } from './config/listen.js';
import type { BridgeConfig } from './config/types.js';
import type { ReplyRouting } from './delivery/replies.js';
import { startDeliveryWorkers } from './delivery/worker.js';
import type { DispatchFrame } from './events/envelope.js';
import { BridgeError, describeError } from './errors.js';
import { startIngestPipeline } from './ingest-pipeline.js';
import { createWebhookIngress } from './ingress/webhook-ingress.js';
import { DarkTimeMeter } from './gateway/dark-time.js';
import { ShardManager, type ShardManagerOptions } from './gateway/shard-manager.js';
import type { Logger } from './log.js';
import { GatewayReadiness } from './outbound/gateway-ready.js';
import { ReadinessWriter } from './outbound/readiness-writer.js';
import { reportOutboundResult } from './outbound/result-envelope.js';
import { OutboundQueue, openOutboundQueue } from './outbound/send-queue.js';
import { replicaWaitPolicy } from './queue/replica-wait.js';
import { startOutboundWorker } from './outbound/worker.js';
import { AccessTokenManager } from './qq/access-token.js';
import { QqRestClient } from './qq/rest-client.js';
import { QqOpenApi } from './qq/openapi.js';
import { startDeadLetterSweeper } from './queue/dead-letter-retention.js';
import type { DurableSink } from './queue/durable-sink.js';
import { Journal } from './queue/journal.js';
import { deliveryQueue } from './queue/delivery-queue.js';
import { DeliveryProducer } from './queue/producer.js';
import type { DashboardRoutes } from './server/dashboard.js';
import { createSendApi } from './server/api/send-api.js';
import { createHttpServer, type AdminRoutes } from './server/http.js';
import { createMetrics, type BridgeMetrics, type QueueDepth } from './server/metrics.js';
import type { HealthReport } from './server/readiness.js';
import { sleep, untilAborted } from './util/abortable.js';

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
  /**
   * Connects Redis (waiting while it is away), then starts the HTTP server, the workers and the gateway. When
   * `signal` aborts before that is done (a shutdown signal during a start that waits for Redis or for QQ), rejects
   * with BRIDGE_ERR_ABORTED saying what it was waiting for; stop() then releases whatever had started.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops in reverse order of start: gateway first (persisting sessions), then workers, then Redis. */
  stop(): Promise<void>;
  shards(): ReturnType<ShardManager['snapshot']>;
  health(): HealthReport;
  readonly metrics: BridgeMetrics;
  /** The HTTP server's bound address once started. */
  httpAddress(): ListenAddress | undefined;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** The most of a QQ answer the send API relays (member lists can be long); larger answers are a 502. */
const PASS_THROUGH_ANSWER_BYTES = 1024 * 1024;

/** Builds every part of the bridge for a role without starting anything (build is separate from listen). */
export function createApp(options: AppOptions): App {
  const { config, role, logger } = options;
  const metrics = createMetrics({ logger });
  const runsGateway = role === 'all' || role === 'gateway';
  const runsWorkers = role === 'all' || role === 'worker';
  const stops: (() => Promise<void>)[] = [];
  let shardManager: ShardManager | undefined;
  let sink: DurableSink | undefined;
  let started = false;
  const webhookMode = config.qq.mode === 'webhook';
  /** Set while the gateway role runs in webhook mode; the callback route answers 503 without it. */
  let ingest: ((frame: DispatchFrame) => Promise<void>) | undefined;

  // Fail fast while Redis is away (no offline queue, one retry), so an event goes to the journal within
  // milliseconds instead of waiting on a queued command; reconnect forever in the background.
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let lastRedisError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct error, not one per reconnect attempt.
    if (err.message !== lastRedisError) logger.warn({ err: err.message }, 'redis connection error');
    lastRedisError = err.message;
  });
  redis.on('ready', () => {
    if (lastRedisError !== '') logger.info('redis connection restored');
    lastRedisError = '';
  });

  /** One access token per process, shared by the gateway and the outbound worker; fetched on first use. */
  let tokens: AccessTokenManager | undefined;
  function accessTokens(): AccessTokenManager {
    if (tokens) return tokens;
    const created = new AccessTokenManager({
      tokenUrl: config.qq.tokenUrl,
      appId: config.qq.appId,
      clientSecret: config.qq.clientSecret,
      logger: logger.child({ component: 'token' }),
    });
    stops.push(() => Promise.resolve(created.stop()));
    tokens = created;
    return created;
  }

  function health(): HealthReport {
    return {
      role,
      started,
      shards: (shardManager?.snapshot() ?? []).map(({ shard, status, seq, saveFailing }) => ({
        shard,
        status,
        seq,
        saveFailing,
      })),
      redis: redis.status === 'ready' ? 'up' : 'down',
      journal: { mode: sink?.mode() ?? 'direct', events: sink?.depth() ?? 0 },
    };
  }

  const routes =
    runsGateway && webhookMode
      ? new Map([
          [
            config.qq.webhook.path,
            createWebhookIngress({
              config: config.qq,
              logger,
              metrics,
              accept: (frame) =>
                ingest ? ingest(frame) : Promise.reject(new Error('the bridge is not running')),
            }),
          ],
        ])
      : undefined;
  // Express and Bull Board cost tens of MB of memory: loaded on the first admin request, never without a token.
  let dashboard: DashboardRoutes | undefined;
  const adminRoutes: AdminRoutes = async (req, res) => {
    dashboard ??= (await import('./server/dashboard.js')).createDashboard({
      targets: config.targets,
      appId: config.qq.appId,
      prefix: config.redis.prefix,
      connection: redis,
    });
    return dashboard(req, res);
  };
  // No API tokens: no send API, and `/v1` answers 404 like any unknown path.
  const sendApi =
    options.withoutHttp || config.server.apiTokens.length === 0
      ? undefined
      : createSendApi({
          tokens: config.server.apiTokens,
          redis,
          prefix: config.redis.prefix,
          appId: config.qq.appId,
          attempts: config.outbound.retry.attempts,
          replicaWait: replicaWaitPolicy(config.redis),
          qq: new QqRestClient({
            apiBase: config.qq.apiBase,
            appId: config.qq.appId,
            tokens: accessTokens(),
            timeoutMs: config.outbound.timeoutMs,
            maxAnswerBytes: PASS_THROUGH_ANSWER_BYTES,
          }),
          metrics,
          logger,
        });
  const http = options.withoutHttp
    ? undefined
    : createHttpServer({
        config: config.server,
        metrics,
        health: () => Promise.resolve(health()),
        logger,
        adminRoutes,
        ...(routes ? { routes } : {}),
        ...(sendApi ? { api: (req, res) => sendApi.handle(req, res) } : {}),
      });

  function watchQueueDepths(): void {
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
  }

  /**
   * Opens the gateway's journal first thing, before waiting for Redis or binding a port: a second process on the
   * same journal directory refuses to start at once, naming the holder. Closed after the pipeline stopped (stops
   * run in reverse), which releases the directory's lock.
   */
  async function openJournal(): Promise<Journal> {
    const opened = await Journal.open({
      dir: config.journal.dir,
      maxBytes: config.journal.maxBytes,
      logger: logger.child({ component: 'journal' }),
      // Another process may be writing the same journal: stop rather than lose events between the two of them.
      onLockLost: (err) => options.onFatal?.(err.message),
    });
    stops.push(() => opened.close());
    return opened;
  }

  async function startGateway(journal: Journal, signal: AbortSignal | undefined): Promise<void> {
    const pipeline = startIngestPipeline({ config, redis, journal, metrics, logger });
    sink = pipeline.sink;
    stops.push(() => pipeline.stop());
    if (webhookMode) {
      ingest = (frame) => pipeline.accept([frame], [0, 1]);
      // Cleared first on shutdown: callbacks then get 503 and QQ retries them against a running replica.
      stops.push(() => {
        ingest = undefined;
        return Promise.resolve();
      });
      logger.info({ path: config.qq.webhook.path }, 'webhook mode: receiving QQ callbacks over HTTP');
      return;
    }
    const tokens = accessTokens();
    // Outbound workers anywhere send only while every shard is READY; stopped after the sessions (stops run
    // in reverse), whose own `stopped` status has then already marked them not ready.
    const readinessWriter = new ReadinessWriter({
      readiness: new GatewayReadiness(redis, config.redis.prefix, config.qq.appId),
      leaseTtlMs: config.gateway.leaseTtlMs,
      logger,
    });
    stops.push(() => readinessWriter.stop());
    const manager = new ShardManager({
      qq: config.qq,
      api: new QqOpenApi({ apiBase: config.qq.apiBase, appId: config.qq.appId, tokens }),
      tokens,
      // Every gateway holds its shards through Redis leases, so replicas can run side by side and take over
      // from each other; resume state is fenced by the lease.
      leases: {
        redis,
        prefix: config.redis.prefix,
        appId: config.qq.appId,
        ttlMs: config.gateway.leaseTtlMs,
        replicaId: config.gateway.replicaId,
      },
      logger,
      maxFrameBytes: config.gateway.maxFrameBytes,
      rotateEveryMs: config.gateway.rotateEveryMs,
      ...(options.sessionOverrides ? { sessionOverrides: options.sessionOverrides } : {}),
      hooks: (shardId, shardCount) => {
        // one per session: a takeover's dark time counts from its start, as `start`
        const dark = new DarkTimeMeter((reason, seconds) => metrics.gatewayDark(shardId, reason, seconds));
        return {
          onStatus: (status) => {
            metrics.shardStatus(shardId, status);
            readinessWriter.onStatus([shardId, shardCount], status);
            dark.status(status);
          },
          onReconnect: (reason) => {
            metrics.reconnect(shardId, reason);
            dark.reconnect(reason);
          },
          onRotation: (reason, result) => metrics.rotation(shardId, reason, result),
          onRejectedFrame: (reason) => metrics.frameRejected(reason),
          onSaveFailure: () => metrics.sessionSaveFailed(shardId),
          onFatal: (code, meaning, hint) =>
            options.onFatal?.(`gateway closed with ${code} (${meaning}): ${hint}`),
        };
      },
      onDispatch: (frames, shard) => pipeline.accept(frames, shard),
    });
    shardManager = manager;
    metrics.setSessionAgeSource(() =>
      manager
        .snapshot()
        .flatMap(({ shard, sessionStartedAt }) =>
          sessionStartedAt === undefined ? [] : [{ shard: shard[0], startedAt: sessionStartedAt }],
        ),
    );
    stops.push(() => manager.stop());
    await manager.start(signal);
  }

  /**
   * The outbound queue replies are stored in and the producer that delivers `bridge.message.*` results. On the
   * app's fail-fast connection, so a reply stored while Redis is away fails at once and its delivery is retried;
   * registered before the workers, so they close after them. One per process, shared by the delivery workers
   * (replies) and the outbound worker (result envelopes).
   */
  let routing: ReplyRouting | undefined;
  function outboundRouting(): ReplyRouting {
    if (routing) return routing;
    const outbound = new OutboundQueue({
      connection: redis,
      prefix: config.redis.prefix,
      appId: config.qq.appId,
      attempts: config.outbound.retry.attempts,
      replicaWait: replicaWaitPolicy(config.redis),
    });
    const results = new DeliveryProducer({
      connection: redis,
      prefix: config.redis.prefix,
      targets: config.targets,
      dedupeWindowMs: config.delivery.dedupeWindowMs,
      replicaWait: replicaWaitPolicy(config.redis),
    });
    stops.push(async () => {
      await Promise.all([outbound.close(), results.close()]);
    });
    routing = { outbound, results };
    return routing;
  }

  function startWorkers(): void {
    const workers = startDeliveryWorkers({
      config,
      redis: { url: config.redis.url },
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
  }

  /** Always runs with the workers: replies and the send API may enqueue outbound messages at any time. */
  function startOutbound(): void {
    const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
    stops.push(async () => {
      await connection.quit().catch(() => connection.disconnect());
    });
    const outbound = startOutboundWorker({
      config,
      connection,
      tokens: accessTokens(),
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
    stops.push(() => outbound.close(config.delivery.shutdownGraceMs));
  }

  return {
    metrics,
    async start(signal) {
      // Registered before connecting: a start interrupted while Redis is away must still end the reconnect loop.
      stops.push(async () => {
        if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
        else redis.disconnect();
      });
      const journal = runsGateway ? await openJournal() : undefined;
      await connectRedis(redis, logger, signal);
      watchQueueDepths();
      stops.push(async () => {
        await dashboard?.close();
      });
      if (http) {
        const address = await http.listen();
        stops.push(() => http.close());
        // Before the server closes: requests waiting for a send answer at once instead of holding the close.
        if (sendApi) stops.push(() => sendApi.close());
        logger.info({ address }, 'health and metrics server listening');
      }
      if (runsWorkers) startWorkers();
      if (runsWorkers) startOutbound();
      if (journal) await startGateway(journal, signal);
      // The gateway returns early, without error, once aborted: the start as a whole did not happen.
      if (signal?.aborted) {
        throw new BridgeError('BRIDGE_ERR_ABORTED', 'start interrupted while starting the gateway');
      }
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

/**
 * Waits until Redis answers, logging while it does not: nothing the bridge does is safe without it at start. Rejects
 * with BRIDGE_ERR_ABORTED once `signal` aborts, without waiting for the attempt under way.
 */
async function connectRedis(redis: Redis, logger: Logger, signal: AbortSignal | undefined): Promise<void> {
  const what = 'waiting for Redis';
  let lastError: unknown;
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      await untilAborted<unknown>(redis.status === 'wait' ? redis.connect() : redis.ping(), signal, what);
      return;
    } catch (err) {
      if (signal?.aborted) break;
      lastError = err;
      if (attempt === 1 || attempt % 10 === 0) {
        logger.warn({ err: describeError(err), attempt }, 'waiting for Redis');
      }
      await sleep(500, signal);
    }
  }
  logger.warn(
    lastError === undefined ? {} : { err: describeError(lastError) },
    'start interrupted while waiting for Redis: shutting down without having connected',
  );
  throw new BridgeError('BRIDGE_ERR_ABORTED', `start interrupted while ${what}`);
}
