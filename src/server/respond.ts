import type { IncomingMessage, ServerResponse } from 'node:http';

/** Content type of every JSON answer of the bridge's HTTP server. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends a complete response. HEAD gets the same status and headers as GET (including `Content-Length`) but no body.
 * Probe and metrics answers describe this instant, so nothing may cache them.
 */
export function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body, 'utf8'),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Sends `value` as JSON; see {@link send}. */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Readonly<Record<string, string>>,
): void {
  send(req, res, status, JSON_TYPE, JSON.stringify(value), headers);
}
