import { describe, expect, it } from 'vitest';
import {
  adminSession,
  cookieValue,
  SESSION_COOKIE,
  SESSION_TTL_SEC,
} from '../../src/server/admin-session.js';

const TOKEN = 'the-admin-token-0123456789';
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('adminSession', () => {
  const session = adminSession(TOKEN);

  it('accepts a cookie it minted until it expires, and not after', () => {
    const value = session.mint(NOW);
    const header = `${SESSION_COOKIE}=${value}`;
    expect(session.accepts(header, NOW)).toBe(true);
    expect(session.accepts(header, NOW + (SESSION_TTL_SEC - 1) * 1000)).toBe(true);
    expect(session.accepts(header, NOW + SESSION_TTL_SEC * 1000)).toBe(false);
  });

  it('never puts the token itself in the cookie', () => {
    const value = session.mint(NOW);
    expect(value).not.toContain(TOKEN);
    expect(Buffer.from(value.split('.')[2]!, 'base64url').toString('utf8')).not.toContain(TOKEN);
  });

  it('refuses cookies minted with another token, tampered, extended or malformed', () => {
    const value = session.mint(NOW);
    const [, expiry, mac] = value.split('.');
    const flipped = `${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [
      adminSession(`${TOKEN}x`).mint(NOW),
      `v1.${expiry}.${flipped}`,
      `v1.${Number(expiry) + 3600}.${mac}`,
      `v2.${expiry}.${mac}`,
      `v1.${expiry}`,
      '',
      TOKEN,
    ]) {
      expect(session.accepts(`${SESSION_COOKIE}=${bad}`, NOW), bad).toBe(false);
    }
    expect(session.accepts(undefined, NOW)).toBe(false);
  });

  it('refuses a cookie whose expiry lies further ahead than a login lasts', () => {
    const later = session.mint(NOW + 48 * 3600_000);
    expect(session.accepts(`${SESSION_COOKIE}=${later}`, NOW)).toBe(false);
  });

  it('finds its cookie among others', () => {
    const value = session.mint(NOW);
    expect(session.accepts(`a=1; ${SESSION_COOKIE}=${value}; b=2`, NOW)).toBe(true);
  });
});

describe('cookieValue', () => {
  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['x=1', '1'],
    ['a=1;x=2', '2'],
    [' x = 3 ; x=4', '3'],
    ['xx=1; y=x', undefined],
    ['x=', ''],
    ['x=a=b', 'a=b'],
  ])('%j → %j', (header, expected) => {
    expect(cookieValue(header, 'x')).toBe(expected);
  });
});
