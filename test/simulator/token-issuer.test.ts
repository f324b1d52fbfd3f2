import { describe, expect, it } from 'vitest';
import { TokenIssuer, tokenFromCredential } from '../../src/simulator/token-issuer.js';

function issuerAt(startMs: number, ttlSec = 7200): { issuer: TokenIssuer; advance: (ms: number) => void } {
  let now = startMs;
  return { issuer: new TokenIssuer(ttlSec, () => now), advance: (ms) => (now += ms) };
}

describe('TokenIssuer', () => {
  it('returns the same token with a shrinking lifetime until the last 60 s', () => {
    const { issuer, advance } = issuerAt(1_000_000);
    const first = issuer.issue();
    expect(first.expiresInSec).toBe(7200);
    advance(1500);
    expect(issuer.issue()).toEqual({ accessToken: first.accessToken, expiresInSec: 7198 });
    advance((7200 - 61) * 1000 - 1500);
    expect(issuer.issue()).toEqual({ accessToken: first.accessToken, expiresInSec: 61 });
  });

  it('mints a new token in the last 60 s and keeps the old one valid until its own expiry', () => {
    const { issuer, advance } = issuerAt(0);
    const old = issuer.issue().accessToken;
    advance((7200 - 60) * 1000);
    const rotated = issuer.issue();
    expect(rotated.accessToken).not.toBe(old);
    expect(rotated.expiresInSec).toBe(7200);
    expect(issuer.isValid(old)).toBe(true);
    expect(issuer.issue().accessToken).toBe(rotated.accessToken);
    advance(60_000);
    expect(issuer.isValid(old)).toBe(false);
    expect(issuer.isValid(rotated.accessToken)).toBe(true);
  });

  it('refuses tokens it never issued and every token after expireAll', () => {
    const { issuer } = issuerAt(0);
    const token = issuer.issue().accessToken;
    expect(issuer.isValid('made-up')).toBe(false);
    issuer.expireAll();
    expect(issuer.isValid(token)).toBe(false);
    expect(issuer.issue().accessToken).not.toBe(token);
  });
});

describe('tokenFromCredential', () => {
  it.each([
    ['QQBot abc', 'abc'],
    ['QQBot ', undefined],
    ['abc', undefined],
    ['Bot 102000000.abc', undefined],
    ['qqbot abc', undefined],
    [42, undefined],
  ])('reads %j as %j', (input, expected) => {
    expect(tokenFromCredential(input)).toBe(expected);
  });
});
