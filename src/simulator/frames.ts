/**
 * The frames the simulator speaks (docs/qq-protocol.md §3, Appendix B). The simulator keeps its own constants instead of
 * importing the client's `src/qq/opcodes.ts`: it is the test oracle for that client, and a shared typo would make
 * both sides agree on a wrong protocol.
 */
export const OP = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  RESUME: 6,
  RECONNECT: 7,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
} as const;

/** Close codes the simulator sends on its own (docs/qq-protocol.md §3.10). */
export const CLOSE = {
  /** what `cut` and a socket takeover look like to the client: no close frame at all */
  ABNORMAL: 1006,
  UNKNOWN_OPCODE: 4001,
  INVALID_PAYLOAD: 4002,
  AUTH_FAILED: 4004,
  ALREADY_AUTHENTICATED: 4005,
  INVALID_SEQ: 4007,
  SESSION_TIMED_OUT: 4009,
  INVALID_SHARD: 4010,
  INVALID_INTENTS: 4013,
  DISALLOWED_INTENTS: 4014,
} as const;

/** One event as kept in a session log and sent in an op-0 frame. */
export interface LoggedEvent {
  s: number;
  t: string;
  id: string;
  d: unknown;
}

/** The bot user announced in READY. QQ sends the bot's own user, not the app id. */
export const SIMULATED_BOT_USER = {
  id: '6158788878435714165',
  username: 'qq-webhook-bridge simulator',
  bot: true,
};

/** `heartbeatInterval` is normally a number of ms; the simulator can be told to send anything there. */
export function helloFrame(heartbeatInterval: unknown): object {
  return { op: OP.HELLO, d: { heartbeat_interval: heartbeatInterval } };
}

export function readyFrame(s: number, sessionId: string, shard: readonly [number, number]): object {
  return {
    op: OP.DISPATCH,
    s,
    t: 'READY',
    d: { version: 1, session_id: sessionId, user: SIMULATED_BOT_USER, shard: [shard[0], shard[1]] },
  };
}

/** RESUMED carries `d: ""` on the real gateway; clients that expect an object must cope (docs/qq-protocol.md §3.7). */
export function resumedFrame(s: number): object {
  return { op: OP.DISPATCH, s, t: 'RESUMED', d: '' };
}

export function dispatchFrame(event: LoggedEvent): object {
  return { op: OP.DISPATCH, s: event.s, t: event.t, id: event.id, d: event.d };
}

export const HEARTBEAT_ACK_FRAME = { op: OP.HEARTBEAT_ACK };
export const RECONNECT_FRAME = { op: OP.RECONNECT };
export const INVALID_SESSION_FRAME = { op: OP.INVALID_SESSION, d: false };

/** Codes a WebSocket endpoint may put in a close frame (RFC 6455 §7.4; the same rule `ws` enforces). */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/**
 * Whether a session survives the server closing its socket with `code` (docs/qq-protocol.md D.8): 4008 and 4009 (and
 * every non-4xxx code, like 1000/1001 or a cut link) leave it resumable; 4006, 4007, 4900–4913 and every other
 * 4xxx discard it.
 */
export function keepsSessionResumable(code: number): boolean {
  if (code < 4000 || code > 4999) return true;
  return code === 4008 || code === 4009;
}
