import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { eventually, seedAddRobot } from '../helpers/gateway.js';
import { deletePrefix, freshPrefix, redisConnection } from '../helpers/redis.js';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { startReplica } from '../helpers/replica.js';
import { delayingProxy, rotatingManager, silentGateway, type RotationHarness } from '../helpers/rotation.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000 });
  cleanups.push(() => sim.close());
  return sim;
}

async function harness(
  sim: Simulator,
  options: Parameters<typeof rotatingManager>[2],
): Promise<RotationHarness> {
  const prefix = freshPrefix('rotate');
  cleanups.push(() => deletePrefix(prefix));
  const started = await rotatingManager(sim, prefix, options);
  cleanups.push(() => started.stop());
  return started;
}

/** Emits one event every `everyMs` until stopped; bounded by `max`. Returns the emitted frame ids. */
function emitContinuously(sim: Simulator, everyMs = 15, max = 400): { ids: string[]; stop(): void } {
  const ids: string[] = [];
  const timer = setInterval(() => {
    if (ids.length >= max) return clearInterval(timer);
    ids.push(sim.emit('GROUP_ADD_ROBOT', seedAddRobot(ids.length)).id);
  }, everyMs);
  return { ids, stop: () => clearInterval(timer) };
}

const sessionIdsOf = (sim: Simulator): string[] => sim.state().sessions.map((s) => s.session_id);

