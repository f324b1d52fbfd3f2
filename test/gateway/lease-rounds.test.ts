import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseFenceKey, leaseKey } from '../../src/gateway/lease.js';
import { replicasKey } from '../../src/gateway/replica-registry.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const APP_ID = '102000000';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setUp(shards: number): Promise<{ sim: Simulator; prefix: string; redis: Redis }> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000, recommendedShards: shards });
  cleanups.push(() => sim.close());
  const prefix = freshPrefix('rounds');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return { sim, prefix, redis };
}

async function replica(sim: Simulator, prefix: string, ttlMs: number, replicaId?: string): Promise<Replica> {
  const started = await startReplica({
    simulatorOrigin: sim.origin,
    prefix,
    ttlMs,
    ...(replicaId ? { replicaId } : {}),
  });
  cleanups.push(() => started.stop());
  return started;
}

async function fences(redis: Redis, prefix: string, shards: number): Promise<number[]> {
  const keys = Array.from({ length: shards }, (_, id) => leaseFenceKey(prefix, APP_ID, id));
  return (await redis.mget(...keys)).map(Number);
}

describe('lease rounds', () => {
  it('a replica below its quota polls fast while a peer holds a surplus, so a released shard is taken at once', async () => {
    const { sim, prefix, redis } = await setUp(2);
    // A live peer holds both shards (quota 1 each with two replicas): a hand-off is pending.
    const peer = 'gw-peer/00000001';
    await redis.zadd(replicasKey(prefix, APP_ID), Date.now() + 60_000, peer);
    for (const id of [0, 1]) await redis.set(leaseKey(prefix, APP_ID, id), `${peer}:1`, 'PX', 60_000);
    // Regular rounds every 10 s: a pick-up within 3 s can only be a hand-off round.
    const taker = await replica(sim, prefix, 30_000);
    expect(taker.held()).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.del(leaseKey(prefix, APP_ID, 1));
    await eventually(() => taker.held().includes(1), 'the released shard taken', 3_000);
    // At its quota now (1 of 2): it leaves the other shard alone.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(taker.held()).toEqual([1]);
    expect(await redis.get(leaseKey(prefix, APP_ID, 0))).toBe(`${peer}:1`);
  });

  it('two live processes misconfigured with one replica_id settle instead of taking leases from each other forever', async () => {
    // Three shards over two: quota 2, so one of them is always below it and would keep taking "its earlier
    // run's" lease from the other, and the other back, if a live process of our replica id were reclaimed from.
    const { sim, prefix, redis } = await setUp(3);
    const ttlMs = 900;
    const first = await replica(sim, prefix, ttlMs, 'gw-twin');
    await eventually(() => first.held().length === 3, 'the first holds all three');
    const second = await replica(sim, prefix, ttlMs, 'gw-twin');
    const all = (): string => [...first.held(), ...second.held()].sort().join();
    // The second takes back what looks like its crashed run's leases once; then both see each other live.
    await eventually(() => all() === '0,1,2' && second.held().length > 0, 'all three held once', 10_000);
    await new Promise((resolve) => setTimeout(resolve, (ttlMs / 3) * 3));
    const afterSettling = await fences(redis, prefix, 3);
    // Ten more rounds: no lease changes hands again.
    await new Promise((resolve) => setTimeout(resolve, (ttlMs / 3) * 10));
    expect(await fences(redis, prefix, 3)).toEqual(afterSettling);
    expect(Math.max(...afterSettling)).toBeLessThanOrEqual(3);
    expect(all()).toBe('0,1,2');
  });
});
