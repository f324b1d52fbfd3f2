import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionSaver } from '../../src/gateway/session-saver.js';
import { RedisSessionStore, type PersistedSession } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import { eventually } from '../helpers/gateway.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A Redis store that counts the saves Redis acknowledged. */
class CountingStore extends RedisSessionStore {
  saved = 0;
  override async save(shardId: number, session: PersistedSession): Promise<void> {
    await super.save(shardId, session);
    this.saved++;
  }
}

/** A real redis-server and a store on it, connected the way app.ts connects: fail fast, reconnect forever. */
async function storeOnOwnRedis(): Promise<{ server: RedisServer; store: CountingStore }> {
  const server = await startRedisServer({ appendonly: true });
  cleanups.push(() => server.cleanup());
  const redis = new Redis(server.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  redis.on('error', () => undefined);
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  await eventually(() => redis.status === 'ready', 'redis connected');
  return { server, store: new CountingStore(redis, freshPrefix('saver'), '102000000') };
}

describe('SessionSaver', () => {
  it('reports a failing save, retries it without a new seq and clears the failure once Redis is back', async () => {
    const { server, store } = await storeOnOwnRedis();
    let current: PersistedSession = { sessionId: 'sess-1', seq: 5 };
    const failures: string[] = [];
    const saver = new SessionSaver({
      shardId: 0,
      store,
      current: () => current,
      logger: silentLogger(),
      onFailure: (error) => failures.push(error),
      retryDelayMs: 100,
    });
    cleanups.push(() => saver.close());

    saver.schedule();
    await eventually(() => store.saved === 1, 'the first save');
    expect(saver.failing).toBe(false);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 5 });

    await server.stop();
    current = { sessionId: 'sess-1', seq: 9 };
    saver.schedule();
    await eventually(() => saver.failing, 'the save to fail');
    // retried on its own while failing, each failure counted
    await eventually(() => failures.length >= 2, 'a failed retry');

    await server.start();
    await eventually(() => !saver.failing, 'a retry to succeed once Redis is back', 10_000);
    expect(store.saved).toBe(2);
    expect(await store.load(0)).toEqual({ sessionId: 'sess-1', seq: 9 });
    const counted = failures.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(failures).toHaveLength(counted);
  }, 30_000);
});
