import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/delivery/sign.js';
import { verifyWebhook } from '../../src/demo/verify.js';

// Standard Webhooks' own test vector (docs/design.md §3).
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = '1614265330';
const BODY = Buffer.from('{"test": 2432232314}');
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const AT = Number(TS) * 1000;

describe('verifyWebhook', () => {
  it('accepts the Standard Webhooks test vector', () => {
    expect(verifyWebhook([SECRET], { id: ID, timestamp: TS, signature: SIGNATURE }, BODY, AT)).toEqual({
      ok: true,
    });
  });

  it('accepts any one matching v1 signature among several, under any configured secret', () => {
    const signature = `v2,xyz v1,AAAA ${signWebhook(['other', SECRET], ID, Number(TS), BODY.toString())}`;
    expect(verifyWebhook(['nope', SECRET], { id: ID, timestamp: TS, signature }, BODY, AT).ok).toBe(true);
  });

  it.each([
    [
      'a changed body',
      { id: ID, timestamp: TS, signature: SIGNATURE },
      Buffer.from('{"test": 2432232315}'),
      AT,
    ],
    ['a changed id', { id: `${ID}x`, timestamp: TS, signature: SIGNATURE }, BODY, AT],
    ['a stale timestamp', { id: ID, timestamp: TS, signature: SIGNATURE }, BODY, AT + 301_000],
    ['a future timestamp', { id: ID, timestamp: TS, signature: SIGNATURE }, BODY, AT - 301_000],
    ['a missing signature', { id: ID, timestamp: TS, signature: undefined }, BODY, AT],
    ['a non-numeric timestamp', { id: ID, timestamp: '16x', signature: SIGNATURE }, BODY, AT],
  ])('refuses %s', (_what, headers, body, now) => {
    expect(verifyWebhook([SECRET], headers, body, now).ok).toBe(false);
  });
});
