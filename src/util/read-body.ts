import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body into memory, or resolves undefined as soon as it grows past `maxBytes` (the rest is not
 * buffered), so a client cannot make the server hold an arbitrarily large body.
 */
export async function readCappedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
