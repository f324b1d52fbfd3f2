import { isSendableCloseCode } from './frames.js';
import { isNonNegativeInteger, isRecord } from './json.js';
import {
  SEND_FAULT_KINDS,
  isSendFaultKind,
  parseSendFaultCommand,
  type SendFaultCommand,
} from './send-faults.js';

/** The faults a simulator can inject (PROTOCOL.md D.8). */
export const FAULT_KINDS = ['reconnect', 'invalid_session', 'close', 'cut', 'half_dead'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A validated emit request, from `emit()` or `POST /_sim/emit`. */
export interface EmitCommand {
  t: string;
  d: unknown;
  id?: string;
  shard?: number;
}

/** A validated fault request, from `fault()` or `POST /_sim/fault`. `code` is only used by `close`. */
export interface FaultCommand {
  kind: FaultKind;
  code?: number;
  shard?: number;
}

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

/** Checks a fault request: a known `kind`, a close code a WebSocket may send, a shard id ≥ 0. */
export function parseFaultCommand(input: unknown): CommandResult<FaultCommand> {
  if (!isRecord(input)) return fail('body must be a JSON object {"kind", "code"?, "shard"?}');
  const { kind, code, shard } = input;
  if (!isFaultKind(kind)) return fail(`"kind" must be one of ${FAULT_KINDS.join(', ')}`);
  if (code !== undefined && (typeof code !== 'number' || !isSendableCloseCode(code))) {
    return fail('"code" must be a sendable WebSocket close code (1000–1003, 1007–1014 or 3000–4999)');
  }
  if (shard !== undefined && !isNonNegativeInteger(shard)) return fail('"shard" must be an integer ≥ 0');
  const command: FaultCommand = { kind };
  if (code !== undefined) command.code = code;
  if (shard !== undefined) command.shard = shard;
  return { ok: true, value: command };
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

/** Any fault `POST /_sim/fault` takes: one for the gateway's sockets or one for the send routes. */
export type AnyFaultCommand = FaultCommand | SendFaultCommand;

/** Checks a fault request of any kind: send faults (send-faults.ts) by their rules, the others as above. */
export function parseAnyFaultCommand(input: unknown): CommandResult<AnyFaultCommand> {
  if (isRecord(input) && isSendFaultKind(input.kind)) return parseSendFaultCommand(input);
  if (isRecord(input) && !isFaultKind(input.kind)) {
    return fail(`"kind" must be one of ${[...FAULT_KINDS, ...SEND_FAULT_KINDS].join(', ')}`);
  }
  return parseFaultCommand(input);
}
