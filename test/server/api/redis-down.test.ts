import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { openOutboundQueue } from '../../../src/outbound/send-queue.js';
import { startSimulator, type Simulator } from '../../../src/simulator/index.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { APP_ID, GROUP, appLikeRedis, startApi, type ApiHarness } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const SEND = `/v1/groups/${GROUP}/messages`;
const HELLO = { content: 'hello', msg_type: 0 };

async function setUp(): Promise<{ server: RedisServer; api: ApiHarness }> {
  const server = await startRedisServer({ appendonly: true });
  cleanups.push(() => server.cleanup());
  const sim: Simulator = await startSimulator();
  cleanups.push(() => sim.close());
  const redis = appLikeRedis(server.url);
  redis.on('error', () => undefined);
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  const api = await startApi(sim, { redis, storeTimeoutMs: 2_000 });
  cleanups.push(() => api.close());
  return { server, api };
}

describe('send API while Redis is down', () => {
  it('answers 503 store_unavailable saying the message was not stored, and stores nothing', async () => {
    const { server, api } = await setUp();
    expect((await api.call('POST', SEND, { body: HELLO })).status).toBe(202);
    await server.stop();

    const attempts = [
      { body: HELLO },
      { body: HELLO, headers: { 'idempotency-key': 'during-outage' } },
      { body: { ...HELLO, msg_id: 'ROBOT1.0_inbound' } },
    ];
    for (const attempt of attempts) {
      const res = await api.call('POST', SEND, attempt);
      expect(res.status).toBe(503);
      const { error } = res.json() as { error: { code: string; message: string } };
      expect(error.code).toBe('store_unavailable');
      expect(error.message).toContain('was not stored and will not be sent');
      expect(error.message).toContain('Retry');
    }
    const status = await api.call('GET', `/v1/messages/ob_${'0'.repeat(32)}`);
    expect(status.status).toBe(503);
    expect(status.json()).toMatchObject({ error: { code: 'store_unavailable' } });

    // Back up with its data (AOF): only the message sent before the outage is there.
    await server.start();
    const connection = new Redis(server.url);
    const queue = openOutboundQueue(APP_ID, api.prefix, connection);
    try {
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
