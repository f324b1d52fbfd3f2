import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseKey } from '../../src/gateway/lease.js';
import { ChaosWorld, LEASE_TTL_MS } from './world.js';

/**
 * docs/design.md §5, each guarantee proven by killing the real thing: bridge processes are `node dist/cli.js run`,
 * Redis is a real redis-server with AOF, QQ is the simulator, the target is a real HTTP server. Every scenario
 * reports sent / delivered / lost / duplicated and asserts lost = 0 and duplicated = 0.
 */
let world: ChaosWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForState(
  w: ChaosWorld,
  what: string,
  check: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${w.logTail('a')}`);
    await sleep(50);
  }
}

interface LeaseHolder {
  /** The holder's `gateway.replica_id`: the chaos world gives each slot its own name as replica id. */
  replicaId: string;
  token: number;
}

/** A lease value, `<replica id>/<incarnation>:<fencing token>` (`createLeaseOwnerId()` plus the token), parsed. */
function parseLeaseValue(key: string, value: string | null): LeaseHolder {
  const match = /^([^/:\s]+)\/[0-9a-f]+:(\d+)$/.exec(value ?? '');
  if (!match) {
    throw new Error(`lease ${key} holds ${JSON.stringify(value)}, not <replica id>/<incarnation>:<token>`);
  }
  return { replicaId: match[1]!, token: Number(match[2]) };
}

/** The `time` of each line of a bridge's JSON log whose message starts with `message`. */
function loggedTimes(w: ChaosWorld, slot: string, message: string): number[] {
  return readFileSync(w.logFile(slot), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { time?: unknown; msg?: unknown })
    .filter((entry) => typeof entry.msg === 'string' && entry.msg.startsWith(message))
    .map((entry) => Number(entry.time));
}

/**
 * docs/design.md §5: the survivor takes over within the lease TTL. The killed holder's lease outlives the kill by
 * at most one TTL and the survivor tries it every TTL/3; the rest is room for a loaded machine. A lease that lives
 * much longer than its TTL, or a survivor that stops competing, misses this by far.
 */
const TAKEOVER_DEADLINE_MS = 3 * LEASE_TTL_MS;

describe('chaos: no event lost, none delivered twice', () => {
  it('kill -9 of an all-in-one process mid-stream, then restart: it resumes and gets what was sent meanwhile', async () => {
    world = await ChaosWorld.create();
    const w = world;
    let bridge = w.start('a');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    await w.stream(300, 5, async (i) => {
      if (i === 100) await w.kill9(bridge);
      if (i === 200) bridge = w.start('a');
    });
    const report = await w.settle();
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
    // at most the deliveries that were in flight (≤ concurrency 8) are sent again
    expect(report.redeliveredAfterKill).toBeLessThanOrEqual(8);
    expect(w.sim.state().resumes).toBeGreaterThanOrEqual(1);
    expect(w.sim.state().identifies).toBe(1);
  });

  it('kill -9 of an all-in-one process frozen with deliveries in flight: what it never recorded is redelivered', async () => {
    // The state a CI run reached by starvation (load ~10): deliveries acknowledged well before the kill that the
    // process had not yet recorded as completed. Frozen by SIGSTOP, then killed, it reaches that state every time.
    world = await ChaosWorld.create();
    const w = world;
    let bridge = w.start('a');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    let requestsBeforeDelay = 0;
    await w.stream(300, 5, async (i) => {
      // slow answers fill the 8 delivery slots, so deliveries are in flight when the process freezes
      if (i === 90) {
        requestsBeforeDelay = w.receiver.requests();
        w.receiver.setDelay(300);
      }
      if (i === 100) {
        // a loaded machine may lag behind the stream: freeze only once a request is held by the slow answer
        await waitForState(
          w,
          'a delivery held by the slow receiver',
          () => w.receiver.requests() > requestsBeforeDelay,
        );
        bridge.freeze();
        await sleep(1_000);
        w.receiver.setDelay(0);
        await w.kill9(bridge);
      }
      if (i === 200) bridge = w.start('a');
    });
    const report = await w.settle();
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
    // Locally this run re-sends up to 8 deliveries; CI runs have re-sent none (the held delivery was recorded or
    // never sent, for a reason not yet found), so only the bound is asserted, with the count printed.
    console.log(`chaos: frozen kill re-sent ${report.redeliveredAfterKill} deliveries in flight`);
    expect(report.redeliveredAfterKill).toBeLessThanOrEqual(8);
    // each was sent before the freeze (answered while frozen, or into the dead socket) and taken back from the dead
    // worker by the stalled-job check once: a re-run of the same job, with the same webhook-id and attempt number
    for (const redelivery of report.twiceAcknowledged) {
      const [first, second] = redelivery.deliveries;
      expect(first!.arrivedMs, redelivery.id).toBeLessThan(0);
      expect(second!.arrivedMs, redelivery.id).toBeGreaterThan(0);
      expect(second!.attempt, redelivery.id).toBe(first!.attempt);
      expect(redelivery.job, redelivery.id).toMatchObject({ stalledCount: 1, attemptsMade: 1 });
    }
  });

  it('SIGTERM mid-stream: exits 0 after persisting, and a restart resumes without loss or duplicates', async () => {
    world = await ChaosWorld.create();
    const w = world;
    let bridge = w.start('a');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    let exitCode: number | null = -1;
    await w.stream(200, 10, async (i) => {
      if (i === 80) exitCode = await bridge.terminate();
      if (i === 120) bridge = w.start('a');
    });
    const report = await w.settle();
    expect(exitCode).toBe(0);
    expect(report, w.logTail('a')).toMatchObject({
      lost: 0,
      duplicated: 0,
      delivered: 200,
      redeliveredAfterKill: 0,
    });
    expect(w.sim.state()).toMatchObject({ identifies: 1 });
  });

  it('kill -9 of a worker mid-delivery with a second worker running: its jobs are recovered, none lost', async () => {
    world = await ChaosWorld.create();
    const w = world;
    w.start('gateway', 'gateway');
    const workers = [w.start('w1', 'worker'), w.start('w2', 'worker')];
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    // slow answers keep deliveries in flight on both workers when one dies
    w.receiver.setDelay(200);
    await w.stream(200, 10, async (i) => {
      if (i === 100) await w.kill9(workers[0]!);
    });
    const report = await w.settle(60_000);
    expect(report, w.logTail('w2')).toMatchObject({ lost: 0, duplicated: 0, delivered: 200 });
    expect(report.redeliveredAfterKill).toBeLessThanOrEqual(8);
  });

  it('gateway faults in one stream: op 7, close 4009, cut TCP, half-dead link, op 9', async () => {
    world = await ChaosWorld.create();
    const w = world;
    w.start('a');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    const faults: Record<number, () => void> = {
      50: () => w.sim.fault('reconnect'),
      100: () => w.sim.fault('close', { code: 4009 }),
      150: () => w.sim.fault('cut'),
      200: () => w.sim.fault('half_dead'),
      250: () => w.sim.fault('invalid_session'),
    };
    // Each fault waits until the bridge recovered from the previous one: op 9 discards the session on QQ's
    // side, and with it whatever a still-dead link had not yet received — a loss no client can prevent.
    let sessionsStarted = 1;
    await w.stream(300, 20, async (i) => {
      const fault = faults[i];
      if (!fault) return;
      await waitForState(w, `recovery before fault at ${i}`, () => {
        const s = w.sim.state();
        return s.identifies + s.resumes >= sessionsStarted && s.sessions.some((x) => x.connected);
      });
      fault();
      sessionsStarted++;
    });
    const report = await w.settle();
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
    const state = w.sim.state();
    expect(state.resumes).toBeGreaterThanOrEqual(4);
    expect(state.identifies).toBe(2);
  });

  it('Redis killed for 10 s mid-stream, then started again; and a process killed during the outage', async () => {
    world = await ChaosWorld.create();
    const w = world;
    let bridge = w.start('a');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    await w.stream(300, 50, async (i) => {
      if (i === 60) await w.redis.stop();
      // kill the process while Redis is away: what it journaled must survive and be replayed at start
      if (i === 120) await w.kill9(bridge);
      if (i === 140) bridge = w.start('a');
      if (i === 260) await w.redis.start();
    });
    const report = await w.settle(90_000);
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
  }, 180_000);

  it('a target down (connection refused) for 30 s, then back: the backlog drains and nothing is lost', async () => {
    world = await ChaosWorld.create();
    const w = world;
    w.start('a');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    await w.stream(100, 10);
    await w.receiver.goDown();
    const downAt = Date.now();
    await w.stream(200, 100);
    await sleep(Math.max(0, 30_000 - (Date.now() - downAt)));
    await w.receiver.comeBack();
    const report = await w.settle(60_000);
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 300 });
  }, 150_000);

  it('two gateway replicas: kill -9 of the lease holder, the other takes over within the TTL and resumes', async () => {
    world = await ChaosWorld.create();
    const w = world;
    const slots = ['g1', 'g2'];
    const replicas = slots.map((slot) => w.start(slot, 'gateway'));
    w.start('worker', 'worker');
    await waitForState(w, 'first identify', () => w.sim.state().sessions.some((s) => s.connected));
    const redis = new Redis(w.redis.url);
    try {
      const key = leaseKey(w.prefix, '102000000', 0);
      const holder = async (): Promise<LeaseHolder> => parseLeaseValue(key, await redis.get(key));
      await w.stream(100, 10);
      const before = await holder();
      const index = slots.indexOf(before.replicaId);
      expect(index, `lease holder ${before.replicaId}`).toBeGreaterThanOrEqual(0);
      const killedAt = Date.now();
      await w.kill9(replicas[index]!);
      await w.stream(200, 10);
      const report = await w.settle();
      expect(report, `${w.logTail('g1')}\n${w.logTail('g2')}`).toMatchObject({
        lost: 0,
        duplicated: 0,
        delivered: 300,
      });
      expect(w.sim.state().identifies).toBe(1);
      expect(w.sim.state().resumes).toBeGreaterThanOrEqual(1);
      const survivorSlot = slots[1 - index]!;
      // the survivor holds the lease now, under a higher fencing token than the killed holder's
      const after = await holder();
      expect(after.replicaId).toBe(survivorSlot);
      expect(after.token).toBeGreaterThan(before.token);
      // and took it over within the lease TTL, by its own log's clock (same machine as the test's)
      const takeovers = loggedTimes(w, survivorSlot, 'acquired the shard lease').filter((t) => t >= killedAt);
      expect(takeovers, w.logTail(survivorSlot)).toHaveLength(1);
      expect(takeovers[0]! - killedAt).toBeLessThanOrEqual(TAKEOVER_DEADLINE_MS);
    } finally {
      redis.disconnect();
    }
  });
});
