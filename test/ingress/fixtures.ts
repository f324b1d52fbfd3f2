import type { Readable } from 'node:stream';
import { request } from 'undici';
import type { QqWebhookConfig } from '../../src/config/types.js';
import type { DispatchFrame } from '../../src/events/envelope.js';
import { normalize } from '../../src/events/normalize.js';
import { callbackMessage, deriveCallbackKeys, signHex } from '../../src/ingress/ed25519.js';
import { createWebhookIngress, type WebhookIngressOptions } from '../../src/ingress/webhook-ingress.js';
import { silentLogger } from '../../src/log.js';
import type { DeliveryProducer } from '../../src/queue/producer.js';
import { createHttpServer, type HttpServer } from '../../src/server/http.js';
import { createMetrics, type BridgeMetrics } from '../../src/server/metrics.js';

export const APP_ID = '102000000';
export const BOT_SECRET = 'simulator-secret';
export const CALLBACK_PATH = '/qq/callback';
export const WEBHOOK: QqWebhookConfig = { path: CALLBACK_PATH, maxBodyBytes: 4096, maxSkewMs: 300_000 };

/** The seed's GROUP_ADD_ROBOT frame as QQ pushes it by webhook: no `s` (docs/qq-protocol.md §5.4). */
export const SEED_FRAME = {
  op: 0,
  id: 'GROUP_ADD_ROBOT:39ab91b8-36ee-44d6-80e9-4447a2f2c571',
  t: 'GROUP_ADD_ROBOT',
  d: {
    group_openid: 'C9F778FE6ADF9D1D1DBE395BF744A33A',
    op_member_openid: 'E4F4AEA33253A2797FB897C50B81D7ED',
    timestamp: 1699240248,
  },
};

export function unixSeconds(ms = Date.now()): string {
  return String(Math.floor(ms / 1000));
}

/** The headers QQ sends with a callback (docs/qq-protocol.md §6.1), signed with `secret` over `timestamp + body`. */
export function signedHeaders(
  body: string,
  timestamp = unixSeconds(),
  secret = BOT_SECRET,
): Record<string, string> {
  const { privateKey } = deriveCallbackKeys(secret);
  return {
    'user-agent': 'QQBot-Callback',
    'x-bot-appid': APP_ID,
    'x-signature-ed25519': signHex(privateKey, callbackMessage(timestamp, Buffer.from(body))),
    'x-signature-timestamp': timestamp,
    'x-signature-method': 'Ed25519',
    'content-type': 'application/json',
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function post(
  url: string,
  body: string | Buffer | Readable,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await request(url, { method: 'POST', headers, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export interface RunningIngress {
  /** The callback URL. */
  url: string;
  /** The server's origin, for `/metrics`. */
  origin: string;
  metrics: BridgeMetrics;
  close(): Promise<void>;
}

/** The ingress mounted on the bridge's own HTTP server (through its `routes` hook), on 127.0.0.1:0. */
export async function startIngress(
  options: Pick<WebhookIngressOptions, 'accept'> & Partial<Omit<WebhookIngressOptions, 'accept'>>,
): Promise<RunningIngress> {
  const metrics = createMetrics();
  const logger = silentLogger();
  const handler = createWebhookIngress({
    config: { appId: APP_ID, clientSecret: BOT_SECRET, webhook: WEBHOOK },
    logger,
    metrics,
    ...options,
  });
  const server: HttpServer = createHttpServer({
    config: { host: '127.0.0.1', port: 0, adminToken: '', apiTokens: [] },
    metrics,
    health: () => Promise.reject(new Error('not used')),
    logger,
    routes: new Map([[CALLBACK_PATH, handler]]),
  });
  const { host, port } = await server.listen();
  const origin = `http://${host}:${port}`;
  return { url: `${origin}${CALLBACK_PATH}`, origin, metrics, close: () => server.close() };
}

/** What the app does with an accepted frame: normalize it as shard [0, 1] and enqueue it durably. */
export function enqueueInto(producer: DeliveryProducer): (frame: DispatchFrame) => Promise<void> {
  return async (frame) => {
    const event = normalize(frame, { appId: APP_ID, shard: [0, 1], receivedAt: new Date() });
    await producer.enqueue(event, frame);
  };
}
