import { randomBytes } from 'node:crypto';

/**
 * Within this much of a token's end of life a request gets a NEW token while the old one stays valid until its
 * own expiry (docs/qq-protocol.md §1.2: "接近过期时间 60 秒内 … 会获得一个新的 access_token").
 */
export const TOKEN_ROTATION_WINDOW_MS = 60_000;

/** What the token endpoint hands out: the token and its remaining lifetime in whole seconds. */
export interface IssuedToken {
  accessToken: string;
  expiresInSec: number;
}

/**
 * Issues access tokens the way `getAppAccessToken` does: repeat requests return the same token with a shrinking
 * lifetime, and only in the last 60 s is a new one minted. Every token ever issued stays valid until its own expiry,
 * so a client that refreshed early is never locked out. The clock is injected so tests can walk through the window.
 */
export class TokenIssuer {
  /** token → expiry (ms since epoch, per `now`) */
  readonly #expiryByToken = new Map<string, number>();
  #latest: string | undefined;

  constructor(
    private readonly ttlSec: number,
    private readonly now: () => number,
  ) {}

  /** The answer to one token request. */
  issue(): IssuedToken {
    const now = this.now();
    this.#prune(now);
    const latestExpiry = this.#latest === undefined ? undefined : this.#expiryByToken.get(this.#latest);
    if (
      this.#latest !== undefined &&
      latestExpiry !== undefined &&
      latestExpiry - now > TOKEN_ROTATION_WINDOW_MS
    ) {
      // Floor, not round: a client must never believe a token lives longer than it does.
      return { accessToken: this.#latest, expiresInSec: Math.floor((latestExpiry - now) / 1000) };
    }
    const accessToken = randomBytes(24).toString('base64url');
    this.#expiryByToken.set(accessToken, now + this.ttlSec * 1000);
    this.#latest = accessToken;
    return { accessToken, expiresInSec: Math.floor(this.ttlSec) };
  }

  /** Whether `token` was issued here and has not expired (or been revoked by `expireAll`). */
  isValid(token: string): boolean {
    const expiry = this.#expiryByToken.get(token);
    return expiry !== undefined && this.now() < expiry;
  }

  /** Revokes every token now, so the next Identify / Resume / REST call with an old one is refused. */
  expireAll(): void {
    this.#expiryByToken.clear();
    this.#latest = undefined;
  }

  #prune(now: number): void {
    for (const [token, expiry] of this.#expiryByToken) if (expiry <= now) this.#expiryByToken.delete(token);
  }
}

const AUTH_PREFIX = 'QQBot ';

/**
 * The access token in a `QQBot <token>` credential (Authorization header, Identify and Resume `token`), or
 * undefined for any other shape. The bare token that botgo sends in Resume is refused on purpose (docs/qq-protocol.md §3.7).
 */
export function tokenFromCredential(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.startsWith(AUTH_PREFIX)) return undefined;
  const token = value.slice(AUTH_PREFIX.length);
  return token.length > 0 ? token : undefined;
}
