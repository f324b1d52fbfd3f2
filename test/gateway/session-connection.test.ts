import { afterEach, describe, expect, it } from 'vitest';
import { Heartbeat } from '../../src/gateway/heartbeat.js';
import { MemorySessionStore, type PersistedSession } from '../../src/gateway/session-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { timeoutUnder } from '../../src/util/abortable.js';
import { eventually, seedAddRobot, sessionAgainst, type SessionHarness } from '../helpers/gateway.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function simulator(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  const sim = await startSimulator({ heartbeatIntervalMs: 500, ...options });
  cleanups.push(() => sim.close());
  return sim;
}

async function started(
  sim: Simulator,
  overrides: Parameters<typeof sessionAgainst>[1] = {},
): Promise<SessionHarness> {
  const harness = sessionAgainst(sim, { minHeartbeatIntervalMs: 100, heartbeatGraceMs: 100, ...overrides });
  cleanups.push(() => harness.stop());
  await harness.session.start();
  await eventually(() => harness.session.currentStatus === 'ready', 'READY');
  return harness;
}

describe('timers of a connection', () => {
  it('timeoutUnder: an abort clears the timer; cancel clears just it', async () => {
    const fired: string[] = [];
    const controller = new AbortController();
    timeoutUnder(controller.signal, 20, () => fired.push('aborted one'));
    const cancel = timeoutUnder(new AbortController().signal, 20, () => fired.push('cancelled one'));
    timeoutUnder(new AbortController().signal, 20, () => fired.push('kept one'));
    controller.abort();
    cancel();
    timeoutUnder(controller.signal, 0, () => fired.push('armed after the abort'));
    await sleep(60);
    expect(fired).toEqual(['kept one']);
  });

  it("a heartbeat stops beating and watching once its connection's signal aborts", async () => {
    const controller = new AbortController();
    const events: string[] = [];
    new Heartbeat({
      intervalMs: 20,
      graceMs: 10,
      random: () => 0,
      signal: controller.signal,
      beat: () => events.push('beat'),
      onSilence: () => events.push('silence'),
    });
    await sleep(5);
    controller.abort();
    const beats = events.length;
    await sleep(100);
    expect(events.length).toBe(beats);
    expect(events).not.toContain('silence');
  });

  type EndPath = [string, (sim: Simulator, h: SessionHarness) => Promise<void> | void];
  it.each<EndPath>([
    ['op 7', (sim) => void sim.fault('reconnect')],
    ['close 4009', (sim) => void sim.fault('close', { code: 4009 })],
    ['a cut link', (sim) => void sim.fault('cut')],
    ['a half-dead link', (sim) => void sim.fault('half_dead')],
    ['op 9', (sim) => void sim.fault('invalid_session')],
    ['close 4914 (fatal)', (sim) => void sim.fault('close', { code: 4914 })],
    ['close 4014 (configuration)', (sim) => void sim.fault('close', { code: 4014 })],
    ['stop()', (_sim, h) => h.session.stop()],
    ['stop({ persist: false })', (_sim, h) => h.session.stop({ persist: false })],
  ])('aborts the connection signal when it ends by %s', async (_what, endIt) => {
    const sim = await simulator();
    const h = await started(sim);
    const signal = h.session.connectionSignal!;
    expect(signal.aborted).toBe(false);
    await endIt(sim, h);
    await eventually(() => signal.aborted, 'the signal to abort', 5_000);
    // the socket's close event, which follows the abort, lets go of the connection
    await eventually(() => h.session.connectionSignal !== signal, 'the connection to be let go', 5_000);
  });

  it('aborts the connection signal when a dispatch cannot be made durable', async () => {
    const sim = await simulator();
    let fail = true;
    const h = await started(sim, {
      onDispatch: () =>
        fail ? ((fail = false), Promise.reject(new Error('redis away'))) : Promise.resolve(),
    });
    const signal = h.session.connectionSignal!;
    sim.emit('GROUP_ADD_ROBOT', seedAddRobot());
    await eventually(() => signal.aborted, 'the signal to abort', 5_000);
    await eventually(() => h.reconnects.length > 0, 'the reconnect');
    expect(h.reconnects[0]?.reason).toBe('dispatch_failed');
  });

  it('aborts the connection signal on a handshake timeout', async () => {
    const sim = await simulator();
    const store = new MemorySessionStore();
    // Hello arrives but no token ever does, so neither Identify nor READY follows
    const tokens = { get: () => new Promise<string>(() => undefined), refresh: () => Promise.resolve('t') };
    const stalled = sessionAgainst(sim, { store, handshakeTimeoutMs: 200, tokens });
    cleanups.push(() => stalled.session.stop());
    await stalled.session.start();
    await eventually(() => stalled.session.connectionSignal !== undefined, 'a connection');
    const signal = stalled.session.connectionSignal!;
    await eventually(() => signal.aborted, 'the signal to abort', 5_000);
    await eventually(() => stalled.reconnects.length > 0, 'the reconnect');
    expect(stalled.reconnects[0]?.reason).toBe('handshake_timeout');
  });
});

describe('GatewaySession.stop', () => {
  it('runs every step even if one throws: the socket is closed and the status is stopped', async () => {
    const sim = await simulator();
    let refuse = false;
    const store = new (class extends MemorySessionStore {
      override save(shardId: number, session: PersistedSession): Promise<void> {
        return refuse ? Promise.reject(new Error('redis away')) : super.save(shardId, session);
      }
    })();
    const h = await started(sim, {
      store,
      hooks: {
        onSaveFailure: () => {
          throw new Error('a hook that throws');
        },
      },
    });
    refuse = true;
    await expect(h.session.stop()).rejects.toThrow('a hook that throws');
    expect(h.session.currentStatus).toBe('stopped');
    await sim.waitFor((s) => s.closes.some((c) => c.code === 4000 && c.by === 'client'), 5_000);
    refuse = false; // the cleanup stops it again
  });
});
