import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  parseAnyFaultCommand,
  parseEmitCommand,
  type AnyFaultCommand,
  type EmitCommand,
} from './commands.js';
import type { CallbackEmitAnswer } from './callback-mode.js';
import type { EmitResult } from './gateway.js';
import { BodyError, readBody, sendJson } from './http-io.js';
import { parseJson } from './json.js';
import type { SimulatorState } from './state.js';

const MAX_CONTROL_BODY_BYTES = 1 << 20;

/** What the control endpoints drive. */
export interface ControlTarget {
  emit(command: EmitCommand): EmitResult;
  /**
   * Present in callback mode (simulator option `webhook`): `POST /_sim/emit` delivers the event as a signed
   * callback instead of over the WebSocket, and answers with how that ended.
   */
  emitCallback?: (command: EmitCommand) => Promise<CallbackEmitAnswer>;
  /** returns how many sockets the fault hit, or for an HTTP or send fault how many requests it will answer */
  fault(command: AnyFaultCommand): number;
  state(): SimulatorState;
}

/**
 * `/_sim/*`: the simulator's control surface over HTTP, for the CLI and for receivers written in other languages.
 * `POST /_sim/emit` → `{s, id}` (in callback mode: 200 `{id, callback}` or 502 `{error, …}`); `POST /_sim/fault` → `{applied}`; `GET /_sim/state` → the state. Bad input gets a
 * 4xx with `{"error": "..."}`, never an exception.
 */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  target: ControlTarget,
): Promise<void> {
  switch (path) {
    case '/_sim/state':
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      return sendJson(res, 200, target.state());
    case '/_sim/emit': {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      const command = await readCommand(req, res, parseEmitCommand);
      if (!command) return;
      if (!target.emitCallback) return sendJson(res, 200, target.emit(command));
      const answer = await target.emitCallback(command);
      return sendJson(res, answer.status, answer.body);
    }
    case '/_sim/fault': {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      const command = await readCommand(req, res, parseAnyFaultCommand);
      if (command) sendJson(res, 200, { applied: target.fault(command) });
      return;
    }
    default:
      return sendJson(res, 404, {
        error: `no control endpoint ${path}; try /_sim/emit, /_sim/fault, /_sim/state`,
      });
  }
}

/** Reads and validates a JSON command; on failure answers the error itself and returns undefined. */
async function readCommand<T>(
  req: IncomingMessage,
  res: ServerResponse,
  parse: (input: unknown) => { ok: true; value: T } | { ok: false; error: string },
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readBody(req, MAX_CONTROL_BODY_BYTES);
  } catch (err) {
    const status = err instanceof BodyError ? err.status : 400;
    sendJson(res, status, { error: err instanceof Error ? err.message : 'unreadable body' });
    return undefined;
  }
  const json = parseJson(text);
  if (!json.ok) {
    sendJson(res, 400, { error: `body is not valid JSON: ${json.error}` });
    return undefined;
  }
  const command = parse(json.value);
  if (!command.ok) {
    sendJson(res, 400, { error: command.error });
    return undefined;
  }
  return command.value;
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendJson(res, 405, { error: `method not allowed; use ${allow}` }, { allow });
}
