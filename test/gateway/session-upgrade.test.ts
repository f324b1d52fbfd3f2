/**
 * A gateway started on a session an earlier version persisted under the old key layout
 * (`<redis.prefix>:session:<app_id>:<shard>`) RESUMEs it instead of identifying anew, and receives what QQ sent
 * while no gateway ran (docs/qq-protocol.md §7.1: identifies are budgeted, resumes are not).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sessionKey } from '../../src/redis/keys.js';
import { legacySessionKey } from '../../src/redis/legacy-keys.js';
import { startSimulator } from '../../src/simulator/index.js';
import { eventually, seedAddRobot } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const APP_ID = '102000000';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const healthy = (r: Replica): boolean =>
  r.manager.snapshot().some((s) => s.shard[0] === 0 && ['ready', 'resumed'].includes(s.status));

describe('a gateway after the key layout upgrade', () => {
  it('resumes the session persisted under the old key and receives the gap', async () => {
    const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
    cleanups.push(() => sim.close());
    const prefix = freshPrefix('session-upgrade');
    cleanups.push(() => deletePrefix(prefix));
    const redis = redisConnection();
    cleanups.push(() => redis.disconnect());

    const before = await startReplica({ simulatorOrigin: sim.origin, prefix, ttlMs: 10_000 });
    cleanups.push(() => before.stop());
    await eventually(() => healthy(before), 'the first gateway READY');
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await eventually(() => before.dispatched.length === 1, 'the first event');
    await before.stop();

    // What an earlier version would have left: the same record, under the old name only.
    const record = await redis.hgetall(sessionKey(prefix, APP_ID, 0));
    expect(record['session_id']).toBeTruthy();
    await redis.hset(legacySessionKey(prefix, APP_ID, 0), record);
    await redis.del(sessionKey(prefix, APP_ID, 0));

    const { id } = sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    const after = await startReplica({ simulatorOrigin: sim.origin, prefix, ttlMs: 10_000 });
    cleanups.push(() => after.stop());
    await eventually(() => after.dispatched.length === 1, 'the gap event after the upgrade', 10_000);
    expect(after.dispatched[0]!.id).toBe(id);
    expect(after.manager.snapshot()[0]).toMatchObject({ status: 'resumed' });
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
    // the first save under the new key removed the old record
    const deadline = Date.now() + 10_000;
    while ((await redis.exists(legacySessionKey(prefix, APP_ID, 0))) === 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await redis.exists(legacySessionKey(prefix, APP_ID, 0))).toBe(0);
  }, 30_000);
});
