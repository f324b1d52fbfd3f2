import { request, type Dispatcher } from 'undici';
import { BridgeError } from '../errors.js';
import type { AccessTokenManager } from './access-token.js';

export interface GatewayBotInfo {
  url: string;
  shards: number;
  sessionStartLimit: { total: number; remaining: number; resetAfterMs: number; maxConcurrency: number };
}

/** Token error codes after which one refetch + retry is worth it (docs/qq-protocol.md §1.3). */
const TOKEN_INVALID_CODES = new Set([11241, 11242, 11243, 11244]);

/**
 * The slice of QQ's REST API the bridge needs: gateway discovery. Every call carries
 * `Authorization: QQBot <token>` and `X-Union-Appid`; a 401 or a token error code refreshes the token once.
 */
export class QqOpenApi {
  constructor(
    private readonly options: {
      apiBase: string;
      appId: string;
      tokens: AccessTokenManager;
      dispatcher?: Dispatcher;
      timeoutMs?: number;
    },
  ) {}

  async gatewayBot(): Promise<GatewayBotInfo> {
    const body = await this.get('/gateway/bot');
    const url = body['url'];
    if (typeof url !== 'string' || url === '') {
      throw new BridgeError('BRIDGE_ERR_QQ_API', 'GET /gateway/bot returned no url');
    }
    const limit = (body['session_start_limit'] ?? {}) as Record<string, unknown>;
    return {
      url,
      shards: positiveInt(body['shards'], 1),
      sessionStartLimit: {
        total: positiveInt(limit['total'], 1000),
        remaining: nonNegativeInt(limit['remaining'], 1000),
        resetAfterMs: nonNegativeInt(limit['reset_after'], 0),
        maxConcurrency: positiveInt(limit['max_concurrency'], 1),
      },
    };
  }

  async gateway(): Promise<string> {
    const body = await this.get('/gateway');
    const url = body['url'];
    if (typeof url !== 'string' || url === '')
      throw new BridgeError('BRIDGE_ERR_QQ_API', 'GET /gateway returned no url');
    return url;
  }

  private async get(path: string, retried = false): Promise<Record<string, unknown>> {
    const token = await this.options.tokens.get();
    const url = `${this.options.apiBase.replace(/\/+$/, '')}${path}`;
    let status: number;
    let text: string;
    let trace: string | undefined;
    try {
      const response = await request(url, {
        method: 'GET',
        headers: { authorization: `QQBot ${token}`, 'x-union-appid': this.options.appId },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      });
      status = response.statusCode;
      const traceHeader = response.headers['x-tps-trace-id'];
      trace = typeof traceHeader === 'string' ? traceHeader : undefined;
      text = await response.body.text();
    } catch (err) {
      throw new BridgeError(
        'BRIDGE_ERR_QQ_API',
        `GET ${path} failed: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      // handled below: a non-JSON answer is an API error
    }
    const code = typeof body['code'] === 'number' ? body['code'] : undefined;
    if ((status === 401 || (code !== undefined && TOKEN_INVALID_CODES.has(code))) && !retried) {
      this.options.tokens.invalidate();
      await this.options.tokens.refresh();
      return this.get(path, true);
    }
    // QQ reports failures with HTTP 200 and a `code` too: check the body, not only the status.
    if (status >= 400 || (code !== undefined && code !== 0)) {
      const message = typeof body['message'] === 'string' ? body['message'] : text.slice(0, 200);
      throw new BridgeError(
        'BRIDGE_ERR_QQ_API',
        `GET ${path} → HTTP ${status}${code === undefined ? '' : ` code ${code}`}: ${message}${trace ? ` (trace ${trace})` : ''}`,
      );
    }
    return body;
  }
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function nonNegativeInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}
