import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Builds a check of an `Authorization` header against `Bearer <token>`. Both sides are hashed with SHA-256 and the
 * digests compared with `timingSafeEqual`, so neither the token's bytes nor its length leak through response
 * timing (comparing raw strings would return early at the first differing byte or on a length mismatch).
 */
export function bearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    // Hash even when the header is absent or malformed, so that case takes the same time as a wrong token.
    const same = timingSafeEqual(digest(presented ?? ''), expected);
    return same && presented !== undefined;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
