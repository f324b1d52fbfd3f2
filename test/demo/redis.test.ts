import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  assertRedisAnswers,
  deleteKeysWithPrefix,
  pingRedis,
  REDIS_MISSING,
  resolveDemoRedis,
} from '../../src/demo/redis.js';
import { isBridgeError } from '../../src/errors.js';
import { freshPrefix, REDIS_URL } from '../helpers/redis.js';

/** A loopback port nothing listens on (port 9 is discard, never served on a test machine). */
const DEAD_PORT = 9;

describe('resolveDemoRedis', () => {
  it('uses REDIS_URL as it is and leaves it running', async () => {
    const redis = await resolveDemoRedis('redis://example.invalid:6379');
    expect(redis).toMatchObject({ url: 'redis://example.invalid:6379', origin: 'REDIS_URL' });
    await redis.stop();
  });

  it('starts a redis-server of its own when nothing answers, and stops it', async () => {
    const redis = await resolveDemoRedis(undefined, { localPort: DEAD_PORT });
    const port = Number(new URL(redis.url).port);
    expect(port).not.toBe(DEAD_PORT);
    expect(await pingRedis(port)).toBe(true);
    await redis.stop();
    expect(await pingRedis(port)).toBe(false);
  });

  it('says in one line how to get Redis when redis-server is not installed', async () => {
    const failure = await resolveDemoRedis(undefined, {
      localPort: DEAD_PORT,
      command: 'redis-server-that-is-not-installed',
    }).catch((err: unknown) => err);
    expect(isBridgeError(failure, 'BRIDGE_ERR_REDIS')).toBe(true);
    expect((failure as Error).message).toBe(REDIS_MISSING);
    expect(REDIS_MISSING).not.toContain('\n');
    expect(REDIS_MISSING).toContain('apt-get install redis-server');
    expect(REDIS_MISSING).toContain('brew install redis');
    expect(REDIS_MISSING).toContain('docker run -p 6379:6379 redis');
  });
});

describe('assertRedisAnswers', () => {
  it('passes for a Redis that answers', async () => {
    await expect(assertRedisAnswers(REDIS_URL, 'test')).resolves.toBeUndefined();
  });

  it('fails fast with the reason, naming where the URL came from but not the URL or its password', async () => {
    const failure = await assertRedisAnswers(`redis://:hunter2@127.0.0.1:${DEAD_PORT}`, 'REDIS_URL').catch(
      (err: unknown) => err,
    );
    expect(isBridgeError(failure, 'BRIDGE_ERR_REDIS')).toBe(true);
    expect((failure as Error).message).toMatch(
      /^the demo's Redis \(REDIS_URL\) does not answer: .*ECONNREFUSED/,
    );
    expect((failure as Error).message).not.toContain('hunter2');
  });
});

describe('deleteKeysWithPrefix', () => {
  it('removes the keys under the prefix and nothing else', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = freshPrefix('demo');
    const other = freshPrefix('demo');
    try {
      // the old layout's keys (`{base}:…`) and the per-queue tags' (`{base:…}…`)
      const tagged = `${prefix.slice(0, -1)}:t:backend}:deliver-backend:wait`;
      await redis.mset(`${prefix}:a`, '1', `${prefix}:b:c`, '2', `${other}:a`, '3');
      await redis.set(tagged, '4');
      await deleteKeysWithPrefix(redis, prefix);
      expect(await redis.exists(`${prefix}:a`, `${prefix}:b:c`, tagged)).toBe(0);
      expect(await redis.get(`${other}:a`)).toBe('3');
    } finally {
      await redis.del(`${other}:a`);
      redis.disconnect();
    }
  });
});
