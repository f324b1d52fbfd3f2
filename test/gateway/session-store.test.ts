import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLeaseOwnerId, ShardLease } from '../../src/gateway/lease.js';
import {
  FencedRedisSessionStore,
  RedisSessionStore,
  type SessionStore,
} from '../../src/gateway/session-store.js';
import { sessionKey } from '../../src/redis/keys.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function setUp(): { prefix: string; redis: Redis } {
  const prefix = freshPrefix('sstore');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return { prefix, redis };
}

async function stores(): Promise<[string, SessionStore, Redis, string][]> {
  const plain = setUp();
  const fenced = setUp();
  const lease = new ShardLease({
    redis: fenced.redis,
    prefix: fenced.prefix,
    appId: APP_ID,
    shardId: 0,
    owner: createLeaseOwnerId('session-store-test'),
    ttlMs: 5_000,
  });
  await lease.acquire();
  const value = lease.value;
  return [
    [
      'RedisSessionStore',
      new RedisSessionStore(plain.redis, plain.prefix, APP_ID),
      plain.redis,
      plain.prefix,
    ],
    [
      'FencedRedisSessionStore',
      new FencedRedisSessionStore(fenced.redis, fenced.prefix, APP_ID, { valueFor: () => value }),
      fenced.redis,
      fenced.prefix,
    ],
  ];
}

describe('session stores keep when the session started', () => {
  it('saves and loads startedAt, and a save without it leaves it unknown', async () => {
    for (const [name, store] of await stores()) {
      await store.save(0, { sessionId: 'abc', seq: 3, startedAt: 1_796_000_000_000 });
      expect(await store.load(0), name).toEqual({ sessionId: 'abc', seq: 3, startedAt: 1_796_000_000_000 });
      await store.save(0, { sessionId: 'def', seq: 4 });
      expect(await store.load(0), name).toEqual({ sessionId: 'def', seq: 4 });
    }
  });

  it('loads a record written before started_at was kept', async () => {
    for (const [name, store, redis, prefix] of await stores()) {
      await redis.hset(sessionKey(prefix, APP_ID, 0), { session_id: 'old', seq: '9', updated_at: '1' });
      expect(await store.load(0), name).toEqual({ sessionId: 'old', seq: 9 });
    }
  });
});
