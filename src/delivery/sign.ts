import { createHmac } from 'node:crypto';

const WHSEC_PREFIX = 'whsec_';

/**
 * The HMAC key of one configured secret. Standard Webhooks secrets (`whsec_<base64>`) carry the key base64-encoded;
 * any other string is taken as the key's UTF-8 bytes, so a plain shared password also works.
 */
export function decodeSecret(secret: string): Buffer {
  if (secret.startsWith(WHSEC_PREFIX)) return Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` per secret,
 * space-separated. Signing with every configured secret lets a receiver rotate keys without a window in which
 * valid deliveries fail verification.
 *
 * @param secrets - one or more secrets, in configuration order
 * @param id - the `webhook-id` header (the envelope id)
 * @param timestampSec - the `webhook-timestamp` header, unix seconds
 * @param body - the exact bytes sent, as a string
 */
export function signWebhook(
  secrets: readonly string[],
  id: string,
  timestampSec: number,
  body: string,
): string {
  const content = `${id}.${timestampSec}.${body}`;
  return secrets
    .map(
      (secret) => `v1,${createHmac('sha256', decodeSecret(secret)).update(content, 'utf8').digest('base64')}`,
    )
    .join(' ');
}
