import type { IncomingMessage } from 'node:http';

/** A request body read as raw bytes, or why it could not be. */
export type BodyRead =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: 'too_large' | 'unreadable' };

/**
 * Reads a request body as raw bytes (the signature covers the bytes as sent, so nothing may decode them first), up
 * to `limitBytes`. A declared `Content-Length` over the limit is refused before a byte is read; a chunked body is
 * refused as soon as it passes the limit, and what was buffered is dropped, so memory stays bounded either way.
 * The caller should then answer with `Connection: close`: the rest of the body is not read.
 */
export function readRawBody(req: IncomingMessage, limitBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) return Promise.resolve(tooLarge());
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // The listeners stay attached after the answer: an error after it (the client hanging up mid-body) then has a
    // listener and cannot surface as an uncaught exception.
    let done = false;
    const finish = (result: BodyRead): void => {
      if (done) return;
      done = true;
      chunks.length = 0;
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      if (done) return;
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
      else finish(tooLarge());
    };
    const onEnd = (): void => {
      if (!done) finish({ ok: true, bytes: Buffer.concat(chunks, size) });
    };
    const onError = (): void => finish({ ok: false, reason: 'unreadable' });
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onError);
  });
}

function tooLarge(): BodyRead {
  return { ok: false, reason: 'too_large' };
}
