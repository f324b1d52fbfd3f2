import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseKey } from '../../src/gateway/lease.js';
import { ReplicaRegistry, replicasKey } from '../../src/gateway/replica-registry.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function setUp(): { prefix: string; redis: Redis } {
  const prefix = freshPrefix('registry');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return { prefix, redis };
}

describe('ReplicaRegistry', () => {
  it('lists live replicas, prunes one that stopped refreshing, and drops one that leaves', async () => {
    const { prefix, redis } = setUp();
    const a = new ReplicaRegistry(redis, prefix, APP_ID, 'gw-a/00000001', 400);
    const b = new ReplicaRegistry(redis, prefix, APP_ID, 'gw-b/00000001', 5_000);
    expect(await a.refresh()).toEqual(['gw-a/00000001']);
    expect(await b.refresh()).toEqual(['gw-a/00000001', 'gw-b/00000001']);
    expect(await redis.pttl(replicasKey(prefix, APP_ID))).toBeGreaterThan(0);

    // a stops refreshing: past its TTL it is gone from what b sees.
    await new Promise((resolve) => setTimeout(resolve, 550));
    expect(await b.refresh()).toEqual(['gw-b/00000001']);
    await b.leave();
    expect(await redis.zcard(replicasKey(prefix, APP_ID))).toBe(0);
  });

  it("a restarted replica drops its earlier runs' entries, not those of other replica ids", async () => {
    const { prefix, redis } = setUp();
    const key = replicasKey(prefix, APP_ID);
    const far = Date.now() + 60_000;
    await redis.zadd(
      key,
      far,
      'gw-a/0ld00001',
      far,
      'gw-a2/00000001',
      far,
      'gw-b/00000001',
      far,
      'gw-a/x/legacy',
    );
    const restarted = new ReplicaRegistry(redis, prefix, APP_ID, 'gw-a/new00001', 5_000);
    expect(await restarted.forgetEarlierRuns()).toBe(1);
    expect(await restarted.refresh()).toEqual([
      'gw-a/new00001',
      'gw-a/x/legacy',
      'gw-a2/00000001',
      'gw-b/00000001',
    ]);
  });

  it('reads every shard lease holder in one call', async () => {
    const { prefix, redis } = setUp();
    await redis.set(leaseKey(prefix, APP_ID, 1), 'gw-a/00000001:7', 'PX', 5_000);
    const registry = new ReplicaRegistry(redis, prefix, APP_ID, 'gw-b/00000001', 5_000);
    expect(await registry.holders([0, 1])).toEqual(
      new Map([
        [0, undefined],
        [1, 'gw-a/00000001'],
      ]),
    );
  });
});
