import { BridgeError } from '../errors.js';

/** How the simulator's send routes behave. Every field is optional; defaults are QQ's documented limits. */
export interface SendOptions {
  /** How long after an inbound group event a passive reply is accepted, ms. Default 300000 (5 min). */
  groupReplyWindowMs?: number;
  /** How long after an inbound C2C event a passive reply is accepted, ms. Default 3600000 (60 min). */
  c2cReplyWindowMs?: number;
  /** How long after sending a message can be recalled, ms. Default 120000 (2 min). */
  recallWindowMs?: number;
  /**
   * Active messages (neither `msg_id` nor `event_id`): `allow` (default) delivers them, `deny` answers
   * `40034105`. QQ withdrew them in 2025 unless a bot is permitted (docs/qq-protocol.md §0.2), so both exist.
   */
  activeMessages?: 'allow' | 'deny';
  /**
   * The HTTP status of a business error (a non-zero `code`) on the send routes. 400 (default) is what QQ was
   * captured answering `40054005` with (`langbot-app/LangBot#2290`); 200 is the other shape QQ is known to use
   * (docs/qq-protocol.md §8), so a client can be tested against both. Token errors are always 401.
   */
  errorStatus?: 400 | 200;
  /**
   * The `timestamp` of a send answer: `unix` (default) is an integer of seconds, `rfc3339` a string such as
   * `2025-03-13T23:30:49+08:00`; QQ has been seen answering both (docs/qq-protocol.md §8.1).
   */
  timestamp?: 'unix' | 'rfc3339';
}

export type ResolvedSendOptions = Required<SendOptions>;

/** Fills in defaults and rejects impossible values with a BRIDGE_ERR_USAGE error naming the option. */
export function resolveSendOptions(opts: SendOptions = {}): ResolvedSendOptions {
  const resolved: ResolvedSendOptions = {
    groupReplyWindowMs: opts.groupReplyWindowMs ?? 5 * 60_000,
    c2cReplyWindowMs: opts.c2cReplyWindowMs ?? 60 * 60_000,
    recallWindowMs: opts.recallWindowMs ?? 2 * 60_000,
    activeMessages: opts.activeMessages ?? 'allow',
    errorStatus: opts.errorStatus ?? 400,
    timestamp: opts.timestamp ?? 'unix',
  };
  for (const name of ['groupReplyWindowMs', 'c2cReplyWindowMs', 'recallWindowMs'] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw usage(`sends.${name} must be an integer number of ms ≥ 0, got ${String(value)}`);
    }
  }
  if (resolved.activeMessages !== 'allow' && resolved.activeMessages !== 'deny') {
    throw usage(`sends.activeMessages must be "allow" or "deny", got ${String(resolved.activeMessages)}`);
  }
  if (resolved.errorStatus !== 400 && resolved.errorStatus !== 200) {
    throw usage(`sends.errorStatus must be 400 or 200, got ${String(resolved.errorStatus)}`);
  }
  if (resolved.timestamp !== 'unix' && resolved.timestamp !== 'rfc3339') {
    throw usage(`sends.timestamp must be "unix" or "rfc3339", got ${String(resolved.timestamp)}`);
  }
  return resolved;
}

function usage(message: string): BridgeError {
  return new BridgeError('BRIDGE_ERR_USAGE', `simulator option ${message}`);
}
