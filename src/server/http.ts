import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ListenAddress } from '../config/listen.js';
import type { ServerConfig } from '../config/types.js';
import { BridgeError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { createLoginRoutes, LOGIN_PATH, LOGOUT_PATH, loginRequiredPage } from './admin-login.js';
import { adminSession } from './admin-session.js';
import { bearerCheck } from './bearer.js';
import type { LoginCodes } from './login-codes.js';
import { isLoopbackHost } from './loopback.js';
import type { BridgeMetrics } from './metrics.js';
import { evaluateReadiness, type HealthReport } from './readiness.js';
import { send, sendJson } from './respond.js';
import {
  isAdminPath,
  isApiPath,
  isReservedServerPath,
  isServerReadPath,
  type ServerReadPath,
} from './reserved-paths.js';
import { parseRequestTarget } from '../util/request-target.js';

/**
 * Handles an authorized `/admin/*` request. Returns true when it answered, false to let the server answer 404.
 * It sees only requests whose normalized path starts with `/admin` and that carried the admin token, as a Bearer
 * header or as the session cookie `POST /admin/login` sets for browsers.
 */
export type AdminRoutes = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** A route outside the server's own, such as the QQ callback: it sees every method and answers by itself. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The send API: answers every request whose normalized path is `/v1` or below it (see `src/server/api/`). */
export type ApiRoutes = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  readonly config: ServerConfig;
  readonly metrics: BridgeMetrics;
  /** Gathers the state `/readyz` reports; called once per request. A rejection answers 503 `not_ready`. */
  readonly health: () => Promise<HealthReport>;
  readonly logger: Logger;
  readonly adminRoutes?: AdminRoutes;
  /**
   * Extra routes, keyed by exact normalized path (like `/qq/callback` → the webhook ingress). A path the server
   * answers itself (`/healthz`, `/readyz`, `/metrics`, `/admin` and below) throws BRIDGE_ERR_CONFIG.
   */
  readonly routes?: ReadonlyMap<string, ExtraRoute>;
  /** The send API; without it `/v1` and below answer 404, like any unknown path. */
  readonly api?: ApiRoutes;
  /**
   * Single-use codes `GET /admin/login?code=…` accepts in place of the token (the demo's login link); without
   * it, none is accepted. Needs `config.adminToken`, whose session the code opens.
   */
  readonly loginCodes?: LoginCodes;
}

/** The health, metrics and admin server. Building it binds nothing; {@link HttpServer.listen} does. */
export interface HttpServer {
  /** Binds `config.host:config.port` and resolves with the bound address (the real port when `port` is 0). */
  listen(): Promise<ListenAddress>;
  /**
   * Stops accepting connections, closes idle keep-alive ones and waits for requests in flight; connections
   * still open after {@link CLOSE_GRACE_MS} are cut. Never rejects.
   */
  close(): Promise<void>;
  /** The bound address, or undefined while not listening. */
  address(): ListenAddress | undefined;
}

/** How long `close()` lets in-flight requests finish before cutting their connections. */
export const CLOSE_GRACE_MS = 5000;

const READ_METHODS = 'GET, HEAD';
const REALM = 'Bearer realm="qq-webhook-bridge admin"';

type ReadRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Builds the HTTP server of docs/design.md §6 on `node:http`: `/healthz`, `/readyz`, `/metrics` and `/admin/*`. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { config, metrics, health, adminRoutes } = options;
  const log = options.logger.child({ component: 'http' });
  // Empty token: the admin routes do not exist at all (404), rather than existing behind an empty password.
  const isAdmin = config.adminToken === '' ? undefined : bearerCheck(config.adminToken);
  const session = config.adminToken === '' ? undefined : adminSession(config.adminToken);
  const login = session ? createLoginRoutes(config.adminToken, session, options.loginCodes) : undefined;

  const readRoutes: Record<ServerReadPath, ReadRoute> = {
    '/healthz': (req, res) => Promise.resolve(sendJson(req, res, 200, { status: 'ok' })),
    '/readyz': readyz,
    '/metrics': async (req, res) => send(req, res, 200, metrics.contentType, await metrics.render()),
  };
  const extraRoutes = options.routes ?? new Map<string, ExtraRoute>();
  for (const path of extraRoutes.keys()) {
    if (isReservedServerPath(path)) {
      throw new BridgeError('BRIDGE_ERR_CONFIG', `the route ${path} is one of the server's own paths`);
    }
  }

  async function readyz(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let report: HealthReport;
    try {
      report = await health();
    } catch (err) {
      // The error text stays in the log: it may name hosts or URLs that an unauthenticated caller should not see.
      log.warn({ err: describeError(err) }, 'health check failed');
      sendJson(req, res, 503, { status: 'not_ready', reasons: ['health check failed'] });
      return;
    }
    const { httpStatus, body } = evaluateReadiness(report);
    sendJson(req, res, httpStatus, body);
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!isAdmin || !session || !login) return sendJson(req, res, 404, { error: 'not_found' });
    if (path === LOGIN_PATH || path === LOGOUT_PATH) return login(req, res, path);
    const authorization = req.headers.authorization;
    if (!isAdmin(authorization) && !session.accepts(req.headers.cookie)) {
      const challenge = authorization === undefined ? REALM : `${REALM}, error="invalid_token"`;
      const headers = { 'WWW-Authenticate': challenge };
      // A browser gets a page that links to the login form; API clients keep the JSON answer.
      if (req.headers.accept?.includes('text/html') === true) {
        return send(req, res, 401, 'text/html; charset=utf-8', loginRequiredPage(), headers);
      }
      return sendJson(req, res, 401, { error: 'unauthorized' }, headers);
    }
    const handled = adminRoutes ? await adminRoutes(req, res) : false;
    if (!handled && !res.headersSent) sendJson(req, res, 404, { error: 'not_found' });
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (isAdminPath(path)) return admin(req, res, path);
    const extra = extraRoutes.get(path);
    if (extra) return extra(req, res);
    if (options.api && isApiPath(path)) return options.api(req, res);
    const handler = isServerReadPath(path) ? readRoutes[path] : undefined;
    if (!handler) return sendJson(req, res, 404, { error: 'not_found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(req, res, 405, { error: 'method_not_allowed' }, { Allow: READ_METHODS });
    }
    await handler(req, res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = parseRequestTarget(req.url)?.pathname;
    try {
      if (path === undefined) return sendJson(req, res, 400, { error: 'bad_request' });
      await route(req, res, path);
    } catch (err) {
      // Only the path: a query string may carry something secret, and the response never echoes either.
      log.error({ err: describeError(err), method: req.method, path }, 'request handler failed');
      if (!res.headersSent) sendJson(req, res, 500, { error: 'internal_error' });
      else res.destroy();
    }
  }

  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    void handle(req, res);
  });
  let closing: Promise<void> | undefined;

  function address(): ListenAddress | undefined {
    const info = server.address();
    return info === null || typeof info === 'string' ? undefined : { host: info.address, port: info.port };
  }

  async function listen(): Promise<ListenAddress> {
    const bound = address();
    if (bound) return bound;
    const { host, port } = config;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        reject(
          new BridgeError(
            'BRIDGE_ERR_CONFIG',
            `cannot listen on ${host}:${port} (server.listen): ${err.code ?? err.message}`,
            {
              cause: err,
            },
          ),
        );
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host, port });
    });
    // From here on a server error (rare: e.g. EMFILE on accept) is logged; without a listener it would crash.
    if (server.listenerCount('error') === 0) {
      server.on('error', (err) => log.error({ err: describeError(err) }, 'http server error'));
    }
    const actual = address() ?? { host, port };
    log.info(actual, 'http server listening');
    if (!isLoopbackHost(host)) {
      log.warn(
        { ...actual, adminRoutes: isAdmin ? 'enabled (admin token required)' : 'disabled' },
        'http server is bound to a non-loopback address: /metrics and /readyz are reachable from the network',
      );
    }
    return actual;
  }

  function close(): Promise<void> {
    if (!server.listening) return closing ?? Promise.resolve();
    closing = new Promise<void>((resolve) => {
      const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      cut.unref();
      server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  }

  return { listen, close, address };
}
