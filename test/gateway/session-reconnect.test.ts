import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore, type PersistedSession } from '../../src/gateway/session-store.js';
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

const isHealthy = (h: SessionHarness): boolean => ['ready', 'resumed'].includes(h.session.currentStatus);

async function started(
  sim: Simulator,
  overrides: Parameters<typeof sessionAgainst>[1] = {},
): Promise<SessionHarness> {
  const harness = sessionAgainst(sim, overrides);
  cleanups.push(() => harness.stop());
  await harness.session.start();
  await eventually(() => isHealthy(harness), 'READY');
  return harness;
}

/** A loopback port nothing listens on: a connection to it is refused at once. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Half of the first backoff step (20 ms) plus half of it times random() = 0.5: 15 ms. */
const FIRST_BACKOFF_MS = 15;

describe('GatewaySession reconnect schedule', () => {
  it.each([
    ['op 7', 'reconnect', {}, 'op7'],
    ['close 4009', 'close', { code: 4009 }, 'close'],
    ['a cut link', 'cut', {}, 'network'],
  ] as const)(
    'reconnects at once after %s on a healthy session, with the cached token and URL',
    async (_what, kind, opts, reason) => {
      const sim = await simulator();
      const asked: boolean[] = [];
      const h = await started(sim, {
        resolveGatewayUrl: ({ rediscover }) => {
          asked.push(rediscover);
          return Promise.resolve(sim.wsUrl);
        },
      });
      const tokenRequests = sim.state().tokenRequests;
      sim.fault(kind, opts);
      await sim.waitFor((s) => s.resumes === 1, 5_000);
      await eventually(() => h.session.currentStatus === 'resumed', 'RESUMED');
      expect(h.reconnects).toEqual([{ reason, detail: expect.any(String) as string, delayMs: 0 }]);
      // the token came from the cache, and the URL from the last known one: nothing asked QQ over HTTP
      expect(sim.state().tokenRequests).toBe(tokenRequests);
      expect(asked).toEqual([false, false]);
      expect(sim.state().identifies).toBe(1);
    },
  );

  it('waits the backoff from the second failure in a row on, and re-discovers the URL after a failure', async () => {
    const sim = await simulator();
    const dead = `ws://127.0.0.1:${await deadPort()}/websocket`;
    const asked: boolean[] = [];
    const h = await started(sim, {
      random: () => 0.5,
      resolveGatewayUrl: ({ rediscover }) => {
        asked.push(rediscover);
        // the instant attempt goes to a dead port; the one after it finds the gateway again
        return Promise.resolve(asked.length === 2 ? dead : sim.wsUrl);
      },
    });
    sim.fault('cut');
    await sim.waitFor((s) => s.resumes === 1, 5_000);
    await eventually(() => h.session.currentStatus === 'resumed', 'RESUMED');
    expect(h.reconnects.map((r) => [r.reason, r.delayMs])).toEqual([
      ['network', 0],
      ['network', FIRST_BACKOFF_MS],
    ]);
    expect(asked).toEqual([false, false, true]);
  });

  it('gives a gateway that ends sessions right after READY the backoff, not an instant reconnect', async () => {
    const sim = await simulator();
    const h = await started(sim, { random: () => 0.5, instantReconnectMinHealthyMs: 1_000 });
    for (let round = 1; round <= 3; round++) {
      sim.fault('reconnect');
      await sim.waitFor((s) => s.resumes === round, 5_000);
      await eventually(() => h.session.currentStatus === 'resumed', `RESUMED ${round}`);
    }
    // each cycle RESUMED (which resets the backoff), but none had lasted 1 s: none went at zero delay
    expect(h.reconnects.map((r) => r.delayMs)).toEqual([
      FIRST_BACKOFF_MS,
      FIRST_BACKOFF_MS,
      FIRST_BACKOFF_MS,
    ]);
  });

  it('reconnects at once after every session that was healthy long enough, however close together', async () => {
    const sim = await simulator();
    const h = await started(sim, { random: () => 0.5, instantReconnectMinHealthyMs: 200 });
    for (let round = 1; round <= 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      sim.fault(round === 2 ? 'cut' : 'reconnect');
      await sim.waitFor((s) => s.resumes === round, 5_000);
      await eventually(() => h.session.currentStatus === 'resumed', `RESUMED ${round}`);
    }
    expect(h.reconnects.map((r) => r.delayMs)).toEqual([0, 0, 0]);
  });

  it.each([
    ['op 9 (d=false)', 'invalid_session', {}, [10, 20]],
    ['close 4008', 'close', { code: 4008 }, [60_000, 60_000]],
    ['close 4014 (configuration)', 'close', { code: 4014 }, [300, 300]],
  ] as const)('keeps the delay that %s asks for', async (_what, kind, opts, [min, max]) => {
    const sim = await simulator();
    const h = await started(sim);
    sim.fault(kind, opts);
    await eventually(() => h.reconnects.length === 1, 'the reconnect to be scheduled');
    expect(h.reconnects[0]!.delayMs).toBeGreaterThanOrEqual(min);
    expect(h.reconnects[0]!.delayMs).toBeLessThanOrEqual(max);
  });

  it('declares a half-dead link dead within one heartbeat interval plus the grace, then resumes at once', async () => {
    const intervalMs = 500;
    const sim = await simulator({ heartbeatIntervalMs: intervalMs });
    let beatsAtDetection: number | undefined;
    const h = await started(sim, {
      minHeartbeatIntervalMs: 100,
      heartbeatGraceMs: 100,
      hooks: {
        onReconnect: (reason, detail, delayMs) => {
          beatsAtDetection ??= sim.state().heartbeats;
          h.reconnects.push({ reason, detail, delayMs });
        },
      },
    });
    await sim.waitFor((s) => s.heartbeatAcks >= 2, 5_000);
    const beatsAtFault = sim.state().heartbeats;
    sim.fault('half_dead');
    await eventually(() => h.reconnects.length > 0, 'zombie detection', 5_000);
    // The last frame was an ACK. Silence of interval + grace (600 ms) means the next beat (500 ms after that ACK's
    // beat) goes unanswered and the link is declared dead before the one after it (1,000 ms): exactly one unanswered
    // heartbeat. A watchdog of two intervals or more would let a second beat out first.
    expect(beatsAtDetection! - beatsAtFault).toBe(1);
    expect(h.reconnects[0]).toMatchObject({ reason: 'zombie', delayMs: 0 });
    await sim.waitFor((s) => s.resumes === 1, 5_000);
  });
});

