import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseFenceKey, leaseKey } from '../../src/gateway/lease.js';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { seedAddRobot } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { startReplica } from '../helpers/replica.js';
import { forkReplica } from '../helpers/replica-fork.js';

const APP_ID = '102000000';
/** Long on purpose: a resume well inside it can only come from taking the lease back, not from its expiry. */
const LONG_TTL_MS = 30_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setUp(): Promise<{ sim: Simulator; prefix: string; redis: Redis }> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  const prefix = freshPrefix('restart');
  cleanups.push(() => deletePrefix(prefix));
  const redis = redisConnection();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return { sim, prefix, redis };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const replicaId = (): string => `gw-test-${randomBytes(3).toString('hex')}`;

describe('a gateway replica restarted with the same gateway.replica_id', () => {
  it('after kill -9 takes back its lease at once and RESUMEs, long before the lease could expire', async () => {
    const { sim, prefix, redis } = await setUp();
    const id = replicaId();
    const options = { simulatorOrigin: sim.origin, prefix, ttlMs: LONG_TTL_MS, replicaId: id, cleanups };
    const first = forkReplica(options);
    await first.waitFor((m) => first.healthy().length === 1 && m.some((x) => x.kind === 'started'), 'READY');
    const before = [1, 2, 3].map((n) => sim.emit('GROUP_ADD_ROBOT', seedAddRobot(n)));
    const store = new RedisSessionStore(redis, prefix, APP_ID);
    await until(async () => (await store.load(0))?.seq === before[2]!.s, 'seq persisted');
    const oldValue = await redis.get(leaseKey(prefix, APP_ID, 0));
    expect(oldValue).toMatch(new RegExp(`^${id}/[0-9a-f]{8}:1$`));

    await first.kill();
    const killedAt = Date.now();
    // The crashed run's lease is still there, for nearly the whole TTL: nothing released it.
    const leaseExpiresAt = killedAt + (await redis.pttl(leaseKey(prefix, APP_ID, 0)));
    expect(leaseExpiresAt - killedAt).toBeGreaterThan(LONG_TTL_MS / 2);
    const gap = [4, 5, 6].map((n) => sim.emit('GROUP_MSG_RECEIVE', seedAddRobot(n)).id);

    const second = forkReplica(options);
    await second.waitFor(() => second.healthy().length === 1, 'the restarted replica to be healthy', 20_000);
    const resumed = second.messages.find((m) => m.kind === 'status' && m.status === 'resumed');
    expect(resumed).toBeDefined();
    const resumedAt = resumed!.kind === 'status' ? resumed!.at : Number.NaN;
    // A schedule, not a speed: the RESUME came while the crashed run's lease was still unexpired.
    expect(resumedAt).toBeLessThan(leaseExpiresAt);
    const firstStatus = second.messages.find((m) => m.kind === 'status');
    const sessionAt = firstStatus?.kind === 'status' ? firstStatus.at : Number.NaN;
    console.info(
      `kill -9 -> RESUMED with the same replica_id: ${resumedAt - killedAt} ms (lease TTL ${LONG_TTL_MS} ms), of ` +
        `which ${sessionAt - killedAt} ms until the new process held the lease and opened the session`,
    );

    const newValue = await redis.get(leaseKey(prefix, APP_ID, 0));
    expect(newValue).toMatch(new RegExp(`^${id}/[0-9a-f]{8}:2$`));
    expect(newValue?.split(':')[0]).not.toBe(oldValue?.split(':')[0]);
    expect(await redis.get(leaseFenceKey(prefix, APP_ID, 0))).toBe('2');
    await second.waitFor(() => second.dispatchedIds().length >= 3, 'the gap on the restarted replica');
    expect(second.dispatchedIds()).toEqual(gap);
    expect(first.dispatchedIds()).toEqual(before.map((e) => e.id));
    expect(sim.state()).toMatchObject({ identifies: 1 });
    expect(sim.state().resumes).toBeGreaterThanOrEqual(1);
  });

  it('a replica with another replica_id does not take the crashed lease before it expires', async () => {
    const { sim, prefix, redis } = await setUp();
    const first = forkReplica({
      simulatorOrigin: sim.origin,
      prefix,
      ttlMs: LONG_TTL_MS,
      replicaId: replicaId(),
      cleanups,
    });
    await first.waitFor(() => first.healthy().length === 1, 'READY');
    const held = await redis.get(leaseKey(prefix, APP_ID, 0));
    await first.kill();

    // startReplica resolves after its first lease round, which found the lease held by a peer.
    const other = await startReplica({
      simulatorOrigin: sim.origin,
      prefix,
      ttlMs: LONG_TTL_MS,
      replicaId: replicaId(),
    });
    cleanups.push(() => other.stop());
    expect(other.held()).toEqual([]);
    expect(await redis.get(leaseKey(prefix, APP_ID, 0))).toBe(held);
    expect(sim.state().resumes).toBe(0);
  });
});
