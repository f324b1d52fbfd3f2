import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Logger } from '../log.js';
import { BodyError, readBody, sendJson } from './http-io.js';
import type { SendScene } from './inbound-registry.js';
import { parseJson } from './json.js';
import { checkMessageBody } from './message-body.js';
import type { MessageLog } from './messages.js';
import { SEND_CODE, SEND_MESSAGE, qqErrorBody } from './send-codes.js';
import type { SendFaults } from './send-faults.js';
import type { ResolvedSendOptions } from './send-options.js';
import type { Refusal, SendRules } from './send-rules.js';
import type { Counters } from './state.js';
import { tokenFromCredential, type TokenIssuer } from './token-issuer.js';

const MAX_SEND_BODY_BYTES = 1 << 20;
/** QQ's trace header (docs/qq-protocol.md §1.4); every answer on these routes carries one. */
const TRACE_HEADER = 'X-Tps-trace-ID';
/** QQ's offset in RFC 3339 timestamps (`…+08:00`, docs/qq-protocol.md §8.1). */
const CHINA_OFFSET_MS = 8 * 3600_000;

/** What the send routes work with. */
export interface SendRouteDeps {
  appId: string;
  tokens: TokenIssuer;
  rules: SendRules;
  log: MessageLog;
  faults: SendFaults;
  options: ResolvedSendOptions;
  counters: Counters;
  now: () => number;
  /**
   * Whether QQ can reach the bot now: a READY or RESUMED gateway socket is open, or a webhook push is on. While
   * not, QQ answers sends 200 and drops them (docs/qq-protocol.md §7.1).
   */
  connected: () => boolean;
  logger: Logger;
}

type Route =
  | { kind: 'send'; scene: SendScene; openid: string }
  | { kind: 'recall'; scene: SendScene; openid: string; messageId: string }
  | { kind: 'ack'; interactionId: string }
  | { kind: 'log' }
  | { kind: 'log-reset' }
  | { kind: 'unknown' };

/** Whether `path` is one the send routes answer: QQ's `/v2/…` and `/interactions/…`, and `/_sim/messages…`. */
export function isSendPath(path: string): boolean {
  return path.startsWith('/v2/') || path.startsWith('/interactions/') || path.startsWith('/_sim/messages');
}

/**
 * QQ's send endpoints and their log (docs/qq-protocol.md §7.2, §8; docs/design.md §6 "simulate"):
 * `POST /v2/groups/{group_openid}/messages` and `/v2/users/{openid}/messages`, `DELETE …/messages/{message_id}`,
 * `PUT /interactions/{interaction_id}`, and the control endpoints `GET /_sim/messages` and
 * `POST /_sim/messages/reset`.
 */
export async function handleSendPath(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: SendRouteDeps,
): Promise<void> {
  const route = parseRoute(path);
  switch (route.kind) {
    case 'send':
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      return send(req, res, deps, route.scene, route.openid);
    case 'recall':
      if (req.method !== 'DELETE') return methodNotAllowed(res, 'DELETE');
      return recall(req, res, deps, route);
    case 'ack':
      if (req.method !== 'PUT') return methodNotAllowed(res, 'PUT');
      return ack(req, res, deps, route.interactionId);
    case 'log':
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      return sendJson(res, 200, deps.log.view());
    case 'log-reset':
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      return sendJson(res, 200, { cleared: deps.log.reset() });
    case 'unknown':
      return sendJson(res, 404, { code: 404, message: `no route ${path} in the simulator` });
  }
}

/**
 * One message send. Order: token → `X-Union-Appid` → an armed fault → the body → QQ's rules; a message that
 * passes is delivered while the bot is connected and dropped (answered 200 all the same) while it is not.
 */
