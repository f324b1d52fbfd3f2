import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayReadiness, shardsCoverBot } from '../../src/outbound/gateway-ready.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

describe('shardsCoverBot', () => {
  const now = 1_000_000;
  it.each([
    [{}, false],
    [{ '0/1': String(now + 1) }, true],
    [{ '0/1': String(now) }, false],
    [{ '0/1': '0' }, false],
    [{ '0/2': String(now + 1) }, false],
    [{ '0/2': String(now + 1), '1/2': String(now + 5) }, true],
    [{ '0/2': String(now + 1), '1/2': '0' }, false],
    [{ '0/1': '0', '0/2': String(now + 1), '1/2': String(now + 1) }, true],
    [{ 'x/y': String(now + 1) }, false],
  ])('%j → %s', (fields, ready) => {
    expect(shardsCoverBot(fields, now)).toBe(ready);
  });
});

describe('GatewayReadiness', () => {
  let prefix: string;
  let redis: Redis;

  beforeEach(() => {
    prefix = freshPrefix('gwready');
    redis = redisConnection();
  });

  afterEach(async () => {
    redis.disconnect();
    await deletePrefix(prefix);
  });

  it('is ready while every shard is marked READY and fresh, and not once one is marked down or runs out', async () => {
    const readiness = new GatewayReadiness(redis, prefix, '102000000');
    expect(await readiness.isReady()).toBe(false);
    await readiness.mark([0, 2], true, 60_000);
    expect(await readiness.isReady()).toBe(false);
    await readiness.mark([1, 2], true, 60_000);
    expect(await readiness.isReady()).toBe(true);
    expect(await readiness.isReady(Date.now() + 120_000)).toBe(false);
    await readiness.mark([1, 2], false, 60_000);
    expect(await readiness.isReady()).toBe(false);
  });

  it('is shared: another connection sees what one gateway wrote', async () => {
    const other = redisConnection();
    try {
      await new GatewayReadiness(redis, prefix, 'A').mark([0, 1], true, 60_000);
      expect(await new GatewayReadiness(other, prefix, 'A').isReady()).toBe(true);
      expect(await new GatewayReadiness(other, prefix, 'B').isReady()).toBe(false);
    } finally {
      other.disconnect();
    }
  });
});
