import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeSecret } from '../delivery/sign.js';

/** How far `webhook-timestamp` may be from the receiver's clock (Standard Webhooks: 5 minutes). */
export const TOLERANCE_SEC = 5 * 60;

/** The three Standard Webhooks headers, as a receiver reads them. */
export interface WebhookHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/** Why a delivery was refused, or `ok`. */
export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Verifies a delivery the way a receiver must (README "Verifying a delivery"): the timestamp within
 * {@link TOLERANCE_SEC} of now, then any one `v1,` signature equal, in constant time, to HMAC-SHA256 of
 * `<id>.<timestamp>.<raw body>` under one of `secrets`. It computes the HMAC itself rather than calling the
 * bridge's signer, so the demo's receiver checks the bridge the way an independent one would.
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: WebhookHeaders,
  body: Buffer,
  nowMs = Date.now(),
): Verdict {
  const { id, timestamp, signature } = headers;
  if (id === undefined || timestamp === undefined || signature === undefined) {
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'invalid webhook-timestamp' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TOLERANCE_SEC) {
    return { ok: false, reason: 'webhook-timestamp too far from now' };
  }
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]);
  const expected = secrets.map((secret) =>
    createHmac('sha256', decodeSecret(secret)).update(signed).digest(),
  );
  for (const part of signature.split(' ')) {
    const [version, value] = part.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    const presented = Buffer.from(value, 'base64');
    if (expected.some((mac) => mac.length === presented.length && timingSafeEqual(mac, presented))) {
      return { ok: true };
    }
  }
  return { ok: false, reason: 'no matching signature' };
}
