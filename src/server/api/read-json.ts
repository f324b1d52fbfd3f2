import type { IncomingMessage } from 'node:http';
import { readRawBody } from '../../util/read-body.js';
import { ApiError, invalid } from './api-error.js';

/**
 * Reads a request body of at most `limitBytes` as JSON. Resolves with the parsed value, `undefined` for an empty
 * body, or the error to answer: 413 past the limit (with `Connection: close`, as the rest is not read), 400 for a
 * body that is not JSON.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const read = await readRawBody(req, limitBytes);
  if (!read.ok && read.reason === 'too_large') {
    throw new ApiError(
      'payload_too_large',
      `the body is larger than ${limitBytes} bytes, the most this route accepts`,
      'body',
      { Connection: 'close' },
    );
  }
  if (!read.ok) throw invalid('body', 'the body could not be read to its end');
  const text = read.bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalid('body', `the body is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}
