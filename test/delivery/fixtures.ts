import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BridgeConfig, TargetConfig } from '../../src/config/types.js';
import type { DeliveryJobData } from '../../src/queue/job.js';
import { deliveryJobOptions } from '../../src/queue/job-options.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { freshPrefix, redisConnection as helperConnection } from '../helpers/redis.js';

export { deletePrefix } from '../helpers/redis.js';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A fresh hash-tagged key prefix, so concurrent test files never see each other's queues. */
export function uniquePrefix(): string {
  return freshPrefix('test');
}

/** A worker-grade connection (BullMQ requires `maxRetriesPerRequest: null` for blocking commands). */
export function redisConnection(): Redis {
  return helperConnection({ worker: true });
}

/** The shared test target with this suite's fast retry defaults (retry.max 5 s leaves room for Retry-After). */
export function makeTarget(
  overrides: Partial<TargetConfig> & Pick<TargetConfig, 'id' | 'url'>,
): TargetConfig {
  return testTarget({ retry: { attempts: 5, baseMs: 50, maxMs: 5000 }, ...overrides });
}

/** A full config around `targets`; the array is a copy the test may mutate (to simulate a reload). */
export function makeConfig(prefix: string, targets: readonly TargetConfig[]): BridgeConfig {
  return testConfig({ prefix, targets: [...targets] });
}

/**
 * The receiver here hands tests the raw `ServerResponse` (unlike test/helpers/receiver.ts), because delivery
 * tests need answers that never come and bodies that never end.
 */
/** One request as the receiver saw it. */
export interface CapturedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the body had fully arrived. */
  arrivedAt: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: CapturedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1:0. `respond` decides each answer; by default 200 "ok". It may also leave the
 * request hanging (just return without ending the response).
 */
export async function startReceiver(
  respond: (req: CapturedRequest, res: ServerResponse, index: number) => void = (_req, res) => {
    res.end('ok');
  },
): Promise<Receiver> {
  const requests: CapturedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const captured: CapturedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        arrivedAt: performance.now(),
      };
      requests.push(captured);
      respond(captured, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The body the producer would build, small but shaped like an envelope. */
export function envelopeBody(eventId: string, type = 'group.bot.added'): string {
  return JSON.stringify({
    id: eventId,
    type,
    qq_type: 'GROUP_ADD_ROBOT',
    data: { group_openid: 'G1' },
    v: 1,
  });
}

/** Adds one delivery job the way the producer does. */
export async function addDelivery(
  queue: Queue<DeliveryJobData>,
  target: TargetConfig,
  eventId: string,
  type = 'group.bot.added',
): Promise<void> {
  const data: DeliveryJobData = {
    eventId,
    type,
    qqType: 'GROUP_ADD_ROBOT',
    body: envelopeBody(eventId, type),
    enqueuedAt: Date.now(),
  };
  await queue.add(type, data, deliveryJobOptions(target, eventId, `${target.id}|${eventId}`, 86_400_000));
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
