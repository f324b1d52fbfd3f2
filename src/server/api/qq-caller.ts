/**
 * What the recall and pass-through routes need from QQ: one authorized call (`Authorization: QQBot <token>`,
 * `X-Union-Appid`, JSON; docs/qq-protocol.md §1.4, §8) whose answer is relayed, whatever its status.
 */
import type { IncomingHttpHeaders } from 'node:http';

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
  /** Set when the answer's body broke off (a code such as `UND_ERR_SOCKET`): `body` is then incomplete. */
  readonly bodyFailure?: string;
}

/**
 * An authorized caller of QQ's REST API (src/qq/rest-client.ts implements it). `path` is below `qq.api_base` and may carry a query string; `body`, when
 * given, is sent as JSON. Resolves with QQ's answer whatever its status, after refreshing the token once when QQ
 * refuses it (HTTP 401, codes 11241–11244, docs/qq-protocol.md §1.3); rejects only when no answer arrived.
 */
export interface QqCaller {
  request(method: QqMethod, path: string, body?: unknown): Promise<QqAnswer>;
}
