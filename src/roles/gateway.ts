import type { RedisClient } from '../redis/client.js';
import type { BridgeConfig } from '../config/types.js';
import { DarkTimeMeter } from '../gateway/dark-time.js';
import { ShardManager, type ShardManagerOptions } from '../gateway/shard-manager.js';
import { startIngestPipeline } from '../ingest-pipeline.js';
import type { Logger } from '../log.js';
import { GatewayReadiness } from '../outbound/gateway-ready.js';
import { ReadinessWriter } from '../outbound/readiness-writer.js';
import { QqOpenApi } from '../qq/openapi.js';
import type { DurableSink } from '../queue/durable-sink.js';
import { Journal } from '../queue/journal.js';
import type { BridgeMetrics } from '../server/metrics.js';
import type { SharedAccessTokens } from './access-tokens.js';
import type { CallbackIngress } from './ingress.js';
import { stagedPart, type Part } from './supervisor.js';

export interface GatewayRoleOptions {
  config: BridgeConfig;
  redis: RedisClient;
  tokens: SharedAccessTokens;
  metrics: BridgeMetrics;
  logger: Logger;
  /** Present in `qq.mode: webhook`: the gateway feeds it instead of holding shards. */
  ingress: CallbackIngress | undefined;
  /** A shard can never connect (close 4914/4915), or another process took the journal's lock. */
  onFatal: ((message: string) => void) | undefined;
  sessionOverrides: ShardManagerOptions['sessionOverrides'] | undefined;
}

export interface GatewayRole {
  /** Opens the journal; started before anything waits for Redis. */
  readonly journal: Part;
  /** The ingest pipeline, then the callback route or the shards with their readiness and metrics. */
  readonly gateway: Part;
  shards(): ReturnType<ShardManager['snapshot']>;
  /** The durable sink once the gateway started. */
  sink(): DurableSink | undefined;
}

/** The gateway role: journal → ingest pipeline → shard manager (or the callback route), built, not started. */
export function buildGatewayRole(options: GatewayRoleOptions): GatewayRole {
  const { config, redis, metrics, logger, ingress } = options;
  let journal: Journal | undefined;
  let sink: DurableSink | undefined;
  let shardManager: ShardManager | undefined;

  /**
   * Opened first thing, before waiting for Redis or binding a port: a second process on the same journal directory
   * refuses to start at once, naming the holder. Closed after the pipeline stopped (parts stop in reverse), which
   * releases the directory's lock.
   */
  const journalPart = stagedPart('journal', logger, async (stops) => {
    const opened = await Journal.open({
      dir: config.journal.dir,
      maxBytes: config.journal.maxBytes,
      logger: logger.child({ component: 'journal' }),
      // Another process may be writing the same journal: stop rather than lose events between the two of them.
      onLockLost: (err) => options.onFatal?.(err.message),
    });
    stops.push(() => opened.close());
    journal = opened;
  });

  const gatewayPart = stagedPart('gateway', logger, async (stops, signal) => {
    if (!journal) throw new Error('the gateway starts after its journal');
    const pipeline = startIngestPipeline({ config, redis, journal, metrics, logger });
    sink = pipeline.sink;
    stops.push(() => pipeline.stop());
    if (ingress) {
      ingress.open((frame) => pipeline.accept([frame], [0, 1]));
      // Closed first on shutdown: callbacks then get 503 and QQ retries them against a running replica.
      stops.push(() => ingress.close());
      return;
    }
    const tokens = options.tokens.get();
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
  });

  return {
    journal: journalPart,
    gateway: gatewayPart,
    shards: () => shardManager?.snapshot() ?? [],
    sink: () => sink,
  };
}
