/**
 * Gateway dark time: how long the shard has no READY/RESUMED session after each kind of fault, measured from
 * outside the bridge on the simulator's timeline (src/simulator/dark-time.ts), with events flowing to the receiver
 * meanwhile. Rotation and restart need config keys (`gateway.rotate_every`, `gateway.replica_id`) that a build may
 * not have: they are tried, and reported as not measured when the bridge refuses its config for that key.
 */
import {
  darkIntervals,
  darkTimeAfterFault,
  darkTimeFrom,
  faultEntries,
  startSimulator,
  totalDarkMs,
  type SocketFaultKind,
  type TimelineEntry,
} from '../src/simulator/index.js';
import {
  EVENTS_PER_SEC,
  RECOVERY_TIMEOUT_MS,
  SHARD,
  bridgeSpec,
  notMeasured,
  recovered,
  sample,
  startIfSupported,
  timeline,
  until,
  withEvents,
  type DarkTimeKind,
  type DarkTimePhase,
  type DarkTimeRow,
} from './dark-time-measure.js';
import { step, type BenchContext } from './phases.js';
import { startBridge } from './pipes.js';
import { sleep } from './time.js';
import { MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS } from '../src/gateway/reconnect-plan.js';

export type { DarkTimeKind, DarkTimePhase, DarkTimeRow } from './dark-time-measure.js';

/** The shortest interval the bridge accepts (it clamps to 1 s – 5 min). */
const HEARTBEAT_INTERVAL_MS = 1_000;
/** The shortest period the config accepts: a rotation every 10 s keeps the phase short. */
const ROTATE_EVERY = '10s';
/** Rotations measured: each takes ROTATE_EVERY, so fewer than the other kinds' repeats. */
const ROTATIONS = 3;
/**
 * A healthy link between two faults, so that each starts from a settled session that has been READY long enough to
 * earn the instant reconnect (a session that ends within MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS gets the backoff).
 */
const BETWEEN_FAULTS_MS = MIN_HEALTHY_FOR_INSTANT_RECONNECT_MS + 500;

const SOCKET_FAULTS: { kind: DarkTimeKind; fault: SocketFaultKind; code?: number }[] = [
  { kind: 'op7', fault: 'reconnect' },
  { kind: '4009', fault: 'close', code: 4009 },
  { kind: 'cut', fault: 'cut' },
  { kind: 'half-dead', fault: 'half_dead' },
];

/** op 7, 4009, cut and half-dead, `repeats` times each, on one bridge. */
async function socketFaults(ctx: BenchContext): Promise<DarkTimeRow[]> {
  const sim = await startSimulator({ heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS });
  try {
    const bridge = await startBridge(bridgeSpec(ctx, sim, 'dark-time'));
    try {
      const rows: DarkTimeRow[] = [];
      for (const { kind, fault, code } of SOCKET_FAULTS) {
        step(`dark time: ${kind}, ${ctx.plan.darkTimeRepeats} times`);
        const row = await withEvents(ctx, sim, async () => {
          const samples = [];
          for (let i = 0; i < ctx.plan.darkTimeRepeats; i++) {
            await sleep(BETWEEN_FAULTS_MS);
            const mark = timeline(sim).at(-1)?.seq ?? 0;
            const hit = sim.fault(fault, { shard: SHARD, ...(code ? { code } : {}) });
            if (hit !== 1) throw new Error(`dark time: fault ${kind} hit ${hit} sockets, not 1`);
            const entry = faultEntries(timeline(sim), { shard: SHARD, kind: fault, afterSeq: mark })[0]!;
            samples.push(sample(await recovered(sim, kind, () => darkTimeAfterFault(timeline(sim), entry))));
          }
          return samples;
        });
        rows.push({ kind, measured: true, ...row });
      }
      return rows;
    } finally {
      await bridge.stop();
    }
  } finally {
    await sim.close();
  }
}

/** Sessions rotated every ROTATE_EVERY: the dark time of each rotation (0 when it is seamless). */
async function rotation(ctx: BenchContext): Promise<DarkTimeRow> {
  const rotations = Math.min(ROTATIONS, ctx.plan.darkTimeRepeats);
  step(`dark time: rotation (gateway.rotate_every ${ROTATE_EVERY}), ${rotations} rotations`);
  const sim = await startSimulator({ heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS });
  try {
    const started = await startIfSupported(
      bridgeSpec(ctx, sim, 'dark-rotate', { rotate_every: ROTATE_EVERY }),
    );
    if ('refusal' in started) return notMeasured('rotation', started.refusal);
    try {
      const readies = (): TimelineEntry[] =>
        timeline(sim).filter((e) => e.shard === SHARD && e.event === 'ready_sent');
      const row = await withEvents(ctx, sim, async () => {
        const wanted = rotations + 1;
        const all = await until(
          `${rotations} rotations`,
          () => (readies().length >= wanted ? readies() : undefined),
          RECOVERY_TIMEOUT_MS + rotations * 15_000,
        );
        const entries = timeline(sim);
        return all.slice(1, wanted).map((ready, i) => ({
          darkMs: totalDarkMs(darkIntervals(entries, { shard: SHARD, from: all[i]!.at, to: ready.at })),
        }));
      });
      return { kind: 'rotation', measured: true, ...row };
    } finally {
      await started.bridge.stop();
    }
  } finally {
    await sim.close();
  }
}

/** kill -9 of the bridge and an immediate restart with the same `gateway.replica_id`: kill → READY/RESUMED. */
async function restart(ctx: BenchContext): Promise<DarkTimeRow> {
  step(`dark time: kill -9 + restart with the same gateway.replica_id, ${ctx.plan.darkTimeRepeats} times`);
  const sim = await startSimulator({ heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS });
  try {
    const spec = bridgeSpec(ctx, sim, 'dark-restart', { replica_id: 'bench-dark-restart' });
    const started = await startIfSupported(spec);
    if ('refusal' in started) return notMeasured('restart', started.refusal);
    let bridge = started.bridge;
    try {
      const row = await withEvents(ctx, sim, async () => {
        const samples = [];
        for (let i = 0; i < ctx.plan.darkTimeRepeats; i++) {
          await sleep(BETWEEN_FAULTS_MS);
          const killedAt = Date.now(); // the timeline's clock
          await bridge.kill9();
          bridge = await startBridge(spec);
          const from = { shard: SHARD, from: killedAt };
          samples.push(sample(await recovered(sim, 'restart', () => darkTimeFrom(timeline(sim), from))));
        }
        return samples;
      });
      return { kind: 'restart', measured: true, ...row };
    } finally {
      await bridge.stop();
    }
  } finally {
    await sim.close();
  }
}

/** Every fault kind in turn; the kinds a build cannot configure are reported as not measured. */
export async function darkTimePhase(ctx: BenchContext): Promise<DarkTimePhase> {
  const rows = await socketFaults(ctx);
  rows.push(await rotation(ctx), await restart(ctx));
  return {
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    repeats: ctx.plan.darkTimeRepeats,
    rotateEvery: ROTATE_EVERY,
    eventsPerSec: EVENTS_PER_SEC,
    rows,
  };
}
