import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { createLeaseOwnerId, leaseKey, ShardLease } from '../../src/gateway/lease.js';
import { FencedRedisSessionStore } from '../../src/gateway/session-store.js';
import { sessionKey } from '../../src/redis/keys.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';

const APP_ID = '102000000';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function setUp(): { prefix: string; connect: () => Redis } {
  const prefix = freshPrefix('lease');
  cleanups.push(() => deletePrefix(prefix));
  const connect = (): Redis => {
    const redis = redisConnection();
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    return redis;
  };
  return { prefix, connect };
}

function lease(redis: Redis, prefix: string, owner: string, ttlMs = 5_000, shardId = 0): ShardLease {
  return new ShardLease({ redis, prefix, appId: APP_ID, shardId, owner, ttlMs });
}

/** A fenced store bound to one lease value, as the shard manager gives each holding term. */
function fencedStore(redis: Redis, prefix: string, value: string | undefined, refused: number[] = []) {
  return new FencedRedisSessionStore(redis, prefix, APP_ID, {
    valueFor: () => value,
    onRefused: (shardId) => refused.push(shardId),
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('ShardLease', () => {
  it('is held by one owner at a time, renewed and released only by its holder', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const [ownerA, ownerB] = [createLeaseOwnerId('replica-a'), createLeaseOwnerId('replica-b')];
    expect(ownerA).not.toBe(ownerB);
    const a = lease(redis, prefix, ownerA);
    const b = lease(redis, prefix, ownerB);

    expect(await a.acquire()).toEqual({ kind: 'acquired', token: 1 });
    expect(await redis.get(leaseKey(prefix, APP_ID, 0))).toBe(`${ownerA}:1`);
    expect(await redis.pttl(leaseKey(prefix, APP_ID, 0))).toBeGreaterThan(4_000);
    expect(await b.acquire()).toEqual({ kind: 'held', holder: ownerA });
    expect(b.token).toBeUndefined();
    expect(await b.renew()).toBe(false);
    expect(await b.release()).toBe(false);

    expect(await a.renew()).toBe(true);
    expect(await a.release()).toBe(true);
    expect(a.value).toBeUndefined();
    expect(await redis.exists(leaseKey(prefix, APP_ID, 0))).toBe(0);

    expect(await b.acquire()).toEqual({ kind: 'acquired', token: 2 });
    expect(b.value).toBe(`${ownerB}:2`);
    expect(await a.acquire()).toEqual({ kind: 'held', holder: ownerB });
    // Each shard has its own lease and its own token sequence.
    expect(await lease(redis, prefix, ownerA, 5_000, 1).acquire()).toEqual({ kind: 'acquired', token: 1 });
  });

  it('renew() extends the lease by a full TTL', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const a = lease(redis, prefix, createLeaseOwnerId('replica-a'), 1_000);
    await a.acquire();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await redis.pttl(a.key)).toBeLessThan(700);
    expect(await a.renew()).toBe(true);
    expect(await redis.pttl(a.key)).toBeGreaterThan(900);
  });

  it('adopts a lease that already names this owner, keeping its token (a lost acquire reply)', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const owner = createLeaseOwnerId('replica-a');
    expect(await lease(redis, prefix, owner).acquire()).toEqual({ kind: 'acquired', token: 1 });
    const again = lease(redis, prefix, owner);
    expect(await again.acquire()).toEqual({ kind: 'adopted', token: 1 });
    expect(again.value).toBe(`${owner}:1`);
  });

  it("takes back an earlier incarnation's lease of the same replica id at once, with a higher token", async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const crashed = createLeaseOwnerId('replica-a');
    const restarted = createLeaseOwnerId('replica-a');
    expect(crashed).toMatch(/^replica-a\/[0-9a-f]{8}$/);
    expect(restarted).not.toBe(crashed);
    const old = lease(redis, prefix, crashed, 60_000);
    expect(await old.acquire()).toEqual({ kind: 'acquired', token: 1 });
    await fencedStore(redis, prefix, old.value).save(0, { sessionId: 'session-1', seq: 7 });

    // Long before the 60 s TTL runs out, the restarted process takes it back with a bumped token ...
    const fresh = lease(redis, prefix, restarted, 60_000);
    expect(await fresh.acquire()).toEqual({ kind: 'reclaimed', token: 2, previous: crashed });
    expect(await redis.get(fresh.key)).toBe(`${restarted}:2`);
    // ... resumes from what the earlier run persisted, and the earlier run's value is fenced out.
    const freshStore = fencedStore(redis, prefix, fresh.value);
    expect(await freshStore.load(0)).toEqual({ sessionId: 'session-1', seq: 7 });
    await freshStore.save(0, { sessionId: 'session-1', seq: 8 });
    const staleErr = await rejection(
      fencedStore(redis, prefix, old.value).save(0, { sessionId: 'x', seq: 9 }),
    );
    expect(isBridgeError(staleErr, 'BRIDGE_ERR_REDIS')).toBe(true);
    expect(await old.renew()).toBe(false);
    expect(old.lastHolder).toBe(restarted);

    // Another replica id, or a replica id that merely starts with ours, is a peer: no takeover.
    expect(await lease(redis, prefix, createLeaseOwnerId('replica-b')).acquire()).toEqual({
      kind: 'held',
      holder: restarted,
    });
    expect(await lease(redis, prefix, createLeaseOwnerId('replica')).acquire()).toMatchObject({
      kind: 'held',
    });
    // An owner named as a live twin (same replica id, another live process) is not reclaimed from.
    const twin = new ShardLease({
      redis,
      prefix,
      appId: APP_ID,
      shardId: 0,
      owner: createLeaseOwnerId('replica-a'),
      ttlMs: 5_000,
      liveTwins: () => [restarted],
    });
    expect(await twin.acquire()).toEqual({ kind: 'held', holder: restarted });
    expect(await redis.get(fresh.key)).toBe(`${restarted}:2`);
  });

  it('does not take a legacy `<host>/<pid>/<random>` lease whose host equals our replica id', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    await redis.set(leaseKey(prefix, APP_ID, 0), 'replica-a/123/abcd:4', 'PX', 5_000);
    expect(await lease(redis, prefix, createLeaseOwnerId('replica-a')).acquire()).toEqual({
      kind: 'held',
      holder: 'replica-a/123/abcd',
    });
  });

  it('expires when its holder stops renewing; the next holder gets a higher token and the stale one is fenced out', async () => {
    const { prefix, connect } = setUp();
    const holderRedis = connect();
    const peerRedis = connect();
    const stale = lease(holderRedis, prefix, createLeaseOwnerId('replica-a'), 600);
    const peer = lease(peerRedis, prefix, createLeaseOwnerId('replica-b'), 600);
    expect(await stale.acquire()).toEqual({ kind: 'acquired', token: 1 });
    const staleValue = stale.value;
    await fencedStore(holderRedis, prefix, staleValue).save(0, { sessionId: 'session-1', seq: 5 });

    // The holder goes silent: its connection is gone, nothing renews.
    holderRedis.disconnect();
    expect(await peer.acquire()).toMatchObject({ kind: 'held' });
    const expiredBy = Date.now() + 2_000;
    let token: number | undefined;
    while (token === undefined && Date.now() < expiredBy) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const result = await peer.acquire();
      if (result.kind !== 'held') token = result.token;
    }
    expect(token).toBe(2);

    // The new holder resumes from what the old one persisted, and writes under its own token.
    const peerStore = fencedStore(peerRedis, prefix, peer.value);
    expect(await peerStore.load(0)).toEqual({ sessionId: 'session-1', seq: 5 });
    await peerStore.save(0, { sessionId: 'session-1', seq: 9 });

    // The old holder wakes up (new connection, same stale lease value): its renew and its writes are refused.
    const wokenRedis = connect();
    const refused: number[] = [];
    const staleStore = fencedStore(wokenRedis, prefix, staleValue, refused);
    const err = await rejection(staleStore.save(0, { sessionId: 'session-1', seq: 6 }));
    expect(isBridgeError(err, 'BRIDGE_ERR_REDIS')).toBe(true);
    expect((err as Error).message).toMatch(/lease lost/);
    expect(refused).toEqual([0]);
    expect(isBridgeError(await rejection(staleStore.clear(0)), 'BRIDGE_ERR_REDIS')).toBe(true);
    expect(await peerStore.load(0)).toEqual({ sessionId: 'session-1', seq: 9 });
    const woken = lease(wokenRedis, prefix, 'someone-else/1');
    expect(await woken.acquire()).toMatchObject({ kind: 'held' });
  });

  it('a renew after expiry fails and forgets the lease', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const a = lease(redis, prefix, createLeaseOwnerId('replica-a'), 200);
    await a.acquire();
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await a.renew()).toBe(false);
    expect(a.token).toBeUndefined();
  });
});

describe('FencedRedisSessionStore', () => {
  it('saves, loads and clears while the lease holds its value', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const a = lease(redis, prefix, createLeaseOwnerId('replica-a'));
    await a.acquire();
    const store = fencedStore(redis, prefix, a.value);
    await store.save(0, { sessionId: 'abc', seq: 3 });
    expect(await store.load(0)).toEqual({ sessionId: 'abc', seq: 3 });
    expect(await redis.ttl(sessionKey(prefix, APP_ID, 0))).toBeGreaterThan(0);
    await store.clear(0);
    expect(await store.load(0)).toBeUndefined();
  });

  it('refuses to write without a lease, without touching Redis', async () => {
    const { prefix, connect } = setUp();
    const redis = connect();
    const refused: number[] = [];
    const store = fencedStore(redis, prefix, undefined, refused);
    const err = await rejection(store.save(0, { sessionId: 'abc', seq: 3 }));
    expect(isBridgeError(err, 'BRIDGE_ERR_REDIS')).toBe(true);
    expect(refused).toEqual([]);
    expect(await redis.exists(sessionKey(prefix, APP_ID, 0))).toBe(0);
  });
});
