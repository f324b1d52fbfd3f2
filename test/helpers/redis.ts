import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A hash-tagged prefix no other test uses, so tests can share the machine's Redis. */
export function freshPrefix(label = 'test'): string {
  return `{qqwb-${label}-${randomBytes(4).toString('hex')}}`;
}

export function redisConnection(options: { worker?: boolean } = {}): Redis {
  return new Redis(REDIS_URL, options.worker ? { maxRetriesPerRequest: null } : {});
}

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = redisConnection();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