async function send(
  req: IncomingMessage,
  res: ServerResponse,
  deps: SendRouteDeps,
  scene: SendScene,
  openid: string,
): Promise<void> {
  deps.counters.sendRequests++;
  const request = await readRequest(req);
  const at = deps.now();
  const entry = { scene, openid, body: request.body, at };
  const reject = (status: number, refusal: Refusal, headers: Record<string, string> = {}): void => {
    deps.log.addMessage({ ...entry, id: null, outcome: 'rejected', status, code: refusal.code });
    deps.logger.info({ scene, openid, status, code: refusal.code }, `send rejected: ${refusal.message}`);
    answerError(res, status, refusal, headers);
  };

  const denied = authRefusal(req, deps);
  if (denied) return reject(denied.status, denied.refusal);
  const fault = deps.faults.take();
  if (fault?.kind === 'send_error') {
    return reject(fault.status, { code: fault.status, message: STATUS_CODES[fault.status] ?? 'error' });
  }
  if (fault?.kind === 'send_rate_limited') {
    return reject(
      429,
      { code: SEND_CODE.MSG_LIMIT, message: SEND_MESSAGE.MSG_LIMIT },
      {
        'retry-after': String(fault.retryAfterSec),
      },
    );
  }
  const checked =
    request.error === undefined
      ? checkMessageBody(request.body)
      : { ok: false as const, error: request.error };
  if (!checked.ok) return reject(deps.options.errorStatus, invalidBody(checked.error));
  const refusal = deps.rules.check(scene, openid, checked.value);
  if (refusal) return reject(deps.options.errorStatus, refusal);

  const id = newMessageId();
  const delivered = deps.connected();
  const status = fault?.kind === 'send_stored_error' ? 500 : 200;
  if (delivered) {
    deps.rules.remember(id, scene, openid, checked.value, at);
    deps.counters.messagesDelivered++;
  }
  deps.log.addMessage({ ...entry, id, outcome: delivered ? 'delivered' : 'dropped', status });
  if (delivered) deps.logger.debug({ scene, openid, id, status }, 'message delivered');
  else {
    deps.logger.warn(
      { scene, openid, id },
      'message dropped: no gateway session is connected, so QQ answers 200 and loses it; send only while a session is READY',
    );
  }
  if (status === 500) return answerError(res, 500, { code: 500, message: 'Internal Server Error' });
  const timestamp = deps.options.timestamp === 'unix' ? Math.floor(at / 1000) : rfc3339China(at);
  sendJson(res, 200, { id, timestamp }, { [TRACE_HEADER]: randomUUID() });
}

async function recall(
  req: IncomingMessage,
  res: ServerResponse,
  deps: SendRouteDeps,
  route: { scene: SendScene; openid: string; messageId: string },
): Promise<void> {
  await readRequest(req);
  const { scene, openid, messageId } = route;
  const entry = { messageId, scene, openid, at: deps.now() };
  const denied = authRefusal(req, deps);
  const status = denied?.status ?? deps.options.errorStatus;
  const refusal = denied?.refusal ?? deps.rules.recall(scene, openid, messageId);
  if (refusal) {
    deps.log.addRecall({ ...entry, outcome: 'rejected', status, code: refusal.code });
    deps.logger.info({ scene, openid, messageId, code: refusal.code }, `recall rejected: ${refusal.message}`);
    return answerError(res, status, refusal);
  }
  deps.log.addRecall({ ...entry, outcome: 'recalled', status: 200 });
  deps.log.markRecalled(messageId);
  answerEmpty(res);
}

/** An acknowledgement: body `{"code": 0–5}` (docs/qq-protocol.md §5.7); success is 200 with an empty body. */
async function ack(
  req: IncomingMessage,
  res: ServerResponse,
  deps: SendRouteDeps,
  interactionId: string,
): Promise<void> {
  const request = await readRequest(req);
  const entry = { interactionId, body: request.body, at: deps.now() };
  const denied = authRefusal(req, deps);
  const status = denied?.status ?? deps.options.errorStatus;
  const refusal = denied?.refusal ?? ackBodyRefusal(request) ?? deps.rules.ack(interactionId);
  if (refusal) {
    deps.log.addInteraction({ ...entry, outcome: 'rejected', status, code: refusal.code });
    deps.logger.info({ interactionId, code: refusal.code }, `interaction ack rejected: ${refusal.message}`);
    return answerError(res, status, refusal);
  }
  deps.log.addInteraction({ ...entry, outcome: 'acked', status: 200 });
  answerEmpty(res);
}

