/**
 * The naive baseline: what a user would write in an afternoon instead of running the bridge. A bare gateway
 * client (token, Identify, heartbeats; no Resume, no seq persistence), one BullMQ queue, `add()` per event, one
 * Worker POSTing the frame with undici. No normalization, no signing, no filters, no dedupe, no attempt log.
 * Its own process, started by bench/pipes.ts (as plain JavaScript, so it imports packages only); it tells the
 * bench `ready` over IPC once both ends run.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { WebSocket } from 'ws';

/** What bench/pipes.ts passes as the last argument (JSON). */
export interface NaiveSpec {
  simOrigin: string;
  appId: string;
  clientSecret: string;
  redisUrl: string;
  prefix: string;
  targetUrl: string;
  concurrency: number;
}

interface Frame {
  op: number;
  s?: number;
  t?: string;
  d?: { heartbeat_interval?: number };
}

async function main(spec: NaiveSpec): Promise<void> {
  const tokenResponse = await request(`${spec.simOrigin}/app/getAppAccessToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ appId: spec.appId, clientSecret: spec.clientSecret }),
  });
  const { access_token: token } = (await tokenResponse.body.json()) as { access_token: string };
  const gatewayResponse = await request(`${spec.simOrigin}/gateway`, {
    headers: { authorization: `QQBot ${token}` },
  });
  const { url } = (await gatewayResponse.body.json()) as { url: string };

  // ioredis directly, as a user would: this file runs as one transpiled file (bench/pipes.ts), so it cannot import
  // the project's src/. `maxRetriesPerRequest: null` is what BullMQ requires (src/redis/connections.ts, `worker`).
  const queue = new Queue('events', {
    connection: new Redis(spec.redisUrl, { maxRetriesPerRequest: null }),
    prefix: spec.prefix,
  });
  const worker = new Worker(
    'events',
    async (job) => {
      const response = await request(spec.targetUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(job.data),
      });
      await response.body.dump();
      if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`);
    },
    {
      connection: new Redis(spec.redisUrl, { maxRetriesPerRequest: null }),
      prefix: spec.prefix,
      concurrency: spec.concurrency,
    },
  );
  worker.on('error', (err) => console.error('worker error', err.message));
  await worker.waitUntilReady();

  const ws = new WebSocket(url);
  let seq: number | null = null;
  let heartbeat: NodeJS.Timeout | undefined;
  ws.on('message', (raw: Buffer) => {
    const frame = JSON.parse(raw.toString()) as Frame;
    if (typeof frame.s === 'number') seq = frame.s;
    if (frame.op === 10) {
      ws.send(JSON.stringify({ op: 2, d: { token: `QQBot ${token}`, intents: 1 << 25, shard: [0, 1] } }));
      heartbeat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), frame.d?.heartbeat_interval);
    } else if (frame.op === 0 && frame.t === 'READY') {
      process.send?.({ type: 'ready' });
    } else if (frame.op === 0) {
      queue.add(frame.t ?? 'event', frame, { removeOnComplete: true }).catch((err: Error) => {
        console.error('add failed', err.message);
      });
    }
  });
  ws.on('error', (err) => console.error('websocket error', err.message));

  const stop = async (): Promise<void> => {
    clearInterval(heartbeat);
    ws.close(4000);
    await worker.close();
    await queue.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.on('disconnect', () => process.exit(0));
}

await main(JSON.parse(process.argv.at(-1) ?? '{}') as NaiveSpec);
