import { KNOWN_INTENT_BITS } from '../qq/intents.js';
import { CLOSE } from './frames.js';
import { isNonNegativeInteger, isRecord } from './json.js';
import type { Session } from './session-log.js';
import { tokenFromCredential } from './token-issuer.js';

/** Largest intents mask: bit 30 is the highest the platform defines, and anything above is not an int32 mask. */
const MAX_INTENTS = 0x7fff_ffff;

/** What the gateway checks a handshake against. */
export interface HandshakeContext {
  isTokenValid(token: string): boolean;
  grantedIntents: number;
  findSession(sessionId: string): Session | undefined;
}

/** A refused handshake: close with `code`, after an op 9 `{d:false}` when `invalidSessionFirst`. */
export interface HandshakeRefusal {
  ok: false;
  code: number;
  reason: string;
  invalidSessionFirst: boolean;
  /** A session the refusal ends: a Resume with a bad seq cannot be retried (4007 means identify, docs/qq-protocol.md §3.10). */
  discards?: Session;
}

export type IdentifyCheck = { ok: true; intents: number; shard: [number, number] } | HandshakeRefusal;

/**
 * Validates an Identify `d` in the order the gateway would notice problems: payload shape (4002), token (4004),
 * intents (op 9 then 4013 for bits that do not exist, 4014 for bits not granted), shard (4010). A missing `shard`
 * means `[0, 1]`, as the docs say for unsharded bots (docs/qq-protocol.md §3.4).
 */
export function checkIdentify(d: unknown, ctx: HandshakeContext): IdentifyCheck {
  if (!isRecord(d)) return refuse(CLOSE.INVALID_PAYLOAD, 'invalid payload: identify d must be an object');
  const token = tokenFromCredential(d.token);
  if (token === undefined || !ctx.isTokenValid(token))
    return refuse(CLOSE.AUTH_FAILED, 'authentication failed');

  const intents = d.intents;
  if (!isNonNegativeInteger(intents) || intents > MAX_INTENTS || (intents & ~KNOWN_INTENT_BITS) !== 0) {
    return refuse(CLOSE.INVALID_INTENTS, 'invalid intent', true);
  }
  if ((intents & ~ctx.grantedIntents) !== 0)
    return refuse(CLOSE.DISALLOWED_INTENTS, 'intent not permitted', true);

  const shard = d.shard === undefined ? [0, 1] : d.shard;
  if (!isShard(shard)) return refuse(CLOSE.INVALID_SHARD, 'invalid shard');
  return { ok: true, intents, shard };
}

export type ResumeCheck =
  | { ok: true; session: Session; seq: number }
  | HandshakeRefusal
  /** unknown or discarded session: op 9 `{d:false}` and the socket stays open, the client decides what next */
  | { ok: 'invalid_session' };

/**
 * Validates a Resume `d`: payload shape (4002), token (4004), session (op 9 `{d:false}`, no close), then seq
 * (4007 when it is not an integer ≥ 0 or is beyond the session's latest `s`; the session is discarded). A 4004
 * leaves the session alone: the client is expected to refresh its token and resume (docs/qq-protocol.md D.4).
 */
export function checkResume(d: unknown, ctx: HandshakeContext): ResumeCheck {
  if (!isRecord(d)) return refuse(CLOSE.INVALID_PAYLOAD, 'invalid payload: resume d must be an object');
  const token = tokenFromCredential(d.token);
  if (token === undefined || !ctx.isTokenValid(token))
    return refuse(CLOSE.AUTH_FAILED, 'authentication failed');
  const session = typeof d.session_id === 'string' ? ctx.findSession(d.session_id) : undefined;
  if (!session) return { ok: 'invalid_session' };
  if (!isNonNegativeInteger(d.seq) || d.seq > session.seq) {
    return { ...refuse(CLOSE.INVALID_SEQ, 'invalid seq'), discards: session };
  }
  return { ok: true, session, seq: d.seq };
}

function isShard(value: unknown): value is [number, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    isNonNegativeInteger(value[0]) &&
    isNonNegativeInteger(value[1]) &&
    value[0] < value[1]
  );
}

function refuse(code: number, reason: string, invalidSessionFirst = false): HandshakeRefusal {
  return { ok: false, code, reason, invalidSessionFirst };
}

/** The shard id an Identify asks for (a missing `shard` is [0, 1]), or null when its `d` is not well formed. */
export function identifiedShard(d: unknown): number | null {
  if (!isRecord(d)) return null;
  if (d.shard === undefined) return 0;
  const first: unknown = Array.isArray(d.shard) ? d.shard[0] : undefined;
  return typeof first === 'number' && Number.isSafeInteger(first) && first >= 0 ? first : null;
}
