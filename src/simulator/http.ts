import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { advertisedWsUrl } from './advertised-url.js';
import { handleControl, type ControlTarget } from './control.js';
import type { FaultablePath } from './commands.js';
import type { HttpFaults } from './http-faults.js';
import { BodyError, readBody, sendJson } from './http-io.js';
import { isRecord, parseJson } from './json.js';
import type { ResolvedSimulatorOptions } from './options.js';
import { handleSendPath, isSendPath, type SendRouteDeps } from './send-routes.js';
import type { SessionStartLimit } from './start-limit.js';
import type { Counters } from './state.js';
import { tokenFromCredential, type TokenIssuer } from './token-issuer.js';
import { parseRequestTarget } from '../util/request-target.js';

const MAX_TOKEN_BODY_BYTES = 64 * 1024;

/** docs/qq-protocol.md §1.2: the platform answers bad credentials with HTTP 200 and this code, without `access_token`. */
export const INVALID_CREDENTIALS_CODE = 100016;
/** docs/qq-protocol.md §2.1: a missing or expired token on REST calls. */
export const TOKEN_EXPIRED_CODE = 11244;

export interface HttpDeps {
  options: ResolvedSimulatorOptions;
  tokens: TokenIssuer;
  startLimit: SessionStartLimit;
  counters: Counters;
  /** Armed HTTP faults, answered before the route's own handling. */
  faults: HttpFaults;
  control: ControlTarget;
  sends: SendRouteDeps;
  /** The WebSocket URL, known only once the server listens. */
  wsUrl: () => string;
  logger: Logger;
}

/**
 * The simulator's HTTP side: `POST /app/getAppAccessToken`, `GET /gateway`, `GET /gateway/bot`, and the control
 * endpoints under `/_sim/`. Any failure inside a handler becomes a 500, never a crashed process. A request to a route
 * with an armed HTTP fault is counted, then gets the fault's answer.
 */
export function createRequestHandler(deps: HttpDeps): RequestListener {
  return (req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      deps.logger.error({ method: req.method, url: req.url, err: describeError(err) }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { code: 500, message: 'internal simulator error' });
      else res.destroy();
    });
  };
}

async function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = parseRequestTarget(req.url)?.pathname;
  if (path === undefined) {
    return sendJson(res, 400, { code: 400, message: `the request target ${req.url} is not a path` });
  }
  deps.logger.debug({ method: req.method, path }, 'http request');
  if (isSendPath(path)) return handleSendPath(req, res, path, deps.sends);
  if (path.startsWith('/_sim/')) return handleControl(req, res, path, deps.control);
  switch (path) {
    case '/app/getAppAccessToken':
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      deps.counters.tokenRequests++;
      if (answeredByFault(deps, path, req, res)) return;
      return issueToken(deps, req, res);
    case '/gateway':
    case '/gateway/bot':
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      if (path === '/gateway') deps.counters.gatewayRequests++;
      else deps.counters.gatewayBotRequests++;
      if (answeredByFault(deps, path, req, res)) return;
      return describeGateway(deps, req, res, path === '/gateway/bot');
    default:
      return sendJson(res, 404, { code: 404, message: `no route ${path}` });
  }
}

/**
 * The token endpoint. A body that is not `{"appId": string, "clientSecret": string}` is answered like bad
 * credentials (HTTP 200, code 100016) with a message saying what is wrong: a client must handle that shape anyway,
 * and it is the closest documented answer (the real server's reply to malformed bodies is not documented).
 */
async function issueToken(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let text: string;
  try {
    text = await readBody(req, MAX_TOKEN_BODY_BYTES);
  } catch (err) {
    const message = err instanceof BodyError ? err.message : 'unreadable body';
    return sendJson(res, 200, {
      code: INVALID_CREDENTIALS_CODE,
      message: `invalid request body: ${message}`,
    });
  }
  const json = parseJson(text);
  const body = json.ok && isRecord(json.value) ? json.value : undefined;
  if (!body || typeof body.appId !== 'string' || typeof body.clientSecret !== 'string') {
    deps.logger.warn('token request with a malformed body');
    return sendJson(res, 200, {
      code: INVALID_CREDENTIALS_CODE,
      message: 'invalid request body: expected JSON {"appId": string, "clientSecret": string}',
    });
  }
  if (body.appId !== deps.options.appId || body.clientSecret !== deps.options.clientSecret) {
    deps.logger.warn({ appId: body.appId }, 'token request with invalid credentials');
    return sendJson(res, 200, { code: INVALID_CREDENTIALS_CODE, message: 'invalid appid or secret' });
  }
  const issued = deps.tokens.issue();
  // expires_in is a string on the real platform (docs/qq-protocol.md §1.2); clients must not assume a number.
  sendJson(res, 200, { access_token: issued.accessToken, expires_in: String(issued.expiresInSec) });
}

function describeGateway(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, bot: boolean): void {
  const token = tokenFromCredential(req.headers.authorization);
  if (token === undefined || !deps.tokens.isValid(token)) {
    return sendJson(res, 401, { code: TOKEN_EXPIRED_CODE, message: 'token not exist or expire' });
  }
  const url = advertisedWsUrl(deps.options.host, deps.wsUrl(), req.headers.host);
  if (!bot) return sendJson(res, 200, { url });
  sendJson(res, 200, {
    url,
    shards: deps.options.recommendedShards,
    session_start_limit: deps.startLimit.view(),
  });
}

/** Answers with the next fault armed on `path`, if any (the request body is drained unread). */
function answeredByFault(
  deps: HttpDeps,
  path: FaultablePath,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const answer = deps.faults.take(path);
  if (!answer) return false;
  req.resume();
  deps.logger.info({ path, status: answer.status, code: answer.body.code }, 'http fault injected');
  sendJson(res, answer.status, answer.body);
  return true;
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendJson(res, 405, { code: 405, message: `method not allowed; use ${allow}` }, { allow });
}
