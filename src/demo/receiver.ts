import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRawBody } from '../util/read-body.js';
import { formatEventLine } from './format.js';
import { sampleRefusal } from './refusal.js';
import { verifyWebhook } from './verify.js';

/** Options of {@link startSampleReceiver}. */
export interface SampleReceiverOptions {
  /** The target's secret(s), as configured on the bridge. */
  readonly secrets: readonly string[];
  /** Where each event's line goes. */
  readonly print: (line: string) => void;
}

/** A running sample receiver. */
export interface SampleReceiver {
  /** `http://127.0.0.1:<port>/webhook`, the demo target's URL. */
  readonly url: string;
  /** webhook-ids whose signature and timestamp held, each once, in arrival order (refused ones included). */
  readonly verified: ReadonlySet<string>;
  /** webhook-ids verified and then refused for good ({@link sampleRefusal}): the demo's dead letter. */
  readonly refused: ReadonlySet<string>;
  /** How many requests failed verification (bad signature, stale timestamp, not JSON). */
  rejected(): number;
  close(): Promise<void>;
}

/** Bodies above this are refused; the bridge's envelopes are far smaller. */
const MAX_BODY_BYTES = 1024 * 1024;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The reply the sample receiver sends to an @-message: `{"reply": {"content": "echo: <text>", "msg_type": 0}}`,
 * which the bridge sends to the group as a passive reply (README, "Replying"). Undefined for every other event,
 * which is acknowledged with an empty 204.
 */
export function sampleReply(envelope: Readonly<Record<string, unknown>>): { reply: object } | undefined {
  if (envelope['type'] !== 'group.message.at') return undefined;
  const data = envelope['data'];
  const message =
    typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['message'] : undefined;
  const content =
    typeof message === 'object' && message !== null ? (message as Record<string, unknown>)['content'] : '';
  return { reply: { content: `echo: ${typeof content === 'string' ? content.trim() : ''}`, msg_type: 0 } };
}

/**
 * What a webhook receiver does, in about fifty lines: read the raw body, verify the signature and timestamp
 * before parsing anything, answer 401 when they do not hold, dedupe on `webhook-id` (a retry of a delivery
 * already handled is answered 200 and not processed again), then handle the event — here, print one line — and
 * answer an @-message with a reply ({@link sampleReply}). A retry gets the same reply: the bridge sends it once.
 * The one event type it has no handler for is answered 422 and printed by the demo once it is dead-lettered.
 */
export async function startSampleReceiver(options: SampleReceiverOptions): Promise<SampleReceiver> {
  const verified = new Set<string>();
  const refused = new Set<string>();
  let rejected = 0;

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const read = await readRawBody(req, MAX_BODY_BYTES);
      if (!read.ok) {
        if (read.reason === 'unreadable') res.destroy();
        else res.writeHead(413).end();
        return;
      }
      const body = read.bytes;
      const id = header(req, 'webhook-id');
      const verdict = verifyWebhook(
        options.secrets,
        { id, timestamp: header(req, 'webhook-timestamp'), signature: header(req, 'webhook-signature') },
        body,
      );
      let envelope: unknown;
      try {
        envelope = verdict.ok ? JSON.parse(body.toString('utf8')) : undefined;
      } catch {
        envelope = undefined;
      }
      if (!verdict.ok || id === undefined || typeof envelope !== 'object' || envelope === null) {
        rejected++;
        options.print(
          `✗ refused ${id ?? '(no webhook-id)'}: ${verdict.ok ? 'body is not JSON' : verdict.reason}`,
        );
        res.writeHead(401).end();
        return;
      }
      const event = envelope as Record<string, unknown>;
      const firstTime = !verified.has(id);
      verified.add(id);
      const refusal = sampleRefusal(event);
      if (refusal) {
        refused.add(id);
        res
          .writeHead(refusal.status, { 'content-type': 'application/json' })
          .end(JSON.stringify(refusal.body));
        return;
      }
      if (firstTime) options.print(formatEventLine(event));
      const reply = sampleReply(event);
      if (reply === undefined) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    verified,
    refused,
    rejected: () => rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
