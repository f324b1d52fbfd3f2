import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { keyPatterns } from '../../src/redis/keys.js';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A hash-tagged prefix no other test uses, so tests can share the machine's Redis. */
export function freshPrefix(label = 'test'): string {
  return `{qqwb-${label}-${randomBytes(4).toString('hex')}}`;
}

export function redisConnection(options: { worker?: boolean } = {}): Redis {
  return new Redis(REDIS_URL, options.worker ? { maxRetriesPerRequest: null } : {});
}

/**
 * Every key of `prefix`, in the per-queue hash tags (`{<base>:…}`) and the layout before them (`<prefix>…`):
 * SCAN iterated until the cursor comes back to 0, since one SCAN call only covers part of the keyspace however
 * large its COUNT (never KEYS, which blocks a shared Redis).
 */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of keyPatterns(prefix)) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return [...new Set(found)];
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = redisConnection();
  try {
    const keys = await keysUnder(redis, prefix);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}
