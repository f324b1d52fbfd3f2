import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore, type PersistedSession } from '../../src/gateway/session-store.js';
import { INTENTS } from '../../src/qq/intents.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { eventually, seedAddRobot, sessionAgainst, type SessionHarness } from '../helpers/gateway.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 1_000, ...options });
  cleanups.push(() => sim.close());
  return sim;
}

async function started(
  sim: Simulator,
  overrides: Parameters<typeof sessionAgainst>[1] = {},
): Promise<SessionHarness> {
  const harness = sessionAgainst(sim, overrides);
  cleanups.push(() => harness.stop());
  await harness.session.start();
  await eventually(() => harness.session.currentStatus === 'ready', 'READY');
  return harness;
}

/** Waits until the store holds `seq`: a seq save lands at most a save interval after the seq became durable. */
async function untilStored(h: SessionHarness, seq: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await h.store.load(0))?.seq !== seq) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for seq ${seq} to be stored`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const seqs = (h: SessionHarness): (number | null | undefined)[] => h.dispatched.map((f) => f.s);

describe('GatewaySession against the simulator', () => {
  it('identifies with the QQBot token, intents and shard, and becomes READY', async () => {
    const sim = await simulator();
    const h = await started(sim);
    const state = sim.state();
    expect(state.identifies).toBe(1);
    expect(state.sessions).toHaveLength(1);
    expect(state.sessions[0]!.shard).toEqual([0, 1]);
    expect(h.session.snapshot()).toMatchObject({ status: 'ready', seq: 1 });
  });

  it('heartbeats every interval with the last seq and gets ACKs', async () => {
    const sim = await simulator({ heartbeatIntervalMs: 200 });
    // 200 ms is below the production floor; the test lowers it to watch several beats quickly
    await started(sim, { minHeartbeatIntervalMs: 100 });
    await sim.waitFor((s) => s.heartbeats >= 3 && s.heartbeatAcks >= 3, 3_000);
    expect(sim.state().closes).toEqual([]);
  });

  it('hands dispatches to onDispatch in order and persists the durable seq', async () => {
    const sim = await simulator();
    const h = await started(sim);
    for (let i = 0; i < 5; i++) sim.emit('GROUP_ADD_ROBOT', seedAddRobot(i));
    await h.waitForDispatches(5);
    expect(seqs(h)).toEqual([2, 3, 4, 5, 6]);
    expect(h.dispatched[0]!.id).toMatch(/^GROUP_ADD_ROBOT:/);
    await eventually(() => h.session.snapshot().seq === 6, 'durable seq 6');
    // saved at most a save interval after it became durable
    await untilStored(h, 6);
    expect(await h.store.load(0)).toEqual({
      sessionId: sim.state().sessions[0]!.session_id,
      seq: 6,
      startedAt: h.session.snapshot().sessionStartedAt,
    });
  });

  it('resumes after op 7 and replays the events emitted during the gap', async () => {
    const sim = await simulator();
    const h = await started(sim);
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await h.waitForDispatches(1);
    sim.fault('reconnect');
    sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    sim.emit('GROUP_MSG_REJECT', seedAddRobot(3));
    await h.waitForDispatches(3);
    await eventually(() => h.session.currentStatus === 'resumed', 'RESUMED');
    expect(h.dispatched.map((f) => f.t)).toEqual(['GROUP_ADD_ROBOT', 'GROUP_DEL_ROBOT', 'GROUP_MSG_REJECT']);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
    expect(h.reconnects[0]?.reason).toBe('op7');
  });

  it('re-identifies after op 9 with d=false', async () => {
    const sim = await simulator();
    const h = await started(sim);
    sim.fault('invalid_session');
    await sim.waitFor((s) => s.identifies === 2, 5_000);
    await eventually(() => h.session.currentStatus === 'ready', 'READY again');
    expect(sim.state().resumes).toBe(0);
    expect(h.reconnects.map((r) => r.reason)).toEqual(['invalid_session']);
  });

  it.each([
    [4009, 'resume'],
    [4008, 'resume'],
    [1000, 'resume'],
    [4006, 'identify'],
    [4007, 'identify'],
    [4902, 'identify'],
  ] as const)('after close %d it will %s', async (code, expected) => {
    const sim = await simulator();
    const h = await started(sim, code === 4008 ? { reconnectScheduleMs: [20] } : {});
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot());
    await h.waitForDispatches(1);
    sim.fault('close', { code });
    if (code === 4008) {
      // 4008 asks for at least 60 s; the session must not reconnect before that.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sim.state().resumes + sim.state().identifies).toBe(1);
      return;
    }
    if (expected === 'resume') await sim.waitFor((s) => s.resumes === 1, 5_000);
    else await sim.waitFor((s) => s.identifies === 2, 5_000);
    await eventually(() => ['ready', 'resumed'].includes(h.session.currentStatus), 'healthy again');
    expect(sim.state()).toMatchObject(
      expected === 'resume' ? { identifies: 1, resumes: 1 } : { identifies: 2, resumes: 0 },
    );
  });

  it('resumes after a cut TCP link (no close frame)', async () => {
    const sim = await simulator();
    const h = await started(sim);
    sim.fault('cut');
    sim.emit('GROUP_MSG_RECEIVE', seedAddRobot());
    await h.waitForDispatches(1);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
  });

  it('detects a half-dead link (no ACKs) within two heartbeat intervals and resumes', async () => {
    const intervalMs = 1_000;
    const sim = await simulator({ heartbeatIntervalMs: intervalMs });
    const h = await started(sim);
    const faultAt = Date.now();
    sim.fault('half_dead');
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot());
    await eventually(() => h.reconnects.length > 0, 'zombie detection', 5_000);
    const detectedAfterMs = Date.now() - faultAt;
    expect(h.reconnects[0]!.reason).toBe('zombie');
    expect(detectedAfterMs).toBeLessThan(2 * intervalMs);
    await h.waitForDispatches(1);
    expect(sim.state().resumes).toBe(1);
  });

  it('refreshes the token and resumes after close 4004', async () => {
    const sim = await simulator();
    const h = await started(sim);
    const firstToken = sim.currentToken();
    sim.expireTokens();
    sim.fault('close', { code: 4009 });
    // The resume with the expired token is refused with 4004; the session fetches a new token and resumes.
    await sim.waitFor((s) => s.closes.some((c) => c.code === 4004), 5_000);
    await sim.waitFor((s) => s.resumes === 1, 5_000);
    await eventually(() => h.session.currentStatus === 'resumed', 'RESUMED');
    expect(sim.currentToken()).not.toBe(firstToken);
  });

  it('keeps its session while the access token is refreshed in the background', async () => {
    // A 56 s token is refreshed at max(56 − 50, 5) = 6 s, inside QQ's last-60-s window where a new one is issued.
    const sim = await simulator({ tokenTtlSec: 56 });
    const h = await started(sim);
    const firstToken = await h.tokens.get();
    await sim.waitFor((s) => s.tokenRequests >= 2, 9_000);
    // The simulator counts the request before the client has read the answer; the new token follows shortly.
    let secondToken = await h.tokens.get();
    const deadline = Date.now() + 3_000;
    while (secondToken === firstToken && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      secondToken = await h.tokens.get();
    }
    expect(secondToken).not.toBe(firstToken);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 0 });
    // The next resume presents the new token and is accepted.
    sim.fault('close', { code: 4009 });
    await sim.waitFor((s) => s.resumes === 1, 5_000);
    expect(sim.state().closes.some((c) => c.code === 4004)).toBe(false);
  }, 20_000);

  it('stops the shard and reports fatal on close 4914 without reconnecting', async () => {
    const sim = await simulator();
    const h = await started(sim);
    sim.fault('close', { code: 4914 });
    await eventually(() => h.fatal.length === 1, 'fatal hook');
    expect(h.session.currentStatus).toBe('fatal');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 0 });
  });

  it('retries slowly after an intents rejection (op 9 then 4014), never in a hot loop', async () => {
    const sim = await simulator({ grantedIntents: INTENTS.GROUP_AND_C2C_EVENT });
    const h = sessionAgainst(sim, {
      intents: INTENTS.GROUP_AND_C2C_EVENT | INTENTS.PUBLIC_GUILD_MESSAGES,
      configErrorDelayMs: 400,
    });
    cleanups.push(() => h.stop());
    await h.session.start();
    await sim.waitFor((s) => s.closes.some((c) => c.code === 4014), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sim.state().identifies).toBeLessThanOrEqual(1);
    await sim.waitFor((s) => s.closes.filter((c) => c.code === 4014).length >= 2, 5_000);
  });

  it('resumes a persisted session after a restart and receives what was emitted while it was down', async () => {
    const sim = await simulator();
    const store = new MemorySessionStore();
    const first = await started(sim, { store });
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    await first.waitForDispatches(1);
    await first.stop();
    sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    sim.emit('GROUP_MSG_RECEIVE', seedAddRobot(3));
    const second = sessionAgainst(sim, { store });
    cleanups.push(() => second.stop());
    await second.session.start();
    await second.waitForDispatches(2);
    expect(second.dispatched.map((f) => f.t)).toEqual(['GROUP_DEL_ROBOT', 'GROUP_MSG_RECEIVE']);
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 1 });
  });

  it('hands frames that arrive during a slow enqueue to the next call as one batch, in order', async () => {
    const sim = await simulator();
    const calls: (number | null | undefined)[][] = [];
    const h = await started(sim, {
      onDispatch: async (frames) => {
        calls.push(frames.map((f) => f.s));
        await new Promise((resolve) => setTimeout(resolve, 100));
      },
    });
    for (let i = 0; i < 20; i++) sim.emit('GROUP_ADD_ROBOT', seedAddRobot(i));
    await eventually(() => calls.flat().length === 20, 'all twenty');
    expect(calls.flat()).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(calls.length).toBeLessThan(20);
    await eventually(() => h.session.snapshot().seq === 21, 'durable seq 21');
  });

  it('pauses reading while enqueueing is behind, then resumes and delivers every frame in order', async () => {
    // A long interval keeps the heartbeat watchdog out of the way while reads are paused.
    const sim = await simulator({ heartbeatIntervalMs: 30_000 });
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: (number | null | undefined)[] = [];
    const h = await started(sim, {
      maxPendingFrames: 100,
      onDispatch: async (frames) => {
        seen.push(...frames.map((f) => f.s));
        await blocked;
      },
    });
    const total = 3_000;
    for (let i = 0; i < total; i++) sim.emit('GROUP_ADD_ROBOT', seedAddRobot(i));
    await eventually(() => h.session.pendingDispatches >= 100, 'the backlog to reach the limit');
    let most = 0;
    const deadline = Date.now() + 500;
    while (Date.now() < deadline) {
      most = Math.max(most, h.session.pendingDispatches);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Without the pause every frame would be read and held (3,000); a paused socket still hands over what ws had
    // already buffered, a chunk at most.
    expect(most).toBeLessThan(800);

    release();
    await eventually(() => seen.length === total, 'every frame after the resume', 10_000);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 2));
    await eventually(() => h.session.snapshot().seq === total + 1, 'durable seq at the last frame');
    expect(h.reconnects).toEqual([]);
  });

  it('does not advance past a dispatch it could not make durable: it resumes and gets it again', async () => {
    const sim = await simulator();
    let failNext = true;
    const received: string[] = [];
    const h = await started(sim, {
      onDispatch: (frames) => {
        // a batch is durable all or none: one that holds the failing event is refused whole
        if (failNext && frames.some((frame) => frame.t === 'GROUP_DEL_ROBOT')) {
          failNext = false;
          return Promise.reject(new Error('redis unavailable'));
        }
        received.push(...frames.map((frame) => frame.t));
        return Promise.resolve();
      },
    });
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot(1));
    sim.emit('GROUP_DEL_ROBOT', seedAddRobot(2));
    sim.emit('GROUP_MSG_REJECT', seedAddRobot(3));
    await eventually(() => received.length >= 3, 'all three after the resume');
    expect(received).toEqual(['GROUP_ADD_ROBOT', 'GROUP_DEL_ROBOT', 'GROUP_MSG_REJECT']);
    expect(h.reconnects[0]?.reason).toBe('dispatch_failed');
    expect(sim.state().resumes).toBe(1);
  });

  it('keeps the old session seq out of a new session after op 9 arrives during a slow enqueue', async () => {
    const sim = await simulator();
    const saves: PersistedSession[] = [];
    const store = new (class extends MemorySessionStore {
      override save(shardId: number, session: PersistedSession): Promise<void> {
        saves.push({ ...session });
        return super.save(shardId, session);
      }
    })();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let enqueues = 0;
    const h = await started(sim, {
      store,
      onDispatch: async () => {
        enqueues++;
        await blocked;
      },
    });
    const oldSessionId = h.session.snapshot().sessionId;
    for (let i = 0; i < 3; i++) sim.emit('GROUP_ADD_ROBOT', seedAddRobot(i));
    await eventually(() => enqueues === 1, 'the first enqueue to start');
    // the old session ends while its dispatches (s = 2…4) are not yet durable, and a new one becomes READY (s = 1)
    sim.fault('invalid_session');
    await sim.waitFor((s) => s.identifies === 2, 5_000);
    await eventually(
      () => h.session.currentStatus === 'ready' && h.session.snapshot().sessionId !== oldSessionId,
      'READY of the new session',
    );
    const newSessionId = h.session.snapshot().sessionId!;

    release();
    await eventually(
      () => saves.some((save) => save.sessionId === newSessionId),
      'a save of the new session',
    );
    expect(h.session.snapshot().seq).toBe(1);
    const startedAt = h.session.snapshot().sessionStartedAt;
    expect(saves.filter((save) => save.sessionId === newSessionId)).toEqual([
      { sessionId: newSessionId, seq: 1, startedAt },
    ]);
    expect(await store.load(0)).toEqual({ sessionId: newSessionId, seq: 1, startedAt });
  });
});
