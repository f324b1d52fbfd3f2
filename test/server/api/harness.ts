/**
 * A send API on a real HTTP server on loopback, over real Redis, calling QQ through the real token caller: the
 * simulator's token endpoint and, as QQ's API, the simulator itself or a recording server.
 */
import { request as httpRequest } from 'node:http';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { silentLogger } from '../../../src/log.js';
import type { OutboundJobData, OutboundSent } from '../../../src/outbound/message.js';
import { openOutboundQueue, outboundQueueName } from '../../../src/outbound/send-queue.js';
import { outboundQueuePrefix } from '../../../src/redis/keys.js';
import { failureReason } from '../../../src/outbound/status.js';
import { AccessTokenManager } from '../../../src/qq/access-token.js';
import { QqRestClient } from '../../../src/qq/rest-client.js';
import { createSendApi, type SendApi } from '../../../src/server/api/send-api.js';
import { createHttpServer, type HttpServer } from '../../../src/server/http.js';
import { createMetrics, type BridgeMetrics } from '../../../src/server/metrics.js';
import type { Simulator } from '../../../src/simulator/index.js';
import { deletePrefix, freshPrefix, REDIS_URL, redisConnection } from '../../helpers/redis.js';

export const APP_ID = '102000000';
export const API_TOKEN = 'api-token-one-7d1c';
export const SECOND_API_TOKEN = 'api-token-two-93fa';
export const ADMIN_TOKEN = 'admin-token-5b20';
export const GROUP = 'C9F778FE6ADF9D1D1DBE395BF744A33A';
export const USER = 'E4F4AEA33253A2797FB897C50B81D7ED';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

export interface ApiHarness {
  base: string;
  port: number;
  prefix: string;
  metrics: BridgeMetrics;
  api: SendApi;
  /** The bot's outbound queue, opened separately from the API's. */
  queue: Queue<OutboundJobData>;
  /** An authorized call (API_TOKEN) unless `headers.authorization` says otherwise. */
  call(
    method: string,
    path: string,
    init?: { body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Answer>;
  /** Sends `target` exactly as given (no client-side URL normalization), authorized. */
  rawCall(method: string, target: string): Promise<Answer>;
  /** Moves every queued job to completed (`sent`) or failed with BullMQ's own Worker. */
  finishJobs(outcome: 'sent' | 'failed'): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Where QQ's API is; default the simulator. */
  apiBase?: string;
  /** The Redis the API uses; default the test Redis with the app's fail-fast options. */
  redis?: Redis;
  storeTimeoutMs?: number;
}

function answerOf(status: number, headers: Answer['headers'], text: string): Answer {
  return { status, headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** A connection with the app's options: fail fast while Redis is away (src/app.ts). */
export function appLikeRedis(url = REDIS_URL): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
}

export async function startApi(sim: Simulator, options: HarnessOptions = {}): Promise<ApiHarness> {
  const prefix = freshPrefix('api');
  const logger = silentLogger();
  const metrics = createMetrics();
  const ownRedis = options.redis === undefined;
  const redis = options.redis ?? redisConnection();
  const tokens = new AccessTokenManager({
    tokenUrl: `${sim.origin}/app/getAppAccessToken`,
    appId: APP_ID,
    clientSecret: 'simulator-secret',
    logger,
  });
  const api = createSendApi({
    tokens: [API_TOKEN, SECOND_API_TOKEN],
    redis,
    prefix,
    appId: APP_ID,
    attempts: 3,
    qq: new QqRestClient({ apiBase: options.apiBase ?? sim.origin, appId: APP_ID, tokens, timeoutMs: 5_000 }),
    metrics,
    logger,
    ...(options.storeTimeoutMs === undefined ? {} : { storeTimeoutMs: options.storeTimeoutMs }),
  });
  const server: HttpServer = createHttpServer({
    config: { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN, apiTokens: [API_TOKEN, SECOND_API_TOKEN] },
    metrics,
    health: () =>
      Promise.resolve({
        role: 'all',
        started: true,
        shards: [],
        redis: 'up',
        journal: { mode: 'direct', events: 0 },
      }),
    logger,
    api: (req, res) => api.handle(req, res),
  });
  const { host, port } = await server.listen();
  const base = `http://${host}:${port}`;
  const queueConnection = redisConnection();
  const queue = openOutboundQueue(APP_ID, prefix, queueConnection);

  async function call(
    method: string,
    path: string,
    init: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    const res = await request(`${base}${path}`, {
      method: method as 'GET',
      headers: {
        authorization: `Bearer ${API_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(body === undefined ? {} : { body }),
    });
    return answerOf(res.statusCode, res.headers, await res.body.text());
  }

  function rawCall(method: string, target: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method, path: target, headers: { authorization: `Bearer ${API_TOKEN}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve(answerOf(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString())),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  async function finishJobs(outcome: 'sent' | 'failed'): Promise<void> {
    const waiting = await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');
    if (waiting === 0) return;
    let done = 0;
    const connection = redisConnection({ worker: true });
    const worker = new Worker<OutboundJobData, OutboundSent>(
      outboundQueueName(APP_ID),
      (job) => {
        if (outcome === 'failed') {
          return Promise.reject(
            new UnrecoverableError(failureReason('QQ_40034005', 'the reply window has passed')),
          );
        }
        return Promise.resolve({
          qqId: `QQ-${job.id ?? ''}`,
          timestamp: 1_700_000_000,
          attempt: job.attemptsMade + 1,
        });
      },
      { connection, prefix: outboundQueuePrefix(prefix, APP_ID) },
    );
    const finished = new Promise<void>((resolve) => {
      const count = (): void => {
        done++;
        if (done === waiting) resolve();
      };
      worker.on('completed', count);
      worker.on('failed', count);
    });
    await finished;
    await worker.close();
    connection.disconnect();
  }

  return {
    base,
    port,
    prefix,
    metrics,
    api,
    queue,
    call,
    rawCall,
    finishJobs,
    async close() {
      await server.close();
      await api.close();
      tokens.stop();
      await queue.close();
      queueConnection.disconnect();
      if (ownRedis) redis.disconnect();
      await deletePrefix(prefix);
    },
  };
}