function ackBodyRefusal(request: RequestBody): Refusal | undefined {
  if (request.error !== undefined) return invalidBody(request.error);
  const body = request.body as { code?: unknown } | null;
  const code = typeof body === 'object' && body !== null && !Array.isArray(body) ? body.code : undefined;
  if (typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 5) return undefined;
  return invalidBody('the body must be {"code": n} with n an integer 0–5 (0 success … 5 admins only)');
}

/**
 * The token check of every QQ route, the same as `/gateway`'s: `Authorization: QQBot <token>` with a token the
 * simulator issued and that has not expired, else 401 `11244`. Then `X-Union-Appid` must be this bot's app id.
 */
function authRefusal(
  req: IncomingMessage,
  deps: SendRouteDeps,
): { status: number; refusal: Refusal } | undefined {
  const token = tokenFromCredential(req.headers.authorization);
  if (token === undefined || !deps.tokens.isValid(token)) {
    return {
      status: 401,
      refusal: { code: SEND_CODE.TOKEN_NOT_EXIST, message: SEND_MESSAGE.TOKEN_NOT_EXIST },
    };
  }
  if (req.headers['x-union-appid'] !== deps.appId) {
    return {
      status: deps.options.errorStatus,
      refusal: { code: SEND_CODE.APPID_HEADER, message: SEND_MESSAGE.APPID_HEADER },
    };
  }
  return undefined;
}

/** A request body as parsed JSON, or its text with what is wrong when it is not JSON or could not be read. */
interface RequestBody {
  body: unknown;
  error?: string;
}

async function readRequest(req: IncomingMessage): Promise<RequestBody> {
  let text: string;
  try {
    text = await readBody(req, MAX_SEND_BODY_BYTES);
  } catch (err) {
    const message = err instanceof BodyError ? err.message : 'unreadable body';
    return { body: null, error: message };
  }
  const json = parseJson(text);
  return json.ok ? { body: json.value } : { body: text, error: `the body is not JSON: ${json.error}` };
}

function invalidBody(error: string): Refusal {
  return { code: SEND_CODE.INVALID_BODY, message: `invalid request body: ${error}` };
}

function parseRoute(path: string): Route {
  if (path === '/_sim/messages') return { kind: 'log' };
  if (path === '/_sim/messages/reset') return { kind: 'log-reset' };
  const segments = decodeSegments(path);
  if (!segments) return { kind: 'unknown' };
  const [first, second, third, fourth, fifth, ...rest] = segments;
  if (first === 'interactions' && second && third === undefined)
    return { kind: 'ack', interactionId: second };
  if (first !== 'v2' || (second !== 'groups' && second !== 'users') || !third || fourth !== 'messages') {
    return { kind: 'unknown' };
  }
  const scene: SendScene = second === 'groups' ? 'group' : 'c2c';
  if (fifth === undefined) return { kind: 'send', scene, openid: third };
  if (fifth !== '' && rest.length === 0) return { kind: 'recall', scene, openid: third, messageId: fifth };
  return { kind: 'unknown' };
}

/** The path's segments, percent-decoded; undefined when one is not valid percent-encoding. */
function decodeSegments(path: string): string[] | undefined {
  try {
    return path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** QQ's message ids look like `ROBOT1.0_<base64url>` (docs/qq-protocol.md §5.1). */
function newMessageId(): string {
  return `ROBOT1.0_${randomBytes(36).toString('base64url')}`;
}

/** `at` as QQ writes RFC 3339 times: China time with its offset, e.g. `2025-03-13T23:30:49+08:00`. */
function rfc3339China(at: number): string {
  return `${new Date(at + CHINA_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

function answerError(
  res: ServerResponse,
  status: number,
  refusal: Refusal,
  headers: Record<string, string> = {},
): void {
  const traceId = randomUUID();
  sendJson(res, status, qqErrorBody(refusal.code, refusal.message, traceId), {
    [TRACE_HEADER]: traceId,
    ...headers,
  });
}

function answerEmpty(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': '0', [TRACE_HEADER]: randomUUID() });
  res.end();
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendJson(res, 405, { code: 405, message: `method not allowed; use ${allow}` }, { allow });
}
