/**
 * What the dark-time phase measures with: a trickle of events to the receiver, waiting on the simulator's
 * timeline, and starting a bridge whose config a build may refuse.
 */
import type { DarkTime, Simulator, TimelineEntry } from '../src/simulator/index.js';
import { BENCH_EVENT_TYPE, benchEventData, nowMs } from './payload.js';
import type { PhaseStats } from './receiver-protocol.js';
import type { BenchContext } from './phases.js';
import { startBridge, type BridgePipe, type BridgeSpec } from './pipes.js';
import { sessionPrefix } from './redis.js';
import { round, summarize } from './stats.js';
import { sleep } from './time.js';

export type DarkTimeKind = 'op7' | '4009' | 'cut' | 'half-dead' | 'rotation' | 'restart';

export interface DarkTimeRow {
  kind: DarkTimeKind;
  /** false when this build refused the config the measurement needs; `note` says why */
  measured: boolean;
  note?: string;
  /** dark time of each measurement, ms */
  samplesMs: number[];
  medianMs: number;
  /** median of fault → first Identify or Resume received (NaN for rotation, which needs no fault) */
  handshakeMedianMs: number;
  /** events emitted while measuring (a trickle), and what the receiver missed or got twice */
  events: number;
  lost: number;
  duplicates: number;
}

export interface DarkTimePhase {
  /** the simulator's heartbeat interval, ms: it sets how soon a half-dead link is noticed */
  heartbeatIntervalMs: number;
  repeats: number;
  rotateEvery: string;
  eventsPerSec: number;
  rows: DarkTimeRow[];
}

export const EVENTS_PER_SEC = 100;
export const RECOVERY_TIMEOUT_MS = 60_000;
/** The receiver tracks seqs 1..this in a phase; far above what a trickle emits. */
const MAX_SEQ = 100_000;
export const SHARD = 0;
const RETRY = { attempts: 100, base: '100ms', max: '2s' };

/** Events at a fixed rate on the shard, numbered from 1, until stopped. */
export class EventTrickle {
  #seq = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(sim: Simulator) {
    this.#timer = setInterval(() => {
      this.#seq += 1;
      sim.emit(BENCH_EVENT_TYPE, benchEventData(this.#seq, nowMs()));
    }, 1000 / EVENTS_PER_SEC);
  }

  stop(): number {
    clearInterval(this.#timer);
    return this.#seq;
  }
}

export function timeline(sim: Simulator): TimelineEntry[] {
  return sim.state().timeline;
}

export async function until<T>(what: string, read: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`dark time: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export function recovered(sim: Simulator, what: string, measure: () => DarkTime): Promise<DarkTime> {
  return until(
    `${what}: READY/RESUMED again`,
    () => {
      const dark = measure();
      return dark.darkMs === undefined ? undefined : dark;
    },
    RECOVERY_TIMEOUT_MS,
  );
}

/** Runs `measure` with events trickling to the receiver, then counts what arrived; `measure` returns dark times. */
/**
 * Waits until every one of the `emitted` events arrived at least once. The pushed delivery count also counts
 * repeats (a kill -9 re-sends what was in flight), so reaching `total` is only where the check starts.
 */
async function allArrived(ctx: BenchContext, total: number, emitted: number): Promise<PhaseStats> {
  const deadline = performance.now() + ctx.plan.drainTimeoutMs;
  await ctx.receiver.waitForDelivered(total, ctx.plan.drainTimeoutMs);
  for (;;) {
    const stats = await ctx.receiver.stats(emitted);
    if (stats.missing === 0) return stats;
    if (performance.now() > deadline) {
      console.error(`  ! dark time: not every event arrived within ${ctx.plan.drainTimeoutMs} ms`);
      return stats;
    }
    await sleep(100);
  }
}

export async function withEvents(
  ctx: BenchContext,
  sim: Simulator,
  measure: () => Promise<{ darkMs: number; handshakeMs?: number }[]>,
): Promise<Omit<DarkTimeRow, 'kind' | 'measured'>> {
  await ctx.receiver.reset(1, MAX_SEQ);
  const base = ctx.receiver.delivered;
  const trickle = new EventTrickle(sim);
  let emitted = 0;
  let samples: { darkMs: number; handshakeMs?: number }[];
  try {
    samples = await measure();
  } finally {
    emitted = trickle.stop();
  }
  const stats = await allArrived(ctx, base + emitted, emitted);
  const darkMs = samples.map((s) => s.darkMs);
  const handshakes = samples.flatMap((s) => (s.handshakeMs === undefined ? [] : [s.handshakeMs]));
  return {
    samplesMs: darkMs.map((ms) => round(ms, 0)),
    medianMs: round(summarize(darkMs).p50, 0),
    handshakeMedianMs: round(summarize(handshakes).p50, 0),
    events: emitted,
    lost: stats.missing,
    duplicates: stats.duplicates,
  };
}

export function sample(dark: DarkTime): { darkMs: number; handshakeMs?: number } {
  return { darkMs: dark.darkMs!, ...(dark.handshake ? { handshakeMs: dark.handshake.ms } : {}) };
}

export function bridgeSpec(
  ctx: BenchContext,
  sim: Simulator,
  name: string,
  gateway?: Record<string, string>,
): BridgeSpec {
  return {
    cli: ctx.options.cli,
    name,
    workDir: ctx.workDir,
    sim,
    redisUrl: ctx.options.redisUrl,
    prefix: sessionPrefix(ctx.prefix, name),
    targetUrls: [ctx.receiver.url(0)],
    concurrency: ctx.options.concurrency,
    retry: RETRY,
    nodeArgs: ctx.options.bridgeNodeArgs,
    ...(gateway ? { gateway } : {}),
  };
}

/**
 * Starts a bridge whose config sets `gateway` keys, or returns the bridge's refusal when this build does not know
 * one of them (the process exits with a config error naming the key). Any other failure to start is thrown.
 */
export async function startIfSupported(
  spec: BridgeSpec,
): Promise<{ bridge: BridgePipe } | { refusal: string }> {
  try {
    return { bridge: await startBridge(spec) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const refusal = message.split('\n').find((line) => line.includes('unknown key'));
    if (refusal === undefined) throw err;
    return {
      refusal: refusal
        .replace(/^.*?(gateway\.)/, '$1')
        .replace(/;.*$/, '')
        .trim(),
    };
  }
}

export function notMeasured(kind: DarkTimeKind, note: string): DarkTimeRow {
  return {
    kind,
    measured: false,
    note,
    samplesMs: [],
    medianMs: NaN,
    handshakeMedianMs: NaN,
    events: 0,
    lost: 0,
    duplicates: 0,
  };
}
