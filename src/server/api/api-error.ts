/**
 * The send API's error answers: `{"error": {"code", "message", "field"?}}`. `code` is stable (callers match on
 * it); `message` says what was wrong and how to fix it; `field` names the body field, header or parameter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../respond.js';

/** Every `error.code` of the send API, with the status it comes with. */
export const API_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  reply_limit: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  qq_unreachable: 502,
  store_unavailable: 503,
} as const;

/** One of the send API's error codes. */
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** An error answer, thrown by a handler's steps and sent by the router. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

/** A 400 about `field`. */
export function invalid(field: string, message: string): ApiError {
  return new ApiError('invalid_request', message, field);
}

/** Sends `error` as the answer. */
export function sendApiError(req: IncomingMessage, res: ServerResponse, error: ApiError): void {
  const body = { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
  sendJson(req, res, error.status, { error: body }, error.headers);
}
