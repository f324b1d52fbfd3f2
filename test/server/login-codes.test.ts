import { describe, expect, it } from 'vitest';
import { createLoginCodes } from '../../src/server/login-codes.js';

describe('single-use login codes', () => {
  it('accepts each issued code once, then calls it spent; anything else is unknown', () => {
    const codes = createLoginCodes();
    const a = codes.issue();
    const b = codes.issue();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(codes.redeem(b)).toBe('accepted');
    expect(codes.redeem(b)).toBe('spent');
    expect(codes.redeem(a)).toBe('accepted');
    expect(codes.redeem(a)).toBe('spent');
    expect(codes.redeem('')).toBe('unknown');
    expect(codes.redeem(`${a}x`)).toBe('unknown');
    expect(createLoginCodes().redeem(a)).toBe('unknown');
  });
});
