import type { ListenAddress } from './config/listen.js';
import type { BridgeConfig } from './config/types.js';
import { BridgeError } from './errors.js';
import type { ShardManager, ShardManagerOptions } from './gateway/shard-manager.js';
import type { Logger } from './log.js';
import { sharedAccessTokens } from './roles/access-tokens.js';
import { appRedisPart, openAppRedis, redisReadyPart } from './roles/connections.js';
import { buildGatewayRole } from './roles/gateway.js';
import { buildCallbackIngress } from './roles/ingress.js';
import { queueDepthsPart } from './roles/queue-depths.js';
import { runsGateway, runsWorkers, type Role } from './roles/role.js';
import { buildServer } from './roles/server.js';
import { Supervisor, type Part } from './roles/supervisor.js';
import { buildWorkerRole } from './roles/worker.js';
import { createMetrics, type BridgeMetrics } from './server/metrics.js';
import type { LoginCodes } from './server/login-codes.js';
import type { HealthReport } from './server/readiness.js';

export type { Role } from './roles/role.js';

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
  /** Single-use admin login codes the HTTP server accepts (`GET /admin/login?code=…`): the demo's login link. */
  adminLoginCodes?: LoginCodes;
}

export interface App {
  /**
   * Opens the journal and the HTTP server, connects Redis (waiting while it is away), then starts the workers and
   * the gateway. When
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

/**
 * The composition root: config → shared resources (Redis, the access token, metrics) → the role's parts
 * (src/roles/) → their start order. Builds everything without starting anything (build is separate from listen).
 */
export function createApp(options: AppOptions): App {
  const { config, role, logger } = options;
  const metrics = createMetrics({ logger });
  const appRedis = openAppRedis(config, logger);
  const { redis, link } = appRedis;
  const tokens = sharedAccessTokens(config, logger);
  const shared = { config, redis, tokens, metrics, logger };
  let started = false;

  const ingress =
    runsGateway(role) && config.qq.mode === 'webhook'
      ? buildCallbackIngress({ config, logger, metrics })
      : undefined;
  const gateway = runsGateway(role)
    ? buildGatewayRole({
        ...shared,
        ingress,
        onFatal: options.onFatal,
        sessionOverrides: options.sessionOverrides,
      })
    : undefined;
  const workers = runsWorkers(role) ? buildWorkerRole(shared) : [];
  const server = options.withoutHttp
    ? undefined
    : buildServer({
        ...shared,
        redisAddress: link.address,
        health,
        routes: ingress?.routes,
        ...(options.adminLoginCodes ? { loginCodes: options.adminLoginCodes } : {}),
      });

  function health(): HealthReport {
    const sink = gateway?.sink();
    const redisProblem = link.problem();
    return {
      role,
      started,
      shards: (gateway?.shards() ?? []).map(({ shard, status, seq, saveFailing }) => ({
        shard,
        status,
        seq,
        saveFailing,
      })),
      redis: redis.status === 'ready' ? 'up' : 'down',
      ...(redisProblem ? { redisProblem } : {}),
      journal: { mode: sink?.mode() ?? 'direct', events: sink?.depth() ?? 0 },
    };
  }

  // Start order; stopped in reverse: the gateway first (persisting sessions), then the workers, the server, the
  // journal, and Redis and the access token last. The journal opens first (a second process on its directory fails
  // at once, before binding a port); the HTTP server listens before Redis is waited for, so /healthz answers and
  // /readyz says what the start waits for (an orchestrator tells "waiting for Redis" from "dead").
  const parts: Part[] = [
    tokens.part,
    appRedisPart(redis),
    ...(gateway ? [gateway.journal] : []),
    ...(server ? [server.part] : []),
    redisReadyPart(appRedis, logger),
    queueDepthsPart(shared),
    ...workers,
    ...(gateway ? [gateway.gateway] : []),
  ];
  const supervisor = new Supervisor(logger);

  return {
    metrics,
    async start(signal) {
      await supervisor.start(parts, signal);
      // The gateway returns early, without error, once aborted: the start as a whole did not happen.
      if (signal?.aborted) {
        throw new BridgeError('BRIDGE_ERR_ABORTED', 'start interrupted while starting the gateway');
      }
      started = true;
      logger.info({ role, targets: config.targets.map((t) => t.id) }, 'bridge started');
    },
    async stop() {
      started = false;
      await supervisor.stop();
    },
    shards: () => gateway?.shards() ?? [],
    health,
    httpAddress: () => server?.address(),
  };
}
