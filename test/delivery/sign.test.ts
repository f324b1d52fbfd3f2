import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { decodeSecret, signWebhook } from '../../src/delivery/sign.js';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('signWebhook', () => {
  it("reproduces Standard Webhooks' own test vector (docs/design.md §3)", () => {
    expect(signWebhook([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('signs with every secret, space-separated, in configuration order (rotation)', () => {
    const header = signWebhook(['raw-old-secret', VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    const parts = header.split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(VECTOR.signature);
    expect(parts[0]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('keeps signing correctly with more distinct secrets than its decoded-key cache holds', () => {
    for (let i = 0; i < 300; i++)
      signWebhook([`rotating-secret-${i}`], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    // after the cache started over, a secret seen before is decoded again, and a new one still verifies
    expect(signWebhook([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    const content = `${VECTOR.id}.${VECTOR.timestamp}.${VECTOR.body}`;
    const expected = createHmac('sha256', 'rotating-secret-0').update(content).digest('base64');
    expect(signWebhook(['rotating-secret-0'], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(
      `v1,${expected}`,
    );
  });

  it('is verified by the standardwebhooks package for a whsec_ secret', () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ id: 'GROUP_ADD_ROBOT:1', text: '你好 🌏' });
    const headers = {
      'webhook-id': 'GROUP_ADD_ROBOT:1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook([VECTOR.secret], 'GROUP_ADD_ROBOT:1', ts, body),
    };
    expect(new Webhook(VECTOR.secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is verified by the standardwebhooks package for a raw (UTF-8) secret', () => {
    const secret = 'a plain shared password';
    const ts = Math.floor(Date.now() / 1000);
    const body = '{"ok":true}';
    const headers = {
      'webhook-id': 'evt-1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', secret], 'evt-1', ts, body),
    };
    const verifier = new Webhook(new Uint8Array(Buffer.from(secret, 'utf8')), { format: 'raw' });
    expect(verifier.verify(body, headers)).toEqual({ ok: true });
  });

  it('produces a signature the receiver rejects once the body is tampered with', () => {
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'evt-2',
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook([VECTOR.secret], 'evt-2', ts, '{"n":1}'),
    };
    expect(() => new Webhook(VECTOR.secret).verify('{"n":2}', headers)).toThrow(/signature/i);
  });
});

describe('decodeSecret', () => {
  it('base64-decodes a whsec_ secret', () => {
    expect(decodeSecret('whsec_aGVsbG8=')).toEqual(Buffer.from('hello'));
  });

  it('takes any other string as UTF-8 bytes', () => {
    expect(decodeSecret('héllo')).toEqual(Buffer.from('héllo', 'utf8'));
  });
});
