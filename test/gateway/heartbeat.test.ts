import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  heartbeatIntervalFrom,
  MAX_HEARTBEAT_INTERVAL_MS,
  MIN_HEARTBEAT_INTERVAL_MS,
} from '../../src/gateway/heartbeat.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { eventually, sessionAgainst, type SessionHarness } from '../helpers/gateway.js';
import { captureLogger } from '../server/fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('heartbeatIntervalFrom', () => {
  it.each<[string, unknown, number, 'invalid' | 'clamped' | undefined]>([
    ['what QQ sends', 41_250, 41_250, undefined],
    ['the documented example', 45_000, 45_000, undefined],
    ['the floor itself', MIN_HEARTBEAT_INTERVAL_MS, MIN_HEARTBEAT_INTERVAL_MS, undefined],
    ['the ceiling itself', MAX_HEARTBEAT_INTERVAL_MS, MAX_HEARTBEAT_INTERVAL_MS, undefined],
    ['1 ms', 1, MIN_HEARTBEAT_INTERVAL_MS, 'clamped'],
    ['past what a Node timer holds', 3e9, MAX_HEARTBEAT_INTERVAL_MS, 'clamped'],
    ['Infinity (JSON 1e400)', Number.POSITIVE_INFINITY, MAX_HEARTBEAT_INTERVAL_MS, 'clamped'],
    ['zero', 0, DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
    ['negative', -45_000, DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
    ['NaN', Number.NaN, DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
    ['a numeric string', '45000', DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
    ['null', null, DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
    ['missing', undefined, DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
    ['an object', { ms: 45_000 }, DEFAULT_HEARTBEAT_INTERVAL_MS, 'invalid'],
  ])('%s → %s', (_name, sent, intervalMs, adjusted) => {
    expect(heartbeatIntervalFrom(sent)).toEqual(adjusted ? { intervalMs, adjusted } : { intervalMs });
  });

  it('takes a lower floor (tests use one) but never one above the ceiling', () => {
    expect(heartbeatIntervalFrom(200, 100)).toEqual({ intervalMs: 200 });
    expect(heartbeatIntervalFrom(50, 100)).toEqual({ intervalMs: 100, adjusted: 'clamped' });
    expect(heartbeatIntervalFrom(1, 10 * MAX_HEARTBEAT_INTERVAL_MS)).toEqual({
      intervalMs: MAX_HEARTBEAT_INTERVAL_MS,
      adjusted: 'clamped',
    });
  });
});

async function sessionWithLog(
  simOptions: SimulatorOptions,
): Promise<{ sim: Simulator; h: SessionHarness; warnings: () => Record<string, unknown>[] }> {
  // The simulator's own heartbeat timeout is kept far away: only the client's behaviour is under test.
  const sim = await startSimulator({
    heartbeatIntervalMs: 1_000,
    heartbeatTimeoutMs: 600_000,
    ...simOptions,
  });
  cleanups.push(() => sim.close());
  const { logger, lines } = captureLogger('warn');
  // random 0: the first beat goes out at once, so the count over a window follows the interval exactly
  const h = sessionAgainst(sim, { logger, random: () => 0 });
  cleanups.push(() => h.stop());
  await h.session.start();
  await eventually(() => h.session.currentStatus === 'ready', 'READY');
  return { sim, h, warnings: () => lines().filter((line) => line['level'] === 40) };
}

describe('a hostile heartbeat_interval in Hello', () => {
  it.each<[string, unknown, number]>([
    ['3e9 ms (overflows a Node timer to 1 ms), clamped to 5 min', 3e9, MAX_HEARTBEAT_INTERVAL_MS],
    ['1 ms, clamped to 1 s', 1, MIN_HEARTBEAT_INTERVAL_MS],
    ['-5, replaced by 45 s', -5, DEFAULT_HEARTBEAT_INTERVAL_MS],
    ['a string, replaced by 45 s', 'soon', DEFAULT_HEARTBEAT_INTERVAL_MS],
    ['null, replaced by 45 s', null, DEFAULT_HEARTBEAT_INTERVAL_MS],
  ])('%s: no reconnect storm, heartbeats at that interval, and a warning', async (_name, sent, usedMs) => {
    const { sim, h, warnings } = await sessionWithLog({ helloHeartbeatInterval: sent });
    const readyAt = Date.now();
    // a bounded window: long enough for a 1 ms timer (or an overflowed one) to fire hundreds of times
    await sim.waitFor((s) => s.heartbeats >= (usedMs === MIN_HEARTBEAT_INTERVAL_MS ? 2 : 1), 5_000);
    await sleep(1_000);
    const state = sim.state();
    expect(state).toMatchObject({ connections: 1, identifies: 1, resumes: 0, closes: [] });
    expect(h.reconnects).toEqual([]);
    // one beat at once, then one per interval: generous by one
    expect(state.heartbeats).toBeLessThanOrEqual(Math.floor((Date.now() - readyAt) / usedMs) + 2);
    expect(warnings()).toContainEqual(
      expect.objectContaining({ sent: JSON.stringify(sent), usedMs, shardId: 0 }),
    );
  });

  it('uses what QQ sends as is, without a warning', async () => {
    const { sim, warnings } = await sessionWithLog({ helloHeartbeatInterval: 41_250 });
    await sim.waitFor((s) => s.heartbeats >= 1, 5_000);
    await sleep(300);
    expect(sim.state()).toMatchObject({ heartbeats: 1, connections: 1, identifies: 1 });
    expect(warnings()).toEqual([]);
  });
});

describe('a second Hello on the same connection', () => {
  it('is ignored: one Identify, no reconnect, the heartbeat is not doubled', async () => {
    const intervalMs = 1_000;
    const { sim, h, warnings } = await sessionWithLog({ heartbeatIntervalMs: intervalMs });
    await sim.waitFor((s) => s.heartbeats >= 1, 5_000);
    const helloAt = Date.now();
    const beatsBefore = sim.state().heartbeats;
    sim.fault('hello');
    // a second set of timers would beat at once (random 0) and every interval beside the first
    await sleep(intervalMs + 500);
    const state = sim.state();
    expect(state).toMatchObject({ identifies: 1, resumes: 0, connections: 1, closes: [] });
    expect(h.reconnects).toEqual([]);
    expect(h.session.currentStatus).toBe('ready');
    expect(state.heartbeats - beatsBefore).toBeLessThanOrEqual(
      Math.floor((Date.now() - helloAt) / intervalMs) + 1,
    );
    expect(warnings()).toContainEqual(
      expect.objectContaining({ keptIntervalMs: intervalMs, msg: expect.stringMatching(/another Hello/) }),
    );
  });
});
