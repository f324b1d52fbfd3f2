import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Builds a check of a presented secret against `secret`. Both sides are hashed with SHA-256 and the digests
 * compared with `timingSafeEqual`, so neither the secret's bytes nor its length leak through response timing
 * (comparing raw strings would return early at the first differing byte or on a length mismatch). An absent value
 * never matches, not even an empty secret.
 */
export function secretCheck(secret: string): (presented: string | undefined) => boolean {
  const expected = digest(secret);
  return (presented) => {
    // Hash even when nothing was presented, so that case takes the same time as a wrong secret.
    const same = timingSafeEqual(digest(presented ?? ''), expected);
    return same && presented !== undefined;
  };
}

/**
 * Builds a check of a presented secret against every secret of `secrets`, accepting any of them. The presented
 * value is hashed once and compared with the digest of each secret, all of them every time (no early exit), so the
 * response timing tells neither whether nor which one matched. An empty list matches nothing.
 */
export function secretListCheck(secrets: readonly string[]): (presented: string | undefined) => boolean {
  const expected = secrets.map(digest);
  return (presented) => {
    const actual = digest(presented ?? '');
    let matches = 0;
    for (const candidate of expected) matches |= timingSafeEqual(actual, candidate) ? 1 : 0;
    return matches === 1 && presented !== undefined;
  };
}

/** Builds a check of an `Authorization` header against `Bearer <token>`; see {@link secretCheck}. */
export function bearerCheck(token: string): (authorization: string | undefined) => boolean {
  return bearerOf(secretCheck(token));
}

/** Builds a check of an `Authorization` header against `Bearer <any of tokens>`; see {@link secretListCheck}. */
export function bearerListCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  return bearerOf(secretListCheck(tokens));
}

function bearerOf(
  check: (presented: string | undefined) => boolean,
): (authorization: string | undefined) => boolean {
  return (authorization) => check(authorization === undefined ? undefined : BEARER.exec(authorization)?.[1]);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
