import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRawBody } from '../util/read-body.js';

/** The request body could not be read; `status` is what to answer. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/**
 * Reads a request body as UTF-8, up to `limitBytes`. The rest of an oversized body is discarded as it arrives, so
 * the caller can still answer 413 on the same connection.
 */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const read = await readRawBody(req, limitBytes);
  if (read.ok) return read.bytes.toString('utf8');
  if (read.reason === 'too_large') throw new BodyError(413, `request body exceeds ${limitBytes} bytes`);
  throw new BodyError(400, `request body could not be read: ${read.detail}`);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
