import { afterEach, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { eventually } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { startReplica, type Replica } from '../helpers/replica.js';

const APP_ID = '102000000';
const DAY_MS = 24 * 3600 * 1000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  return sim;
}

/** A gateway process as `run` builds it: leases, fenced Redis store, and the default session rotation. */
async function bridge(sim: Simulator, prefix: string): Promise<Replica> {
  const replica = await startReplica({
    simulatorOrigin: sim.origin,
    prefix,
    ttlMs: 5_000,
    replicaId: 'restart-forgotten',
    rotateEveryMs: DAY_MS,
  });
  cleanups.push(() => replica.stop());
  return replica;
}

const healthy = (r: Replica): boolean =>
  r.manager.snapshot().some((s) => ['ready', 'resumed'].includes(s.status));

describe('restart against a gateway that forgot the persisted session', () => {
  it('sends one RESUME, takes op 9 as final, and IDENTIFYs on the very next connection', async () => {
    const prefix = freshPrefix('forgotten');
    cleanups.push(() => deletePrefix(prefix));
    const redis = redisConnection();
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    const stored = new RedisSessionStore(redis, prefix, APP_ID);

    const first = await simulator();
    const before = await bridge(first, prefix);
    await eventually(() => healthy(before), 'READY on the first simulator');
    await before.stop();
    const persisted = await stored.load(0);
    expect(persisted?.sessionId).toBe(first.state().sessions[0]?.session_id);
    await first.close();

    // A new simulator knows no session: the persisted one is dead at QQ.
    const second = await simulator();
    const after = await bridge(second, prefix);
    await eventually(() => healthy(after), 'READY on the second simulator');
    const newId = second.state().sessions[0]?.session_id;
    await eventually(() => after.manager.snapshot()[0]?.sessionId === newId, 'the new session is current');

    const state = second.state();
    const received = state.timeline
      .filter((e) => e.event === 'resume_received' || e.event === 'identify_received')
      .map((e) => [e.event, e.connection]);
    // one RESUME of the dead session on the first connection, then an IDENTIFY on the second, and nothing else
    expect(received).toEqual([
      ['resume_received', 1],
      ['identify_received', 2],
    ]);
    expect(state.timeline.find((e) => e.event === 'resume_received')?.session_id).toBe(persisted?.sessionId);
    expect(state).toMatchObject({ resumes: 1, identifies: 1, connections: 2 });
    await eventually(() => after.statuses.some((s) => s.status === 'ready'), 'READY reported');
    // the stored record is the new session's, not the dead one written back
    await after.stop();
    expect((await stored.load(0))?.sessionId).toBe(newId);
    expect(newId).not.toBe(persisted?.sessionId);
  });
});
