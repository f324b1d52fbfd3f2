import { isSendableCloseCode } from './frames.js';
import { isNonNegativeInteger, isRecord } from './json.js';

/**
 * The faults a simulator can inject (docs/qq-protocol.md D.8). Socket faults act on open WebSockets at once; HTTP
 * faults arm the answer of the next `times` requests to one HTTP route. `hello` sends one more Hello on an open
 * socket, which QQ is not known to do (it sends one per connection): it tests a client against a misbehaving gateway.
 */
const SOCKET_FAULT_KINDS = [
  'reconnect',
  'invalid_session',
  'close',
  'cut',
  'half_dead',
  'hello',
  'malformed_frame',
] as const;
const HTTP_FAULT_KINDS = ['http_error', 'token_rate_limit'] as const;
export const FAULT_KINDS = [...SOCKET_FAULT_KINDS, ...HTTP_FAULT_KINDS] as const;
export type SocketFaultKind = (typeof SOCKET_FAULT_KINDS)[number];
export type HttpFaultKind = (typeof HTTP_FAULT_KINDS)[number];
export type FaultKind = SocketFaultKind | HttpFaultKind;

/** The HTTP routes an `http_error` fault can target. */
const FAULTABLE_PATHS = ['/app/getAppAccessToken', '/gateway', '/gateway/bot'] as const;
export type FaultablePath = (typeof FAULTABLE_PATHS)[number];

/** A validated emit request, from `emit()` or `POST /_sim/emit`. */
export interface EmitCommand {
  t: string;
  d: unknown;
  id?: string;
  shard?: number;
}

/** A validated socket fault. `code` is only used by `close`; without `shard`, every open socket is hit. */
export interface SocketFaultCommand {
  kind: SocketFaultKind;
  code?: number;
  shard?: number;
}

/**
 * A validated HTTP fault: the next `times` requests to `path` get HTTP `status` (`http_error`), or the token
 * endpoint's rate-limit answer (`token_rate_limit`, path `/app/getAppAccessToken`).
 */
export interface HttpFaultCommand {
  kind: HttpFaultKind;
  path: FaultablePath;
  status: number;
  times: number;
}

/** A validated fault request, from `fault()` or `POST /_sim/fault`. */
export type FaultCommand = SocketFaultCommand | HttpFaultCommand;

export type CommandResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Checks an emit request. `d` must be present and JSON-serializable; the result holds its JSON copy. `id` defaults
 * to `<t>:<uuid>` and `shard` to 0 later.
 */
export function parseEmitCommand(input: unknown): CommandResult<EmitCommand> {
  if (!isRecord(input)) return fail('body must be a JSON object {"t", "d", "id"?, "shard"?}');
  const { t, d, id, shard } = input;
  if (typeof t !== 'string' || t === '') return fail('"t" must be a non-empty string (the event type)');
  if (d === undefined) return fail('"d" is required (any JSON value)');
  const wire = toJsonValue(d);
  if (!wire.ok) return fail('"d" must be JSON-serializable');
  if (id !== undefined && (typeof id !== 'string' || id === ''))
    return fail('"id" must be a non-empty string');
  if (shard !== undefined && !isNonNegativeInteger(shard)) return fail('"shard" must be an integer ≥ 0');
  const command: EmitCommand = { t, d: wire.value };
  if (id !== undefined) command.id = id;
  if (shard !== undefined) command.shard = shard;
  return { ok: true, value: command };
}

/**
 * Checks a fault request: a known `kind`; for socket faults a close code a WebSocket may send and a shard id ≥ 0;
 * for HTTP faults a faultable `path`, an error `status` and `times` ≥ 1 (default 1). A field of the other family
 * is refused rather than ignored, so a mistyped request cannot silently do something else.
 */
export function parseFaultCommand(input: unknown): CommandResult<FaultCommand> {
  if (!isRecord(input)) {
    return fail(
      'body must be a JSON object {"kind", "code"?, "shard"?} or {"kind", "path"?, "status"?, "times"?}',
    );
  }
  const { kind } = input;
  if (!isFaultKind(kind)) return fail(`"kind" must be one of ${FAULT_KINDS.join(', ')}`);
  return isHttpFaultKind(kind) ? parseHttpFault(kind, input) : parseSocketFault(kind, input);
}

function parseSocketFault(
  kind: SocketFaultKind,
  input: Record<string, unknown>,
): CommandResult<FaultCommand> {
  const { code, shard } = input;
  const misplaced = ['path', 'status', 'times'].find((field) => input[field] !== undefined);
  if (misplaced) return fail(`"${misplaced}" applies to ${HTTP_FAULT_KINDS.join(' and ')} only`);
  if (code !== undefined && (typeof code !== 'number' || !isSendableCloseCode(code))) {
    return fail('"code" must be a sendable WebSocket close code (1000–1003, 1007–1014 or 3000–4999)');
  }
  if (shard !== undefined && !isNonNegativeInteger(shard)) return fail('"shard" must be an integer ≥ 0');
  const command: SocketFaultCommand = { kind };
  if (code !== undefined) command.code = code;
  if (shard !== undefined) command.shard = shard;
  return { ok: true, value: command };
}

function parseHttpFault(kind: HttpFaultKind, input: Record<string, unknown>): CommandResult<FaultCommand> {
  const { path, status, times = 1 } = input;
  const misplaced = ['code', 'shard'].find((field) => input[field] !== undefined);
  if (misplaced) return fail(`"${misplaced}" applies to socket faults only`);
  if (!isNonNegativeInteger(times) || times < 1) return fail('"times" must be an integer ≥ 1');
  if (kind === 'token_rate_limit') {
    if (status !== undefined)
      return fail('"status" applies to http_error only: the rate-limit answer is HTTP 200');
    if (path !== undefined && path !== '/app/getAppAccessToken') {
      return fail('"path" of token_rate_limit can only be /app/getAppAccessToken');
    }
    return { ok: true, value: { kind, path: '/app/getAppAccessToken', status: 200, times } };
  }
  if (!isFaultablePath(path)) return fail(`"path" must be one of ${FAULTABLE_PATHS.join(', ')}`);
  if (!isNonNegativeInteger(status) || status < 400 || status > 599) {
    return fail('"status" must be an HTTP error status (400–599)');
  }
  return { ok: true, value: { kind, path, status, times } };
}

/** Whether a validated command arms an HTTP route rather than acting on sockets. */
export function isHttpFault(command: FaultCommand): command is HttpFaultCommand {
  return isHttpFaultKind(command.kind);
}

function isHttpFaultKind(kind: FaultKind): kind is HttpFaultKind {
  return (HTTP_FAULT_KINDS as readonly string[]).includes(kind);
}

function isFaultablePath(value: unknown): value is FaultablePath {
  return typeof value === 'string' && (FAULTABLE_PATHS as readonly string[]).includes(value);
}

function isFaultKind(value: unknown): value is FaultKind {
  return typeof value === 'string' && (FAULT_KINDS as readonly string[]).includes(value);
}

/**
 * `value` as it will look on the wire. Logging this copy rather than the caller's object means a replay sends
 * exactly what the live dispatch sent, even if the caller mutates its object afterwards.
 */
function toJsonValue(value: unknown): CommandResult<unknown> {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? fail('not JSON') : { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return fail('not JSON'); // cycles, BigInt
  }
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
