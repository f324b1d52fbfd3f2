import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { keyPatterns } from '../../src/redis/keys.js';
import type { RedisClient } from '../../src/redis/client.js';
import { connectSingleRedis } from '../../src/redis/connections.js';
import { deleteKeys, scanKeys } from '../../src/redis/scan.js';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A hash-tagged prefix no other test uses, so tests can share the machine's Redis. */
export function freshPrefix(label = 'test'): string {
  return `{qqwb-${label}-${randomBytes(4).toString('hex')}}`;
}

/** A connection to the test Redis: ioredis defaults (offline queue, retries), or the factory's worker options. */
export function redisConnection(options: { worker?: boolean } = {}): Redis {
  return options.worker ? connectSingleRedis(REDIS_URL, 'worker') : new Redis(REDIS_URL);
}

/**
 * Every key of `prefix`, in the per-queue hash tags (`{<base>:…}`) and the layout before them (`<prefix>…`):
 * SCAN iterated until the cursor comes back to 0 (on every master of a Cluster), since one SCAN call only covers
 * part of the keyspace however large its COUNT (never KEYS, which blocks a shared Redis).
 */
export async function keysUnder(redis: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of keyPatterns(prefix)) {
    await scanKeys(redis, pattern, (keys) => {
      found.push(...keys);
      return Promise.resolve();
    });
  }
  return [...new Set(found)];
}

/** Deletes every key under `prefix` (on `redis`, default the test Redis). */
export async function deletePrefix(prefix: string, redis?: RedisClient): Promise<void> {
  const client = redis ?? redisConnection();
  try {
    const keys = await keysUnder(client, prefix);
    for (let i = 0; i < keys.length; i += 500) await deleteKeys(client, keys.slice(i, i + 500));
  } finally {
    if (!redis) client.disconnect();
  }
}
