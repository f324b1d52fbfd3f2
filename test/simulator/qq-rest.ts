import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { expect } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import type { JsonBody } from './sim-client.js';

export const APP_ID = '102000000';

/** What a QQ route answered: status, headers, the raw text and the parsed body (undefined when empty). */
export interface QqAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: JsonBody | undefined;
}

/** The headers every QQ REST call carries (docs/qq-protocol.md §8): a current token and the app id. */
export function qqHeaders(sim: Simulator): Record<string, string> {
  return { authorization: `QQBot ${sim.currentToken()}`, 'x-union-appid': APP_ID };
}

/** One call to the simulator's QQ routes over HTTP; `body` is sent as JSON unless it is a string. */
export async function qq(
  sim: Simulator,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = qqHeaders(sim),
): Promise<QqAnswer> {
  const res = await request(`${sim.origin}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    body: text === '' ? undefined : (JSON.parse(text) as JsonBody),
  };
}

export function sendToGroup(sim: Simulator, groupOpenid: string, body: unknown): Promise<QqAnswer> {
  return qq(sim, 'POST', `/v2/groups/${groupOpenid}/messages`, body);
}

export function sendToUser(sim: Simulator, openid: string, body: unknown): Promise<QqAnswer> {
  return qq(sim, 'POST', `/v2/users/${openid}/messages`, body);
}

/** QQ's error body for `code` (docs/qq-protocol.md §8), whatever the trace id and message. */
export function qqError(code: number, message: unknown = expect.any(String)): Record<string, unknown> {
  return { code, err_code: code, message, trace_id: expect.any(String) };
}
