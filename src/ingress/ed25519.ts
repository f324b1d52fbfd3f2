/**
 * QQ's Ed25519 scheme for HTTP callbacks (docs/qq-protocol.md §6.3, Appendix A), on Node's `crypto` alone. The bot secret
 * is the only key material: QQ derives one keypair from it, signs every callback with the private key, and expects
 * the op-13 answer signed with the same key. So the bridge, holding the secret, can both verify and sign.
 *
 * @packageDocumentation
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** RFC 8032 seeds and public keys are 32 bytes; signatures are 64. */
const SEED_BYTES = 32;
const SIGNATURE_BYTES = 64;
const SIGNATURE_HEX = /^[0-9a-fA-F]{128}$/;

/**
 * The fixed DER header of a PKCS#8 Ed25519 private key (RFC 8410): SEQUENCE, version 0, the Ed25519 algorithm
 * identifier, then an OCTET STRING wrapping the 32-byte seed. Node imports a seed only through such a container.
 */
export const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The keypair QQ derives from a bot secret. */
export interface CallbackKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/**
 * The 32-byte seed: the secret's UTF-8 bytes repeated until there are at least 32, then cut to 32. A loop rather
 * than one padding step, because a secret under 16 bytes needs more than two copies (satori's one-step padding
 * gets those wrong, docs/qq-protocol.md §6.3). Throws a TypeError on an empty secret, which has no seed.
 */
export function seedFromSecret(secret: string): Buffer {
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length === 0) throw new TypeError('the bot secret is empty: no Ed25519 seed can be derived');
  const copies = Math.ceil(SEED_BYTES / bytes.length);
  return Buffer.concat(Array.from({ length: copies }, () => bytes)).subarray(0, SEED_BYTES);
}

/** The Ed25519 keypair of a bot secret (docs/qq-protocol.md §6.3 steps 1–2). Derive once and reuse: it costs a key import. */
export function deriveCallbackKeys(secret: string): CallbackKeys {
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seedFromSecret(secret)]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** The raw 32-byte public key: the tail of its SPKI DER form. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(-SEED_BYTES);
}

/** Signs `message` and returns the 64-byte signature as lowercase hex, the form QQ sends and expects. */
export function signHex(privateKey: KeyObject, message: string | Buffer): string {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return sign(null, bytes, privateKey).toString('hex');
}

/**
 * True when `signatureHex` is a valid signature of `message` under `publicKey`. Anything that is not 128 hex digits
 * is false without calling into crypto, and so is a signature whose last byte has any of its top three bits set
 * (`sig[63] & 224`), the canonical-S precheck QQ's docs and botgo apply (docs/qq-protocol.md §6.3 step 5).
 */
export function verifyHex(publicKey: KeyObject, message: Buffer, signatureHex: string): boolean {
  if (!SIGNATURE_HEX.test(signatureHex)) return false;
  const signature = Buffer.from(signatureHex, 'hex');
  if (signature.length !== SIGNATURE_BYTES || ((signature[SIGNATURE_BYTES - 1] ?? 0) & 0xe0) !== 0)
    return false;
  return verify(null, message, publicKey, signature);
}

/**
 * What a callback's `X-Signature-Ed25519` signs: the `X-Signature-Timestamp` value as sent, then the raw body
 * bytes, with no separator. The raw bytes, never re-serialized JSON: any whitespace change breaks the signature.
 */
export function callbackMessage(timestamp: string, rawBody: Buffer): Buffer {
  return Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]);
}

/** What the op-13 answer's `signature` signs: `event_ts` then `plain_token` (docs/qq-protocol.md §6.2). */
export function validationMessage(eventTs: string, plainToken: string): Buffer {
  return Buffer.from(eventTs + plainToken, 'utf8');
}
