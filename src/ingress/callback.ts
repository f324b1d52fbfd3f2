/**
 * Reading QQ's HTTP callbacks (docs/qq-protocol.md §6): what a body asks for, and whether its signature headers hold.
 * Pure: no I/O; the clock comes in as an argument.
 *
 * @packageDocumentation
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isRecord } from '../events/check.js';
import type { DispatchFrame } from '../events/envelope.js';
import { callbackMessage, verifyHex } from './ed25519.js';

/** Why a callback was not taken; the label values of `qqwb_webhook_rejected_total`. */
export const WEBHOOK_REJECT_REASONS = [
  'missing_signature',
  'bad_signature',
  'stale',
  'wrong_app',
  'too_large',
  'invalid_json',
  'invalid_validation',
  'not_accepted',
] as const;
/** One of {@link WEBHOOK_REJECT_REASONS}. */
export type WebhookRejectReason = (typeof WEBHOOK_REJECT_REASONS)[number];

/** What a callback body asks for. */
export type Callback =
  | { readonly kind: 'validation'; readonly plainToken: string; readonly eventTs: string }
  | { readonly kind: 'dispatch'; readonly frame: DispatchFrame }
  | { readonly kind: 'heartbeat'; readonly d: unknown }
  | { readonly kind: 'other'; readonly op: unknown }
  | { readonly kind: 'invalid'; readonly reason: 'invalid_json' | 'invalid_validation' };

/**
 * The op-13 fields the bridge agrees to sign. QQ's token is alphanumeric in every example, and `event_ts` is unix
 * seconds; the limits matter because op 13 is unauthenticated and is answered with a signature made by the same
 * key that signs callbacks. Without them anyone could send `plain_token: '{"op":0,…}'` and receive a valid
 * signature over `event_ts + body`: a forged callback. Neither field may hold `{`, so no signed answer can ever be
 * replayed as a JSON object body.
 */
const PLAIN_TOKEN = /^[A-Za-z0-9._~+/=-]{1,256}$/;
const EVENT_TS = /^\d{1,20}$/;

/** Reads a callback body. Anything not JSON, or a JSON value that is not an object, is `invalid_json`. */
export function parseCallback(body: Buffer): Callback {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'invalid', reason: 'invalid_json' };
  }
  if (!isRecord(value)) return { kind: 'invalid', reason: 'invalid_json' };
  switch (value.op) {
    case 13:
      return readValidation(value.d);
    case 0:
      return { kind: 'dispatch', frame: dispatchFrameOf(value) };
    case 1:
      return { kind: 'heartbeat', d: value.d ?? null };
    default:
      return { kind: 'other', op: value.op };
  }
}

function readValidation(d: unknown): Callback {
  if (!isRecord(d)) return { kind: 'invalid', reason: 'invalid_validation' };
  const { plain_token: plainToken } = d;
  // The docs and botgo send event_ts as a string, satori types it as a number (docs/qq-protocol.md §6.2): take both.
  const eventTs = typeof d.event_ts === 'number' ? String(d.event_ts) : d.event_ts;
  if (typeof plainToken !== 'string' || !PLAIN_TOKEN.test(plainToken)) {
    return { kind: 'invalid', reason: 'invalid_validation' };
  }
  if (typeof eventTs !== 'string' || !EVENT_TS.test(eventTs)) {
    return { kind: 'invalid', reason: 'invalid_validation' };
  }
  return { kind: 'validation', plainToken, eventTs };
}

/**
 * The dispatch as the normalizer takes it. Webhook frames carry no `s` (docs/qq-protocol.md §5.0), and none is copied:
 * the envelope's `seq` is null in webhook mode whatever the body says. A `t` that is not a string becomes `''`,
 * which the normalizer reports as an unknown event rather than dropping it.
 */
function dispatchFrameOf(value: Readonly<Record<string, unknown>>): DispatchFrame {
  const frame: DispatchFrame = { op: 0, t: typeof value.t === 'string' ? value.t : '', d: value.d };
  if (typeof value.id === 'string') frame.id = value.id;
  return frame;
}

/** What a callback's signature headers are checked against. */
export interface SignatureCheck {
  /** The bot's public key, derived from its secret. */
  readonly publicKey: KeyObject;
  /** Largest accepted distance between the signed timestamp and `nowMs`. */
  readonly maxSkewMs: number;
  /** The local clock, ms since the epoch. */
  readonly nowMs: number;
}

/**
 * Checks `X-Signature-Ed25519` over `X-Signature-Timestamp` + the raw body, then the timestamp's distance from
 * now. Returns undefined when the callback is authentic and fresh, else the reason to refuse it. The signature
 * is checked first so that `stale` is only ever reported for callbacks QQ really signed.
 */
export function checkSignature(
  headers: IncomingHttpHeaders,
  body: Buffer,
  check: SignatureCheck,
): WebhookRejectReason | undefined {
  const signature = headers['x-signature-ed25519'];
  const timestamp = headers['x-signature-timestamp'];
  if (
    typeof signature !== 'string' ||
    typeof timestamp !== 'string' ||
    signature === '' ||
    timestamp === ''
  ) {
    return 'missing_signature';
  }
  if (!verifyHex(check.publicKey, callbackMessage(timestamp, body), signature)) return 'bad_signature';
  const signedAtMs = /^\d{1,15}$/.test(timestamp) ? Number(timestamp) * 1000 : Number.NaN;
  if (!(Math.abs(check.nowMs - signedAtMs) <= check.maxSkewMs)) return 'stale';
  return undefined;
}
