import { describe, expect, it } from 'vitest';
import { bearerCheck, bearerListCheck, secretCheck, secretListCheck } from '../../src/server/bearer.js';

describe('bearerCheck', () => {
  const check = bearerCheck('s3cret-token');

  it.each<[string | undefined, boolean]>([
    ['Bearer s3cret-token', true],
    ['bearer s3cret-token', true],
    ['Bearer   s3cret-token  ', true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    ['Bearer ', false],
    ['Bearer s3cret-toke', false],
    ['Bearer s3cret-token-and-more', false],
    ['Bearer S3CRET-TOKEN', false],
    ['Basic s3cret-token', false],
    ['s3cret-token', false],
    ['Bearer s3cret-token extra', false],
  ])('%j → %s', (header, expected) => {
    expect(check(header)).toBe(expected);
  });

  it('never accepts a missing header, even for a token that hashes like the empty string would', () => {
    expect(bearerCheck('')(undefined)).toBe(false);
  });
});

describe('secretCheck', () => {
  it('matches exactly the secret, never an absent value', () => {
    const check = secretCheck('s3cret');
    expect(check('s3cret')).toBe(true);
    expect(check('s3cre')).toBe(false);
    expect(check('s3cret ')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(secretCheck('')(undefined)).toBe(false);
  });
});

describe('bearerListCheck', () => {
  const check = bearerListCheck(['first-token', 'second-token', 'third-token']);

  it.each<[string | undefined, boolean]>([
    ['Bearer first-token', true],
    ['Bearer second-token', true],
    ['Bearer third-token', true],
    ['Bearer fourth-token', false],
    ['Bearer first-token second-token', false],
    ['Bearer second-toke', false],
    [undefined, false],
    ['', false],
  ])('%j → %s', (header, expected) => {
    expect(check(header)).toBe(expected);
  });

  it('matches nothing when the list is empty, not even an absent or empty token', () => {
    const none = secretListCheck([]);
    expect(none(undefined)).toBe(false);
    expect(none('')).toBe(false);
    expect(bearerListCheck([])('Bearer x')).toBe(false);
  });

  it('never accepts an absent value, even when the list holds an empty secret', () => {
    expect(secretListCheck(['', 'x'])(undefined)).toBe(false);
  });
});
