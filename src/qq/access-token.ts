import { request, type Dispatcher } from 'undici';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from '../util/abortable.js';

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
  /**
   * How long no token request is sent after the endpoint answered {@link TOKEN_RATE_LIMITED}; default 60 s, the
   * pause QQ asks for (its answer carries no duration of its own).
   */
  rateLimitPauseMs?: number;
}

/** QQ's "too many requests" code: the platform asks for a 60 s pause (docs/qq-protocol.md D.1). */
export const TOKEN_RATE_LIMITED = 100001;
/** The pause after {@link TOKEN_RATE_LIMITED} (docs/qq-protocol.md D.5). */
const TOKEN_RATE_LIMIT_PAUSE_MS = 60_000;

/**
 * Token endpoint codes that no retry can fix (docs/qq-protocol.md §1.2): invalid app id or secret (100016), app id
 * invalid or bot banned or deleted (100007), bot does not exist (10004). The operator has to change the config or
 * the bot in the QQ console.
 */
const PERMANENT_TOKEN_CODES: ReadonlySet<number> = new Set([100016, 100007, 10004]);

/**
 * Holds one access token for the bot and refreshes it before it expires.
 *
 * QQ returns the *remaining* lifetime in `expires_in` (as a string), and only issues a new token inside the last
 * 60 s of the old one, while the old one stays valid. Refreshing at `remaining − 50 s` therefore lands inside that
 * window; a client that refreshed at `remaining − 60 s` computed a zero delay once `expires_in` hit 60 and stopped
 * refreshing (docs/qq-protocol.md §9 item 5). Concurrent callers share one in-flight fetch.
 *
 * When the endpoint answers {@link TOKEN_RATE_LIMITED}, no token request is sent for the pause (60 s): callers get
 * the held token while it has not expired, and otherwise wait for the pause to end (stop() ends the wait). The
 * background refresh then runs at the end of the pause instead of every 10 s.
 */
export class AccessTokenManager {
  private token: string | undefined;
  private expiresAtMs = 0;
  private inflight: Promise<string> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Set by stop(): ends a wait for the end of a rate-limit pause. */
  private readonly stopping = new AbortController();
  /** No token request before this time (per `now`): QQ answered TOKEN_RATE_LIMITED. */
  private pausedUntilMs = 0;
  private readonly now: () => number;
  private readonly rateLimitPauseMs: number;

  constructor(private readonly options: AccessTokenOptions) {
    this.now = options.now ?? Date.now;
    this.rateLimitPauseMs = options.rateLimitPauseMs ?? TOKEN_RATE_LIMIT_PAUSE_MS;
  }

  /** A valid token, fetching one when none is held or the held one is about to expire. */
  async get(): Promise<string> {
    if (this.token && this.now() < this.expiresAtMs - 5_000) return this.token;
    return this.refresh();
  }

  /**
   * Asks the endpoint for a token now (close 4004, an identify); concurrent callers share one request. During a
   * rate-limit pause it sends none: it returns the held token while that has not expired, else waits for the pause.
   */
  async refresh(): Promise<string> {
    this.inflight ??= this.fetchOutsidePauses().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forget the held token so the next get() fetches; used when QQ says the token is invalid. */
  invalidate(): void {
    this.token = undefined;
    this.expiresAtMs = 0;
  }

  /** Ends the background refresh and any wait for a rate-limit pause (those callers get BRIDGE_ERR_ABORTED). */
  stop(): void {
    this.stopped = true;
    this.stopping.abort();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
  }

  private async fetchOutsidePauses(): Promise<string> {
    for (;;) {
      if (this.now() < this.pausedUntilMs) {
        if (this.token && this.now() < this.expiresAtMs) return this.token;
        await this.waitForPauseEnd();
        continue;
      }
      try {
        return await this.fetchToken();
      } catch (err) {
        if (!(err instanceof TokenError && err.rateLimited)) throw err;
        this.pause();
      }
    }
  }

  private pause(): void {
    this.pausedUntilMs = this.now() + this.rateLimitPauseMs;
    const holdsValidToken = this.token !== undefined && this.now() < this.expiresAtMs;
    this.options.logger.warn(
      { code: TOKEN_RATE_LIMITED, pauseMs: this.rateLimitPauseMs, holdsValidToken },
      holdsValidToken
        ? 'token endpoint rate limited: no token request during the pause; the current token stays in use'
        : 'token endpoint rate limited and no valid token held: waiting out the pause; if this repeats, check ' +
            'whether other processes fetch tokens for the same qq.app_id',
    );
    this.scheduleRefreshIn(this.rateLimitPauseMs);
  }

  private async waitForPauseEnd(): Promise<void> {
    await sleep(this.pausedUntilMs - this.now(), this.stopping.signal);
    if (this.stopping.signal.aborted) {
      throw new BridgeError(
        'BRIDGE_ERR_ABORTED',
        'access token fetch abandoned: stopped during the token endpoint rate-limit pause',
      );
    }
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
    this.scheduleRefreshIn(Math.max(lifetimeSec - 50, 5) * 1000);
    logger.debug({ expiresInSec: lifetimeSec }, 'access token obtained');
    return token;
  }

  private scheduleRefreshIn(delayMs: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      this.refresh().catch((err: unknown) => {
        // The next get() retries; a failing background refresh must not crash the process.
        this.options.logger.warn({ err: errorText(err) }, 'background access token refresh failed');
        this.scheduleRefreshIn(10_000);
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

  /** QQ asks for a pause before the next token request. */
  get rateLimited(): boolean {
    return this.qqCode === TOKEN_RATE_LIMITED;
  }

  /** No retry can succeed: the credentials or the bot itself are refused. */
  get permanent(): boolean {
    return this.qqCode !== undefined && PERMANENT_TOKEN_CODES.has(this.qqCode);
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
