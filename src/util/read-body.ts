import type { IncomingMessage } from 'node:http';

/** A request body read as raw bytes, or why it could not be. */
export type BodyRead =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: 'too_large' }
  /** `detail` is the stream's error message (`aborted` when the client hung up without one). */
  | { readonly ok: false; readonly reason: 'unreadable'; readonly detail: string };

/**
 * Reads a request body as raw bytes (a signature covers the bytes as sent, so nothing may decode them first), up
 * to `limitBytes`. A declared `Content-Length` over the limit is refused before a byte is read; a chunked body is
 * refused as soon as it passes the limit, and what was buffered is dropped, so memory stays bounded either way.
 * The rest of an oversized body is discarded as it arrives, never buffered: the caller may answer at once, and
 * should add `Connection: close` when the client must not go on sending.
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
    const onError = (err?: Error): void =>
      finish({ ok: false, reason: 'unreadable', detail: err?.message ?? 'aborted' });
    req
      .on('data', onData)
      .on('end', onEnd)
      .on('error', onError)
      .on('aborted', () => onError());
  });
}

function tooLarge(): BodyRead {
  return { ok: false, reason: 'too_large' };
}
