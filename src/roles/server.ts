import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisClient } from '../redis/client.js';
import type { ListenAddress } from '../config/listen.js';
import type { BridgeConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { QqRestClient } from '../qq/rest-client.js';
import { replicaWaitPolicy } from '../queue/replica-wait.js';
import { createSendApi } from '../server/api/send-api.js';
import type { DashboardRoutes } from '../server/dashboard.js';
import { createHttpServer, type AdminRoutes, type ExtraRoute } from '../server/http.js';
import type { LoginCodes } from '../server/login-codes.js';
import type { BridgeMetrics } from '../server/metrics.js';
import type { HealthReport } from '../server/readiness.js';
import { bearerListCheck } from '../server/bearer.js';
import { refuseAdminWithoutRedis, refuseApiWithoutRedis } from '../server/redis-gate.js';
import type { SharedAccessTokens } from './access-tokens.js';
import { stagedPart, type Part } from './supervisor.js';

/** The most of a QQ answer the send API relays (member lists can be long); larger answers are a 502. */
const PASS_THROUGH_ANSWER_BYTES = 1024 * 1024;

export interface ServerOptions {
  config: BridgeConfig;
  redis: RedisClient;
  /** Where Redis is, for the 503 the dashboard answers while it is away (src/redis/address.ts). */
  redisAddress: string;
  tokens: SharedAccessTokens;
  metrics: BridgeMetrics;
  logger: Logger;
  /** Gathered at request time by the composition root. */
  health: () => HealthReport;
  /** The webhook-mode callback route, on a gateway. */
  routes: ReadonlyMap<string, ExtraRoute> | undefined;
  /** Single-use admin login codes (the demo's login link). */
  loginCodes?: LoginCodes;
}

export interface ServerRole {
  /** Binds `server.listen`; stops the send API, then the server, then the dashboard. */
  readonly part: Part;
  /** The bound address once started. */
  address(): ListenAddress | undefined;
}

/**
 * The HTTP server of every role: /healthz, /readyz, /metrics, the admin routes and dashboard, the send API when
 * `server.api_tokens` is set, and the callback route. Built here (the send API's token manager too), bound on start.
 * Binding needs no Redis: the dashboard and the send API use the connection per request only (and answer 503 while
 * it is not ready), so the server starts before the wait for Redis.
 */
export function buildServer(options: ServerOptions): ServerRole {
  const { config, redis, metrics, logger, routes } = options;
  // Express and Bull Board cost tens of MB of memory: loaded on the first admin request, never without a token.
  let dashboard: DashboardRoutes | undefined;
  const adminRoutes: AdminRoutes = async (req, res) => {
    // Bull Board would wait on the connection; nothing is loaded before Redis is there.
    if (refuseAdminWithoutRedis(redis, options.redisAddress, req, res)) return true;
    dashboard ??= (await import('../server/dashboard.js')).createDashboard({
      targets: config.targets,
      appId: config.qq.appId,
      prefix: config.redis.prefix,
      connection: redis,
    });
    return dashboard(req, res);
  };
  // No API tokens: no send API, and `/v1` answers 404 like any unknown path.
  const sendApi =
    config.server.apiTokens.length === 0
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
            tokens: options.tokens.get(),
            timeoutMs: config.outbound.timeoutMs,
            maxAnswerBytes: PASS_THROUGH_ANSWER_BYTES,
          }),
          metrics,
          logger,
        });
  // The server listens before Redis is ready (so /readyz can say why it is not); an authorized send is refused with
  // a 503 until then, an unauthorized one still gets the API's 401.
  const isApiCaller = bearerListCheck(config.server.apiTokens);
  const api = sendApi
    ? async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        if (isApiCaller(req.headers.authorization) && refuseApiWithoutRedis(redis, req, res)) return;
        await sendApi.handle(req, res);
      }
    : undefined;
  const http = createHttpServer({
    config: config.server,
    metrics,
    health: () => Promise.resolve(options.health()),
    logger,
    adminRoutes,
    ...(options.loginCodes ? { loginCodes: options.loginCodes } : {}),
    ...(routes ? { routes } : {}),
    ...(api ? { api } : {}),
  });

  const part = stagedPart('http', logger, async (stops) => {
    stops.push(async () => {
      await dashboard?.close();
    });
    const address = await http.listen();
    stops.push(() => http.close());
    // Before the server closes: requests waiting for a send answer at once instead of holding the close.
    if (sendApi) stops.push(() => sendApi.close());
    logger.info({ address }, 'health and metrics server listening');
  });
  return { part, address: () => http.address() };
}
