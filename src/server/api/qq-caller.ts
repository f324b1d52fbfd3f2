/**
 * What the recall and pass-through routes need from QQ: one authorized call (`Authorization: QQBot <token>`,
 * `X-Union-Appid`, JSON; docs/qq-protocol.md §1.4, §8) whose answer is relayed, whatever its status.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { BridgeError, describeError } from '../../errors.js';

/** HTTP methods QQ's API uses; the pass-through forwards these and refuses others. */
export const QQ_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** One of {@link QQ_METHODS}. */
export type QqMethod = (typeof QQ_METHODS)[number];

/** QQ's answer to one call. */
export interface QqAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as text. */
  readonly body: string;
  /** True when the body was longer than the caller reads and `body` is only its start. */
  readonly truncated?: boolean;
}

/**
 * An authorized caller of QQ's REST API. `path` is below `qq.api_base` and may carry a query string; `body`, when
 * given, is sent as JSON. Resolves with QQ's answer whatever its status, after refreshing the token once when QQ
 * refuses it (HTTP 401, codes 11241–11244, docs/qq-protocol.md §1.3); rejects only when no answer arrived.
 */
export interface QqCaller {
  request(method: QqMethod, path: string, body?: unknown): Promise<QqAnswer>;
}

/** The token calls a {@link QqCaller} needs: what AccessTokenManager offers. */
export interface QqTokens {
  get(): Promise<string>;
  refresh(): Promise<string>;
  invalidate(): void;
}

/** Options of {@link tokenQqCaller}. */
export interface TokenQqCallerOptions {
  /** `qq.api_base`. */
  readonly apiBase: string;
  readonly appId: string;
  readonly tokens: QqTokens;
  /** Time limit of one call, ms. */
  readonly timeoutMs: number;
  /** The most of an answer read, bytes; default 1 MiB. */
  readonly maxAnswerBytes?: number;
  readonly dispatcher?: Dispatcher;
}

/** QQ's token error codes (docs/qq-protocol.md §1.3). */
const TOKEN_INVALID_CODES: ReadonlySet<number> = new Set([11241, 11242, 11243, 11244]);

const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

/** A {@link QqCaller} over undici and the bot's access token. */
export function tokenQqCaller(options: TokenQqCallerOptions): QqCaller {
  const base = options.apiBase.replace(/\/+$/, '');
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;

  async function once(method: QqMethod, path: string, body: unknown, token: string): Promise<QqAnswer> {
    try {
      const response = await request(`${base}${path}`, {
        method,
        headers: {
          authorization: `QQBot ${token}`,
          'x-union-appid': options.appId,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      const { text, truncated } = await readLeading(response.body, maxBytes);
      return {
        status: response.statusCode,
        headers: response.headers,
        body: text,
        ...(truncated ? { truncated } : {}),
      };
    } catch (err) {
      throw new BridgeError(
        'BRIDGE_ERR_QQ_API',
        `${method} ${path} got no answer from QQ: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  return {
    async request(method, path, body) {
      const first = await once(method, path, body, await options.tokens.get());
      if (!isTokenRefusal(first)) return first;
      options.tokens.invalidate();
      return once(method, path, body, await options.tokens.refresh());
    },
  };
}

/** The first `maxBytes` of a body as text; the rest is not read (the stream is destroyed). */
async function readLeading(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function isTokenRefusal(answer: QqAnswer): boolean {
  if (answer.status === 401) return true;
  try {
    const code = (JSON.parse(answer.body) as { code?: unknown } | null)?.code;
    return typeof code === 'number' && TOKEN_INVALID_CODES.has(code);
  } catch {
    return false;
  }
}
