import { describe, expect, it } from 'vitest';
import {
  ED25519_PKCS8_PREFIX,
  callbackMessage,
  deriveCallbackKeys,
  rawPublicKey,
  seedFromSecret,
  signHex,
  validationMessage,
  verifyHex,
} from '../../src/ingress/ed25519.js';

// docs/qq-protocol.md Appendix A, the two vectors marked ✅. The third (❌, `865ad13a…`) is not reproducible from the
// body as the docs print it and is deliberately not used.
const DOC_SIGN_SECRET = 'naOC0ocQE3shWLAfffVLB1rhYPG7';
const DOC_SIGN_PUBLIC_KEY = [
  215, 195, 98, 254, 120, 174, 248, 31, 242, 50, 135, 180, 147, 98, 139, 93, 176, 42, 60, 79, 227, 11, 33, 94,
  77, 25, 96, 155, 93, 118, 103, 58,
];
const OP13_SECRET = 'DG5g3B4j9X2KOErG';
const OP13_EVENT_TS = '1725442341';
const OP13_PLAIN_TOKEN = 'Arq0D5A61EgUu4OxUvOp';
const OP13_SIGNATURE =
  '87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706';

describe('Appendix A vectors', () => {
  it('derives the seed naOC0ocQE3shWLAfffVLB1rhYPG7naOC and the documented public key from a 28-char secret', () => {
    expect(seedFromSecret(DOC_SIGN_SECRET).toString('utf8')).toBe('naOC0ocQE3shWLAfffVLB1rhYPG7naOC');
    expect([...rawPublicKey(deriveCallbackKeys(DOC_SIGN_SECRET).publicKey)]).toEqual(DOC_SIGN_PUBLIC_KEY);
  });

  it('signs event_ts + plain_token of the official op-13 example to the documented signature', () => {
    const keys = deriveCallbackKeys(OP13_SECRET);
    expect(signHex(keys.privateKey, validationMessage(OP13_EVENT_TS, OP13_PLAIN_TOKEN))).toBe(OP13_SIGNATURE);
    expect(
      verifyHex(keys.publicKey, validationMessage(OP13_EVENT_TS, OP13_PLAIN_TOKEN), OP13_SIGNATURE),
    ).toBe(true);
  });
});

describe('seedFromSecret', () => {
  it.each([
    ['a 16-char secret: exactly two copies', OP13_SECRET, `${OP13_SECRET}${OP13_SECRET}`],
    ['a 5-char secret: seven copies, cut', 'abcde', 'abcdeabcdeabcdeabcdeabcdeabcdeab'],
    ['a 1-char secret', 'x', 'x'.repeat(32)],
    ['a 40-char secret: cut to 32', 'a'.repeat(20) + 'b'.repeat(20), 'a'.repeat(20) + 'b'.repeat(12)],
  ])('repeats %s', (_name, secret, seed) => {
    expect(seedFromSecret(secret)).toEqual(Buffer.from(seed, 'utf8'));
  });

  it('counts UTF-8 bytes, as Go slices a string', () => {
    // 3 bytes per character: 11 characters are 33 bytes, so the seed ends inside the 11th character.
    expect(seedFromSecret('密'.repeat(11))).toEqual(Buffer.from('密'.repeat(11), 'utf8').subarray(0, 32));
  });

  it('refuses an empty secret', () => {
    expect(() => seedFromSecret('')).toThrow(TypeError);
  });

  it('wraps the seed in the PKCS#8 prefix of docs/qq-protocol.md Appendix A', () => {
    expect(ED25519_PKCS8_PREFIX.toString('hex')).toBe('302e020100300506032b657004220420');
  });
});

describe('verifyHex', () => {
  const keys = deriveCallbackKeys(OP13_SECRET);
  const message = callbackMessage('1725442341', Buffer.from('{"op":0,"d":{},"t":"GATEWAY_EVENT_NAME"}'));
  const good = signHex(keys.privateKey, message);

  it('accepts the signature of timestamp + raw body, in either hex case', () => {
    expect(verifyHex(keys.publicKey, message, good)).toBe(true);
    expect(verifyHex(keys.publicKey, message, good.toUpperCase())).toBe(true);
  });

  it('refuses a changed body, a changed timestamp and another bot key', () => {
    const other = deriveCallbackKeys(DOC_SIGN_SECRET);
    expect(
      verifyHex(keys.publicKey, callbackMessage('1725442341', Buffer.from('{"op":0, "d":{}}')), good),
    ).toBe(false);
    expect(
      verifyHex(
        keys.publicKey,
        callbackMessage('1725442342', Buffer.from('{"op":0,"d":{},"t":"GATEWAY_EVENT_NAME"}')),
        good,
      ),
    ).toBe(false);
    expect(verifyHex(other.publicKey, message, good)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['too short', 'ab'.repeat(63)],
    ['too long', 'ab'.repeat(65)],
    ['not hex', 'zz'.repeat(64)],
    ['a last byte with its top bits set', `${'00'.repeat(63)}e0`],
  ])('refuses a signature that is %s without verifying', (_name, signature) => {
    expect(verifyHex(keys.publicKey, message, signature)).toBe(false);
  });
});
