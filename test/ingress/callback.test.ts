import { describe, expect, it } from 'vitest';
import { normalize } from '../../src/events/normalize.js';
import { checkSignature, parseCallback } from '../../src/ingress/callback.js';
import { callbackMessage, deriveCallbackKeys, signHex } from '../../src/ingress/ed25519.js';
import { SEED_FRAME } from './fixtures.js';

const parse = (value: unknown): ReturnType<typeof parseCallback> =>
  parseCallback(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

describe('parseCallback', () => {
  it('reads op 13 with event_ts as a string or a number', () => {
    expect(parse({ op: 13, d: { plain_token: 'Arq0D5A61EgUu4OxUvOp', event_ts: '1725442341' } })).toEqual({
      kind: 'validation',
      plainToken: 'Arq0D5A61EgUu4OxUvOp',
      eventTs: '1725442341',
    });
    expect(parse({ op: 13, d: { plain_token: 'abc', event_ts: 1725442341 } })).toMatchObject({
      eventTs: '1725442341',
    });
  });

  it.each([
    ['no d', { op: 13 }],
    ['a plain_token with JSON in it', { op: 13, d: { plain_token: '{"op":0}', event_ts: '1' } }],
    ['a plain_token with a space', { op: 13, d: { plain_token: 'a b', event_ts: '1' } }],
    ['an empty plain_token', { op: 13, d: { plain_token: '', event_ts: '1' } }],
    ['a fractional event_ts', { op: 13, d: { plain_token: 'abc', event_ts: 1.5 } }],
    ['a negative event_ts', { op: 13, d: { plain_token: 'abc', event_ts: '-1' } }],
  ])('refuses op 13 with %s', (_name, value) => {
    expect(parse(value)).toEqual({ kind: 'invalid', reason: 'invalid_validation' });
  });

  it('reads op 0 as a dispatch frame and never copies s', () => {
    expect(parse({ ...SEED_FRAME, s: 7 })).toEqual({
      kind: 'dispatch',
      frame: { op: 0, id: SEED_FRAME.id, t: SEED_FRAME.t, d: SEED_FRAME.d },
    });
  });

  it('keeps a dispatch without id or t, for the normalizer to hash and flag', () => {
    expect(parse({ op: 0, d: { a: 1 } })).toEqual({ kind: 'dispatch', frame: { op: 0, t: '', d: { a: 1 } } });
  });

  it.each([
    ['{', 'invalid_json'],
    ['"op"', 'invalid_json'],
    ['null', 'invalid_json'],
  ])('refuses %s as %s', (text, reason) => {
    expect(parse(text)).toEqual({ kind: 'invalid', reason });
  });

  it('tells heartbeats and unknown ops apart', () => {
    expect(parse({ op: 1, d: 3 })).toEqual({ kind: 'heartbeat', d: 3 });
    expect(parse({ op: 1 })).toEqual({ kind: 'heartbeat', d: null });
    expect(parse({ op: 'x' })).toEqual({ kind: 'other', op: 'x' });
  });
});

describe('a webhook frame through the normalizer', () => {
  it('has seq null and shard [0, 1], with nothing reported malformed', () => {
    const callback = parse(SEED_FRAME);
    if (callback.kind !== 'dispatch') throw new Error('expected a dispatch');
    const { envelope } = normalize(callback.frame, {
      appId: '102000000',
      shard: [0, 1],
      receivedAt: new Date(0),
    });
    expect(envelope).toMatchObject({ id: SEED_FRAME.id, type: 'group.bot.added', seq: null, shard: [0, 1] });
    expect(envelope).not.toHaveProperty('malformed');
  });
});

describe('checkSignature', () => {
  const keys = deriveCallbackKeys('simulator-secret');
  const body = Buffer.from(JSON.stringify(SEED_FRAME));
  const nowMs = 1_700_000_000_000;
  const headersAt = (timestamp: string): Record<string, string> => ({
    'x-signature-ed25519': signHex(keys.privateKey, callbackMessage(timestamp, body)),
    'x-signature-timestamp': timestamp,
  });
  const check = { publicKey: keys.publicKey, maxSkewMs: 300_000, nowMs };

  it.each([
    ['now', String(nowMs / 1000), undefined],
    ['exactly max_skew ago', String((nowMs - 300_000) / 1000), undefined],
    ['one second more', String((nowMs - 301_000) / 1000), 'stale'],
    ['a signed non-number', 'yesterday', 'stale'],
    ['a signed millisecond timestamp', String(nowMs), 'stale'],
  ])('judges a timestamp of %s', (_name, timestamp, expected) => {
    expect(checkSignature(headersAt(timestamp), body, check)).toBe(expected);
  });

  it('reports a missing header before anything else', () => {
    expect(checkSignature({ 'x-signature-timestamp': '1' }, body, check)).toBe('missing_signature');
    expect(checkSignature({ 'x-signature-ed25519': 'ab' }, body, check)).toBe('missing_signature');
  });
});
