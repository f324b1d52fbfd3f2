/**
 * What to do after the gateway closes with a given code (docs/qq-protocol.md D.4, §3.10). Kept in one table so the
 * whole policy can be read, and tested, in one place.
 */
export type CloseAction =
  /** keep session_id + seq and send Resume on the next connection */
  | 'resume'
  /** drop the session and Identify anew */
  | 'identify'
  /** fetch a new access token first, then resume if a session exists */
  | 'refresh-token'
  /** configuration problem: alert and retry slowly (minutes), never hot-loop */
  | 'config-error'
  /** the bot cannot connect at all (unlisted / banned): stop the shard */
  | 'fatal';

export interface CloseDecision {
  action: CloseAction;
  /** Minimum delay before reconnecting, on top of the normal backoff. */
  minDelayMs: number;
  /** Human description for logs. */
  meaning: string;
}

const CONFIG_ERROR_DELAY_MS = 5 * 60_000;

const KNOWN: Record<number, CloseDecision> = {
  1000: { action: 'resume', minDelayMs: 0, meaning: 'normal closure (server drain)' },
  1001: { action: 'resume', minDelayMs: 0, meaning: 'going away' },
  1006: { action: 'resume', minDelayMs: 0, meaning: 'abnormal closure (link dropped)' },
  4000: { action: 'resume', minDelayMs: 0, meaning: 'unknown error' },
  4001: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'invalid opcode' },
  4002: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'invalid payload' },
  4003: { action: 'identify', minDelayMs: 0, meaning: 'not authenticated' },
  4004: { action: 'refresh-token', minDelayMs: 0, meaning: 'authentication failed' },
  4005: { action: 'identify', minDelayMs: 0, meaning: 'already authenticated' },
  4006: { action: 'identify', minDelayMs: 0, meaning: 'invalid session id, cannot resume' },
  4007: { action: 'identify', minDelayMs: 0, meaning: 'invalid seq' },
  4008: { action: 'resume', minDelayMs: 60_000, meaning: 'rate limited (payloads sent too fast)' },
  4009: { action: 'resume', minDelayMs: 0, meaning: 'session timed out, resume allowed' },
  4010: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'invalid shard' },
  4011: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'sharding required' },
  4012: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'invalid API version' },
  4013: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'invalid intents' },
  4014: { action: 'config-error', minDelayMs: CONFIG_ERROR_DELAY_MS, meaning: 'intents not permitted' },
  4914: { action: 'fatal', minDelayMs: 0, meaning: 'bot is unlisted: only the sandbox may connect' },
  4915: { action: 'fatal', minDelayMs: 0, meaning: 'bot is banned' },
};

/** How to react to close `code`. Unknown codes resume: a resume that is refused falls back to Identify. */
export function classifyClose(code: number): CloseDecision {
  const known = KNOWN[code];
  if (known) return known;
  if (code >= 4900 && code <= 4913) {
    return { action: 'identify', minDelayMs: 0, meaning: 'internal gateway error, session reset' };
  }
  return { action: 'resume', minDelayMs: 0, meaning: 'unrecognised close code' };
}

/** What an operator should do about a config-error or fatal close, for the log line. */
export function closeHint(code: number): string {
  switch (code) {
    case 4013:
    case 4014:
      return 'check qq.intents: request only intents this bot is approved for (GROUP_AND_C2C_EVENT for group/C2C bots)';
    case 4010:
    case 4011:
      return 'check qq.shards: ids must be below total, or use shards: auto';
    case 4914:
      return 'the bot is not published; connect to the sandbox (qq.api_base: https://sandbox.api.sgroup.qq.com) or publish it';
    case 4915:
      return 'the bot is banned; appeal on the QQ bot console before reconnecting';
    default:
      return 'the bridge sent something the gateway rejected; please report it with the log line above';
  }
}
