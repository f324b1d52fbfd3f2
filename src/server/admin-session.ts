import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the cookie a browser gets from `POST /admin/login`. */
export const SESSION_COOKIE = 'qqwb_admin';
/** How long a login lasts, in seconds (12 h): long enough for a shift, short enough that a lost laptop expires. */
export const SESSION_TTL_SEC = 12 * 3600;

const VERSION = 'v1';
const VALUE = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/** Mints and checks the admin session cookie. See {@link adminSession}. */
export interface AdminSession {
  /** A fresh cookie value valid for {@link SESSION_TTL_SEC} from `nowMs`. */
  mint(nowMs?: number): string;
  /** True when the `Cookie` header carries an unexpired value minted with this token. */
  accepts(cookieHeader: string | undefined, nowMs?: number): boolean;
}

/**
 * Browser sessions for the admin routes, which browsers cannot reach with an `Authorization` header. The cookie is
 * `v1.<expiry>.<HMAC-SHA256(token, "qqwb-admin-session.v1.<expiry>")>`: it proves the holder once presented the
 * token without containing it, so a leaked cookie (a proxy log, a screenshot of dev tools) gives access until it
 * expires but never reveals the token, and changing the token invalidates every cookie at once. No server state
 * is kept, so any number of bridge processes behind one address accept each other's cookies.
 */
export function adminSession(token: string): AdminSession {
  const sign = (expirySec: number): Buffer =>
    createHmac('sha256', token).update(`qqwb-admin-session.${VERSION}.${expirySec}`, 'utf8').digest();

  return {
    mint(nowMs = Date.now()) {
      const expirySec = Math.floor(nowMs / 1000) + SESSION_TTL_SEC;
      return `${VERSION}.${expirySec}.${sign(expirySec).toString('base64url')}`;
    },
    accepts(cookieHeader, nowMs = Date.now()) {
      const match = VALUE.exec(cookieValue(cookieHeader, SESSION_COOKIE) ?? '');
      if (!match) return false;
      const expirySec = Number(match[1]);
      const presented = Buffer.from(match[2] ?? '', 'base64url');
      const expected = sign(expirySec);
      // Checked after the HMAC is computed, so an expired cookie costs the same as a forged one.
      const fresh = expirySec * 1000 > nowMs && expirySec * 1000 <= nowMs + SESSION_TTL_SEC * 1000;
      return presented.length === expected.length && timingSafeEqual(presented, expected) && fresh;
    },
  };
}

/** The value of cookie `name` in a `Cookie` header, or undefined. The first occurrence wins, as in browsers. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
