import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import {
  darkIntervals,
  darkTimeAfterFault,
  darkTimeFrom,
  totalDarkMs,
  type SocketFaultKind,
} from '../../src/simulator/index.js';
import {
  SHARD,
  darkLine,
  faultAfter,
  lastSeq,
  leaseHolderSlot,
  poll,
  recovered,
  timeline,
  unsupportedGatewayKeys,
} from './dark-time.js';
import { ChaosWorld } from './world.js';
import { MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS } from '../../src/gateway/reconnect-plan.js';

/**
 * Gateway dark time (no READY/RESUMED session on the shard) after each kind of fault, measured from outside the
 * bridge on the simulator's timeline, with events flowing through a real bridge process to a counting receiver.
 * Each scenario prints one `dark-time:` line and asserts lost 0 / duplicated 0; the dark times themselves are
 * printed, never asserted (the machine is shared). The simulator's heartbeat interval is 1 s (ChaosWorld), the
 * shortest the bridge accepts, which keeps the half-dead link's detection short.
 */
let world: ChaosWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function worldWithSession(gateway: Record<string, string> = {}): Promise<ChaosWorld> {
  world = await ChaosWorld.create();
  const w = world;
  w.start('a', 'all', '', gateway);
  await poll(w, 'first READY', () => (w.sim.state().sessions.some((s) => s.connected) ? true : undefined));
  return w;
}

/**
 * Skips the scenario, saying why, when this build does not know a gateway key it needs; first checks that the
 * config is refused for that key and not for anything else.
 */
async function requireGatewayKeys(ctx: TestContext, gateway: Record<string, string>): Promise<void> {
  world = await ChaosWorld.create();
  const refusal = await unsupportedGatewayKeys(world, gateway);
  await world.close();
  world = undefined;
  if (refusal === undefined) return;
  for (const key of Object.keys(gateway)) expect(refusal).toContain(`gateway.${key}: unknown key`);
  console.log(
    `dark-time: not measured, this build refuses gateway.${Object.keys(gateway).join(', ')}: ${refusal}`,
  );
  ctx.skip(`gateway.${Object.keys(gateway).join(', ')} not supported by this build`);
}

const SOCKET_FAULTS: { label: string; kind: SocketFaultKind; code?: number }[] = [
  { label: 'op 7 (reconnect)', kind: 'reconnect' },
  { label: 'close 4009', kind: 'close', code: 4009 },
  { label: 'cut link (no close frame)', kind: 'cut' },
  { label: 'half-dead link (no ACKs)', kind: 'half_dead' },
];

/**
 * kill -9 of the only bridge process mid-stream and a restart at once in the same slot, with `restartGateway`'s
 * keys (by default the same as the first run's).
 */
async function killAndRestart(
  w: ChaosWorld,
  label: string,
  gateway: Record<string, string>,
  restartGateway = gateway,
): Promise<void> {
  let bridge = w.start('a', 'all', '', gateway);
  await poll(w, 'first READY', () => (w.sim.state().sessions.some((s) => s.connected) ? true : undefined));
  await w.stream(150, 10, async (i) => {
    if (i !== 30) return;
    await w.kill9(bridge);
    bridge = w.start('a', 'all', '', restartGateway);
  });
  const killedAt = w.kills.at(-1)!.at;
  const dark = await recovered(w, label, (entries) =>
    darkTimeFrom(entries, { shard: SHARD, from: killedAt }),
  );
  const report = await w.settle();
  console.log(darkLine(label, dark, report));
  expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 150 });
}

