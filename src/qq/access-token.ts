import { request, type Dispatcher } from 'undici';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';

export interface AccessTokenOptions {
  tokenUrl: string;
  appId: string;
  clientSecret: string;
  logger: Logger;
  dispatcher?: Dispatcher;
  /** Injectable clock for tests. */
  now?: () => number;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

/** QQ's "too many requests" code: the platform asks for a 60 s pause (PROTOCOL.md D.1). */
export const TOKEN_RATE_LIMITED = 100001;

/**
 * Holds one access token for the bot and refreshes it before it expires.
 *
 * QQ returns the *remaining* lifetime in `expires_in` (as a string), and only issues a new token inside the last
 * 60 s of the old one, while the old one stays valid. Refreshing at `remaining − 50 s` therefore lands inside that
 * window; a client that refreshed at `remaining − 60 s` computed a zero delay once `expires_in` hit 60 and stopped
 * refreshing (PROTOCOL.md §9.5). Concurrent callers share one in-flight fetch.
 */
export class AccessTokenManager {
  private token: string | undefined;
  private expiresAtMs = 0;
  private inflight: Promise<string> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: AccessTokenOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A valid token, fetching one when none is held or the held one is about to expire. */
  async get(): Promise<string> {
    if (this.token && this.now() < this.expiresAtMs - 5_000) return this.token;
    return this.refresh();
  }

  /** Drops the held token (after a 401 or close 4004) and fetches a new one; concurrent callers share it. */
  async refresh(): Promise<string> {
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forget the held token so the next get() fetches; used when QQ says the token is invalid. */
  invalidate(): void {
    this.token = undefined;
    this.expiresAtMs = 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
  }

  private async fetchToken(): Promise<string> {
    const { tokenUrl, appId, clientSecret, logger } = this.options;
    let status: number;
    let payload: unknown;
    try {
      const response = await request(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ appId, clientSecret }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      });
      status = response.statusCode;
      const text = await response.body.text();
      payload = parseJson(text);
    } catch (err) {
      throw new BridgeError(
        'BRIDGE_ERR_QQ_TOKEN',
        `could not reach the token endpoint ${tokenUrl}: ${errorText(err)}`,
        {
          cause: err,
        },
      );
    }
    const body = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
    const token = body['access_token'];
    if (typeof token !== 'string' || token === '') {
      const code = typeof body['code'] === 'number' ? body['code'] : undefined;
      const message =
        typeof body['message'] === 'string' ? body['message'] : 'no access_token in the response';
      throw new TokenError(status, code, message, tokenUrl);
    }
    // expires_in is documented as a number but served as a string; Number() takes both.
    const expiresInSec = Number(body['expires_in']);
    const lifetimeSec = Number.isFinite(expiresInSec) && expiresInSec > 0 ? expiresInSec : 60;
    this.token = token;
    this.expiresAtMs = this.now() + lifetimeSec * 1000;
    this.scheduleRefresh(lifetimeSec);
    logger.debug({ expiresInSec: lifetimeSec }, 'access token obtained');
    return token;
  }

  private scheduleRefresh(lifetimeSec: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.stopped) return;
    const delayMs = Math.max(lifetimeSec - 50, 5) * 1000;
    this.refreshTimer = setTimeout(() => {
      this.refresh().catch((err: unknown) => {
        // The next get() retries; a failing background refresh must not crash the process.
        this.options.logger.warn({ err: errorText(err) }, 'background access token refresh failed');
        this.scheduleRefresh(10);
      });
    }, delayMs);
    this.refreshTimer.unref();
  }
}

/** The token endpoint answered without a token; carries QQ's own code and message. */
export class TokenError extends BridgeError {
  constructor(
    readonly status: number,
    readonly qqCode: number | undefined,
    readonly qqMessage: string,
    url: string,
  ) {
    super(
      'BRIDGE_ERR_QQ_TOKEN',
      `token endpoint ${url} refused: ${qqMessage}` +
        (qqCode === undefined ? ` (HTTP ${status})` : ` (code ${qqCode})`) +
        (qqCode === 100016 ? ' — check qq.app_id and qq.client_secret' : ''),
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
