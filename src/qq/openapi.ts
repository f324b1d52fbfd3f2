import type { Dispatcher } from 'undici';
import { BridgeError } from '../errors.js';
import { TokenError, type AccessTokenManager } from './access-token.js';
import {
  parseJsonText,
  qqErrorBody,
  QqRestClient,
  QqUnreachableError,
  traceIdOf,
  type QqResponse,
} from './rest-client.js';

export interface GatewayBotInfo {
  url: string;
  shards: number;
  sessionStartLimit: { total: number; remaining: number; resetAfterMs: number; maxConcurrency: number };
}

/**
 * The slice of QQ's REST API the bridge needs: gateway discovery. Every call carries
 * `Authorization: QQBot <token>` and `X-Union-Appid`; a 401 or a token error code refreshes the token once.
 */
export class QqOpenApi {
  private readonly client: QqRestClient;

  constructor(options: {
    apiBase: string;
    appId: string;
    tokens: AccessTokenManager;
    dispatcher?: Dispatcher;
    timeoutMs?: number;
  }) {
    this.client = new QqRestClient({
      apiBase: options.apiBase,
      appId: options.appId,
      tokens: options.tokens,
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
  }

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

  /**
   * GETs `path` through the one authorized REST client (token, `X-Union-Appid`, one token refetch on a refusal)
   * and returns QQ's JSON object. A token the bridge cannot get at all is rethrown as the token manager's own
   * error, so a permanent refusal of the credentials stays recognisable (boot-discovery.ts).
   */
  private async get(path: string): Promise<Record<string, unknown>> {
    let answer: QqResponse;
    try {
      answer = await this.client.request('GET', path);
    } catch (err) {
      if (err instanceof QqUnreachableError && err.cause instanceof TokenError) throw err.cause;
      throw err;
    }
    const parsed = parseJsonText(answer.body);
    const body =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : {};
    const { code, message } = qqErrorBody(parsed);
    // QQ reports failures with HTTP 200 and a `code` too: check the body, not only the status.
    if (answer.status >= 400 || (code !== undefined && code !== 0)) {
      const trace = traceIdOf(answer.headers);
      throw new BridgeError(
        'BRIDGE_ERR_QQ_API',
        `GET ${path} → HTTP ${answer.status}${code === undefined ? '' : ` code ${code}`}: ` +
          `${message ?? answer.body.slice(0, 200)}${trace ? ` (trace ${trace})` : ''}`,
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
