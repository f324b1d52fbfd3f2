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

/** Decoded keys by secret: every delivery signs with the same few configured secrets. */
const decodedKeys = new Map<string, Buffer>();
/** More distinct secrets than any configuration holds; past it the cache starts over rather than growing. */
const DECODED_KEYS_MAX = 256;

function keyOf(secret: string): Buffer {
  let key = decodedKeys.get(secret);
  if (key === undefined) {
    if (decodedKeys.size >= DECODED_KEYS_MAX) decodedKeys.clear();
    key = decodeSecret(secret);
    decodedKeys.set(secret, key);
  }
  return key;
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
  const prefix = `${id}.${timestampSec}.`;
  let header = '';
  for (const secret of secrets) {
    // Fed in two parts, so the body (the bulk of the bytes) is never copied into a joined string.
    const mac = createHmac('sha256', keyOf(secret))
      .update(prefix, 'utf8')
      .update(body, 'utf8')
      .digest('base64');
    header = header === '' ? `v1,${mac}` : `${header} v1,${mac}`;
  }
  return header;
}