describe('RotatingShard (gateway.rotate_every) against the simulator', () => {
  it('rotates under a continuous event stream: nothing lost, no dark time, the new session persisted', async () => {
    const sim = await simulator();
    const h = await harness(sim, { rotateEveryMs: 1_500 });
    await eventually(() => h.statuses.includes('ready'), 'first READY');
    const [oldId] = sessionIdsOf(sim);
    // The old session's saves are slow: one is still in flight when the successor takes over.
    h.store.slowSessionId = oldId;
    h.store.slowMs = 600;
    // The successor connects through a proxy that delays what the gateway sends by 200 ms: the simulator drops the
    // old socket when it handles the IDENTIFY, and the old session sees that well before the successor's READY.
    const proxy = await delayingProxy(sim.wsUrl, 200);
    cleanups.push(() => proxy.close());
    h.api.nextGatewayUrl = proxy.url;
    const stream = emitContinuously(sim);
    await eventually(() => h.rotations.length > 0, 'a rotation', 10_000);
    const atRotation = stream.ids.length;
    await eventually(() => stream.ids.length >= atRotation + 20, 'twenty more events after the rotation');
    stream.stop();
    const emitted = [...stream.ids];
    await eventually(
      () => emitted.every((id) => h.dispatchedIds.includes(id)),
      'every emitted event dispatched',
    );

    expect(h.rotations).toEqual([['age', 'rotated']]);
    expect(atRotation).toBeGreaterThan(10); // events before the rotation too
    const state = sim.state();
    expect(state).toMatchObject({ identifies: 2, resumes: 0, openConnections: 1 });
    const newId = state.sessions.find((s) => s.connected)?.session_id;
    expect(newId).toBeDefined();
    expect(newId).not.toBe(oldId);
    // The old socket is gone: the simulator dropped it for the new IDENTIFY, and the bridge did not come back on it.
    expect(state.closes).toContainEqual(
      expect.objectContaining({ reason: 'replaced by a new identify on its shard', by: 'server' }),
    );
    // Shard-level hooks: one connect, no dark time, no reconnect counted for the rotation.
    expect(h.statuses).toEqual(['connecting', 'identifying', 'ready']);
    expect(h.reconnects).toEqual([]);
    expect(h.manager.snapshot()).toEqual([expect.objectContaining({ status: 'ready', sessionId: newId })]);
    // The switch of the persisted session is atomic: no write of the old session after the new one's first.
    await eventually(() => h.store.landed.includes(newId!), 'a save of the new session');
    const firstNew = h.store.landed.indexOf(newId!);
    expect(h.store.landed.slice(firstNew).filter((id) => id !== newId)).toEqual([]);
    expect(h.store.landed.slice(0, firstNew)).toContain(oldId);
    await h.manager.stop();
    expect((await h.persisted())?.sessionId).toBe(newId);
  });

  it('does not rotate while few session starts are left, and warns once with when it tries again', async () => {
    const sim = await simulator();
    const h = await harness(sim, { rotateEveryMs: 300, retryDelaysMs: [100] });
    // reserve = max(1 shard × 2, 5 % of 100) = 5: remaining 5 is low.
    h.api.startLimit = { total: 100, remaining: 5, resetAfterMs: 150, maxConcurrency: 1 };
    await eventually(() => h.rotations.length >= 3, 'three rotation checks');
    expect(new Set(h.rotations.map(([, result]) => result))).toEqual(new Set(['skipped_budget']));
    const warnings = h.lines.filter((l) => l.level === 40 && /few QQ session starts left/.test(l.msg));
    expect(warnings).toEqual([
      expect.objectContaining({ remaining: 5, total: 100, reserve: 5, resetAfterMs: 150, retryInMs: 150 }),
    ]);
    expect(typeof warnings[0]?.['retryAt']).toBe('string');
    expect(sim.state().identifies).toBe(1);

    // One more start left than the reserve: the next check rotates.
    h.api.startLimit = { total: 100, remaining: 6, resetAfterMs: 150, maxConcurrency: 1 };
    await eventually(() => h.rotations.some(([, result]) => result === 'rotated'), 'a rotation');
    expect(sim.state().identifies).toBe(2);
  });

  it('skips a rotation whose GET /gateway/bot fails, and rotates on the retry', async () => {
    const sim = await simulator();
    const h = await harness(sim, { rotateEveryMs: 500, retryDelaysMs: [200] });
    await eventually(() => h.statuses.includes('ready'), 'first READY');
    sim.fault('http_error', { path: '/gateway/bot', status: 503, times: 1 });
    await eventually(() => h.rotations.length >= 2, 'the skipped try and the retry', 10_000);
    expect(h.rotations.slice(0, 2)).toEqual([
      ['age', 'skipped_discovery'],
      ['age', 'rotated'],
    ]);
    const warning = h.lines.find((l) =>
      /GET \/gateway\/bot\) failed; skipping this session rotation/.test(l.msg),
    );
    expect(warning).toMatchObject({ level: 40, retryInMs: 200 });
    expect(h.reconnects).toEqual([]);
  });

  it('keeps the old session when the successor gets no READY in time, and rotates on a later try', async () => {
    const sim = await simulator();
    const silent = await silentGateway();
    cleanups.push(() => silent.close());
    const h = await harness(sim, { rotateEveryMs: 800, handshakeTimeoutMs: 600, retryDelaysMs: [400] });
    await eventually(() => h.statuses.includes('ready'), 'first READY');
    const [oldId] = sessionIdsOf(sim);
    h.api.nextGatewayUrl = silent.url; // the successor's connection, the next one made
    const stream = emitContinuously(sim, 20);
    await eventually(() => h.rotations.length >= 1, 'the first rotation ends');
    expect(h.rotations).toEqual([['age', 'failed']]);
    expect(h.manager.snapshot()).toEqual([expect.objectContaining({ status: 'ready', sessionId: oldId })]);
    // The old session went on: it still holds its socket and keeps receiving what is emitted.
    expect(sim.state().sessions).toEqual([expect.objectContaining({ session_id: oldId, connected: true })]);
    const afterFailure = stream.ids.length;
    await eventually(() => h.rotations.length >= 2, 'the retried rotation ends', 10_000);
    stream.stop();
    const emitted = [...stream.ids];
    await eventually(() => emitted.every((id) => h.dispatchedIds.includes(id)), 'every event dispatched');
    expect(afterFailure).toBeGreaterThan(0);
    expect(h.rotations).toEqual([
      ['age', 'failed'],
      ['age', 'rotated'],
    ]);
    expect(h.statuses).toEqual(['connecting', 'identifying', 'ready']);
    expect(h.reconnects).toEqual([]);
    const warning = h.lines.find((l) => /rotation failed; the current session goes on/.test(l.msg));
    expect(warning).toMatchObject({ level: 40, reason: 'age', retryInMs: 400 });
  });

  it('rotates a leased shard too: the successor writes under the same lease fence', async () => {
    const sim = await simulator();
    const prefix = freshPrefix('rotate-lease');
    cleanups.push(() => deletePrefix(prefix));
    const replica = await startReplica({
      simulatorOrigin: sim.origin,
      prefix,
      ttlMs: 1_000,
      rotateEveryMs: 800,
    });
    cleanups.push(() => replica.stop());
    await eventually(() => sim.state().identifies === 2, 'a rotation (second IDENTIFY)', 10_000);
    await eventually(
      () =>
        replica.manager.snapshot()[0]?.sessionId ===
        sim.state().sessions.find((x) => x.connected)?.session_id,
      'the successor current',
    );
    const { s } = sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await eventually(() => replica.dispatched.some((d) => d.s === s), 'an event on the successor');
    const newId = replica.manager.snapshot()[0]?.sessionId;
    await replica.stop();
    const redis = redisConnection();
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    const persisted = await new RedisSessionStore(redis, prefix, '102000000').load(0);
    expect(persisted).toEqual({ sessionId: newId, seq: s, startedAt: expect.any(Number) });
    expect(replica.statuses.map((x) => x.status).filter((x) => x === 'waiting')).toEqual([]);
  });

  it('with rotate_every 0 runs a plain session: no rotation, no budget check', async () => {
    const sim = await simulator();
    const h = await harness(sim, { rotateEveryMs: 0 });
    await eventually(() => h.statuses.includes('ready'), 'READY');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.rotations).toEqual([]);
    expect(sim.state()).toMatchObject({ identifies: 1, gatewayBotRequests: 1 });
  });
});