describe('chaos: gateway dark time per fault (printed), nothing lost or duplicated', () => {
  it('op 7, close 4009, cut link, half-dead link, one after another on one bridge', async () => {
    const w = await worldWithSession();
    // QQ cycles a session after about 30 min; a session ended within 1 s of READY gets the backoff instead of the
    // instant reconnect (MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS), so the first fault waits that long. Each later
    // fault comes after the previous one settled (at least 1 s of quiet).
    await new Promise((resolve) => setTimeout(resolve, MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS + 200));
    for (const fault of SOCKET_FAULTS) {
      const mark = lastSeq(w);
      const duplicatedBefore = (await w.report()).duplicated;
      await w.stream(50, 20, (i) => {
        if (i !== 10) return;
        const hit = w.sim.fault(fault.kind, { shard: SHARD, ...(fault.code ? { code: fault.code } : {}) });
        expect(hit, `${fault.label}: sockets hit`).toBe(1);
      });
      const entry = await poll(w, `${fault.label} in the timeline`, () => faultAfter(w, fault.kind, mark));
      const dark = await recovered(w, fault.label, (entries) => darkTimeAfterFault(entries, entry));
      const report = await w.settle();
      console.log(darkLine(fault.label, dark, report, duplicatedBefore));
      expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0 });
    }
    expect(w.sim.state().identifies).toBe(1);
  });

  it('session rotation (gateway.rotate_every 10s): dark only while no session of the shard is READY', async (ctx) => {
    const gateway = { rotate_every: '10s' };
    await requireGatewayKeys(ctx, gateway);
    const w = await worldWithSession(gateway);
    const readies = (): number =>
      timeline(w).filter((e) => e.shard === SHARD && e.event === 'ready_sent').length;
    const from = timeline(w).find((e) => e.event === 'ready_sent')!.at;
    // events flow across the rotation, which comes 10 s after the first READY
    await w.stream(700, 20);
    await poll(w, 'a rotation', () => (readies() >= 2 ? true : undefined));
    const to = Date.now();
    const intervals = darkIntervals(timeline(w), { shard: SHARD, from, to });
    const report = await w.settle();
    const longest = Math.max(0, ...intervals.map((i) => i.to - i.from));
    console.log(
      `dark-time: rotation (rotate_every 10s)             ${readies() - 1} rotation(s) in ${to - from} ms: ` +
        `dark ${totalDarkMs(intervals)} ms in all, longest ${longest} ms, ${intervals.length} gaps; ` +
        `lost ${report.lost}, duplicated ${report.duplicated}`,
    );
    expect(readies()).toBeGreaterThanOrEqual(2);
    expect(report, w.logTail('a')).toMatchObject({ lost: 0, duplicated: 0, delivered: 700 });
  });

  it('kill -9 and an immediate restart under another gateway.replica_id: dark until the dead lease expires', async () => {
    world = await ChaosWorld.create();
    await killAndRestart(
      world,
      'kill -9 + restart, other replica_id',
      { replica_id: 'chaos-a' },
      { replica_id: 'chaos-b' },
    );
  });

  it('kill -9 and an immediate restart with the same gateway.replica_id: the lease is taken back', async (ctx) => {
    const gateway = { replica_id: 'chaos-a' };
    await requireGatewayKeys(ctx, gateway);
    world = await ChaosWorld.create();
    await killAndRestart(world, 'kill -9 + restart, same replica_id', gateway);
  });

  it('two gateway replicas, kill -9 of the lease holder: dark until the other takes over', async () => {
    world = await ChaosWorld.create();
    const w = world;
    const replicas = { g1: w.start('g1', 'gateway'), g2: w.start('g2', 'gateway') };
    w.start('worker', 'worker');
    const slots = Object.keys(replicas) as (keyof typeof replicas)[];
    await poll(
      w,
      'first READY',
      () => (w.sim.state().sessions.some((s) => s.connected) ? true : undefined),
      slots,
    );
    const holder = await poll(w, 'the lease holder', () => leaseHolderSlot(w, slots), slots);
    await w.stream(200, 10, async (i) => {
      if (i === 50) await w.kill9(replicas[holder as keyof typeof replicas]);
    });
    const killedAt = w.kills.at(-1)!.at;
    const dark = await recovered(
      w,
      'failover',
      (entries) => darkTimeFrom(entries, { shard: SHARD, from: killedAt }),
      slots,
    );
    const report = await w.settle();
    console.log(darkLine('replica failover (lease_ttl 2s)', dark, report));
    expect(report, slots.map((slot) => w.logTail(slot)).join('\n')).toMatchObject({
      lost: 0,
      duplicated: 0,
      delivered: 200,
    });
  });
});
