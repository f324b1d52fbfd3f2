/**
 * Bounded reading of an HTTP response body (undici's `response.body`): the bridge reads what it needs to judge an
 * answer and keep a record of it, never whatever size the other side chooses to send.
 */

/** A readable body as undici hands it out. */
export type ResponseBodyStream = AsyncIterable<Buffer> & { destroy(): unknown };

/** What {@link readCapped} read: at most the limit, and the error that cut the read short, if any. */
export interface CappedRead {
  readonly bytes: Buffer;
  readonly error?: unknown;
}

/**
 * Reads at most `limitBytes` of a response body, then destroys the stream (closing the socket) if more remains.
 * Draining a small body lets undici reuse the keep-alive socket; past the limit destroying it is cheaper than
 * reading on. Never rejects: a failed read returns what arrived and the error.
 */
export async function readCapped(body: ResponseBodyStream, limitBytes: number): Promise<CappedRead> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= limitBytes) {
        body.destroy();
        break;
      }
    }
    return { bytes: Buffer.concat(chunks).subarray(0, limitBytes) };
  } catch (error) {
    body.destroy();
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** The first `maxBytes` of `bytes` as UTF-8 text, without a trailing half of a multi-byte character. */
export function leadingText(bytes: Buffer, maxBytes: number): string {
  // `stream: true` makes TextDecoder hold back an incomplete trailing sequence instead of emitting U+FFFD.
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, maxBytes), { stream: true });
}