describe('GatewaySession contract options', () => {
  it('fresh: ignores a persisted session and identifies a new one', async () => {
    const sim = await simulator();
    const store = new MemorySessionStore();
    await store.save(0, { sessionId: 'old-session', seq: 7, startedAt: 1 });
    const h = await started(sim, { store, fresh: true });
    expect(sim.state()).toMatchObject({ identifies: 1, resumes: 0 });
    const { sessionId } = h.session.snapshot();
    expect(sessionId).not.toBe('old-session');
    await eventually(() => h.session.snapshot().seq === 1, 'durable seq of READY');
    await h.stop();
    expect(await store.load(0)).toMatchObject({ sessionId, seq: 1 });
  });

  it('stop({ persist: false }): lets received dispatches become durable, closes with 4000, writes nothing', async () => {
    const sim = await simulator();
    let saves = 0;
    const store = new (class extends MemorySessionStore {
      override save(shardId: number, session: PersistedSession): Promise<void> {
        saves++;
        return super.save(shardId, session);
      }
    })();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handed: (number | null | undefined)[] = [];
    const durable: (number | null | undefined)[] = [];
    const h = await started(sim, {
      store,
      onDispatch: async (frames) => {
        handed.push(...frames.map((f) => f.s));
        await blocked;
        durable.push(...frames.map((f) => f.s));
      },
    });
    await eventually(() => saves === 1, 'the save of READY');
    const before = await store.load(0);
    for (let i = 0; i < 3; i++) sim.emit('GROUP_ADD_ROBOT', seedAddRobot(i));
    await eventually(() => handed.length + h.session.pendingDispatches === 3, 'all three received');
    const stopping = h.session.stop({ persist: false });
    release();
    await stopping;
    expect(durable).toEqual([2, 3, 4]);
    expect(saves).toBe(1);
    expect(await store.load(0)).toEqual(before);
    await sim.waitFor((s) => s.closes.some((c) => c.code === 4000 && c.by === 'client'), 5_000);
  });

  it('onResumeFailing: with maxResumeFailures Infinity a refused resume (op 9) still identifies at once', async () => {
    const sim = await simulator();
    const store = new MemorySessionStore();
    await store.save(0, { sessionId: 'unknown-to-qq', seq: 3 });
    const h = sessionAgainst(sim, { store, maxResumeFailures: Number.POSITIVE_INFINITY });
    cleanups.push(() => h.stop());
    await h.session.start();
    await eventually(() => isHealthy(h), 'READY of a new session');
    expect(h.resumeFailing).toEqual([1]);
    expect(sim.state()).toMatchObject({ resumes: 1, identifies: 1 });
    const newId = sim.state().sessions[0]?.session_id;
    expect(h.session.snapshot().sessionId).toBe(newId);
    await h.stop();
    expect((await store.load(0))?.sessionId).toBe(newId);
  });

  it('onResumeFailing: by default a refused resume is reported once and the session identifies', async () => {
    const sim = await simulator();
    const store = new MemorySessionStore();
    await store.save(0, { sessionId: 'unknown-to-qq', seq: 3 });
    const h = sessionAgainst(sim, { store });
    cleanups.push(() => h.stop());
    await h.session.start();
    await eventually(() => isHealthy(h), 'READY of a new session');
    expect(h.resumeFailing).toEqual([1]);
    expect(sim.state().identifies).toBe(1);
  });

  it('sessionStartedAt: set by READY, kept across a resume, restored from the store', async () => {
    const sim = await simulator();
    const store = new MemorySessionStore();
    const before = Date.now();
    const h = await started(sim, { store });
    const startedAt = h.session.snapshot().sessionStartedAt!;
    expect(startedAt).toBeGreaterThanOrEqual(before);
    expect(startedAt).toBeLessThanOrEqual(Date.now());
    sim.fault('reconnect');
    await sim.waitFor((s) => s.resumes === 1, 5_000);
    await eventually(() => h.session.currentStatus === 'resumed', 'RESUMED');
    expect(h.session.snapshot().sessionStartedAt).toBe(startedAt);
    await h.stop();
    expect((await store.load(0))?.startedAt).toBe(startedAt);
    const next = sessionAgainst(sim, { store });
    cleanups.push(() => next.stop());
    await next.session.start();
    await eventually(() => next.session.currentStatus === 'resumed', 'RESUMED after restart');
    expect(next.session.snapshot().sessionStartedAt).toBe(startedAt);
  });
});
