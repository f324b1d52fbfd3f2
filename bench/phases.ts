/**
 * The measurements. A phase opens a session (a fresh simulator, a pipe process fed by it, a /proc sampler on the
 * pipe), warms it up, measures, and closes it. Every session works under its own sub-prefix of the run's prefix.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { openOutboundQueue } from '../src/outbound/send-queue.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { scrapeMemory, type BridgeMemory } from './bridge-metrics.js';
import { runDirect } from './direct.js';
import { runOpenLoop, runWindowed } from './load.js';
import { loopProbeSetup } from './loop-counter.js';
import type { BenchOptions, Plan } from './options.js';
import { BENCH_EVENT_TYPE, benchEventData, nowMs } from './payload.js';
import {
  countersAt,
  perEventCounts,
  type CountedPipe,
  idleRates,
  type CountersAt,
  type IdleRates,
  type PerEventCounts,
} from './pipe-counters.js';
import { SIM_APP_ID, SIM_SECRET, startBridge, startNaive, type BridgeSpec, type Pipe } from './pipes.js';
import { ProcSampler, readProc, socketCount, type ProcSample } from './proc-stats.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { QqReplyCounter, tallyReplies, type ReplyTally } from './qq-replies.js';
import type { ReceiverProcess } from './receiver-client.js';
import type { OutageMode } from './receiver-protocol.js';
import { EnqueuedCounter, bridgeQueue, redisCpuSec, sessionPrefix } from './redis.js';
import { round, slope, type LatencySummary } from './stats.js';
import { sleep } from './time.js';

/** The bridge's memory at one moment: /proc's RSS and socket count beside its own heap figures. */
export type MemoryReport = BridgeMemory & { rssMB: number; sockets: number };

export interface BenchContext {
  options: BenchOptions;
  plan: Plan;
  workDir: string;
  redis: Redis;
  prefix: string;
  receiver: ReceiverProcess;
  /** Where a kept CPU profile goes, e.g. bench/results/<date>.cpuprofile. */
  profileOut: string;
}

/** The bridge's documented default retry policy, for every target (the outage phase exercises it). */
const DEFAULT_RETRY = { attempts: 15, base: '1s', max: '1h' };
/** The highest event rate any phase could reach; sizes the receiver's duplicate bitmap. */
const MAX_EVENTS_PER_SEC = 20_000;
const MB = 1024 * 1024;

/** Throughput under a closed loop. */
export interface ThroughputResult {
  eventsPerSec: number;
  deliveriesPerSec: number;
  events: number;
  /** Bridge (or naive) CPU seconds per 1,000 events, from the first send until the last delivery. */
  cpuSecPer1kEvents: number;
  /** Jobs waiting in the first target's queue when sending stopped: high means delivery-bound, ~0 ingest-bound. */
  queueWaitingAtEnd: number;
  lost: number;
  duplicates: number;
  /** CPU seconds the bench process (simulator + load generator) used meanwhile. */
  loadgenCpuSec: number;
  /**
   * CPU seconds per 1,000 events of the other processes on the machine over the same span: Redis, the receiver
   * and the bench itself (simulator + load generator). With the pipe's own figure they add up to what one event
   * costs the machine, which bounds throughput once every core is busy.
   */
  machineCpuSecPer1kEvents: { redis: number; receiver: number; bench: number };
  /** The highest sampled RSS of the pipe during this run. */
  peakRssMB: number;
  /** The bridge's RSS and its own memory report when sending stopped (e2e only). */
  memoryAtEnd?: MemoryReport;
  /** The pipe's event-loop turns and the Redis commands run per event, over the same span as its CPU. */
  perEvent: PerEventCounts;
}

/** Latency under an open loop at a fixed offered rate. */
export interface LatencyResult {
  offeredPerSec: number;
  achievedPerSec: number;
  events: number;
  latencyMs: LatencySummary;
  /** Worst lateness of the generator against its schedule: large values mean the bench, not the pipe, lagged. */
  generatorMaxLagMs: number;
  /**
   * Deliveries per second while sending, per target. Below the offered rate the pipe fell behind (a queue grew
   * for the whole run), and the percentiles measure that queue rather than the pipe's latency.
   */
  deliveredPerSecWhileSending: number;
  cpuSecPer1kEvents: number;
  /** The pipe's event-loop turns and the Redis commands run per event, over the same span as its CPU. */
  perEvent: PerEventCounts;
  lost: number;
  duplicates: number;
}

export interface SessionSummary {
  /** RSS once the pipe had its gateway session, before any event. */
  startRssMB: number;
  /** The same moment as the bridge reports it (e2e only). */
  startMemory?: MemoryReport;
  peakRssMB: number;
  /** RSS once started and warmed up. */
  warmRssMB: number;
  exitCode: number | string | null;
}

interface Session {
  readonly targets: number;
  readonly sim: Simulator;
  readonly pipe: Pipe;
  readonly sampler: ProcSampler;
  /** Where the pipe's loop probe (bench/loop-probe.ts) writes its answers. */
  readonly probeFile: string;
  readonly prefix: string;
  readonly spawnedAtMs: number;
  /** When the warm-up finished; the "warm" RSS is the first sample after it. */
  warmedAtMs: number;
  /** The bridge's memory once started, before any event. */
  startMemory?: MemoryReport;
  /** Emits event `seq`; returns its send time (the `qqwb_bench_sent` it carries). */
  emit(seq: number): number;
  /** Jobs waiting in the first target's queue. */
  waiting(): Promise<number>;
  queue(): Queue;
}

async function openSession(
  ctx: BenchContext,
  kind: 'e2e' | 'naive',
  name: string,
  targets: number,
  bridge: Partial<Pick<BridgeSpec, 'nodeArgs' | 'role' | 'outboundRateLimit'>> = {},
): Promise<Session> {
  const sim = await startSimulator();
  const prefix = sessionPrefix(ctx.prefix, name);
  // Both pipes carry the same probe, loaded the same way, so their loop counts compare.
  const probe = loopProbeSetup(ctx.workDir, name);
  const spawnedAtMs = nowMs();
  let pipe: Pipe;
  try {
    pipe =
      kind === 'e2e'
        ? await startBridge({
            cli: ctx.options.cli,
            name,
            workDir: ctx.workDir,
            sim,
            redisUrl: ctx.options.redisUrl,
            prefix,
            targetUrls: Array.from({ length: targets }, (_, i) => ctx.receiver.url(i)),
            concurrency: ctx.options.concurrency,
            retry: DEFAULT_RETRY,
            nodeArgs: [...probe.nodeArgs, ...ctx.options.bridgeNodeArgs, ...(bridge.nodeArgs ?? [])],
            env: probe.env,
            ...(bridge.role ? { role: bridge.role } : {}),
            ...(bridge.outboundRateLimit ? { outboundRateLimit: bridge.outboundRateLimit } : {}),
          })
        : await startNaive({
            name,
            workDir: ctx.workDir,
            simOrigin: sim.origin,
            appId: SIM_APP_ID,
            clientSecret: SIM_SECRET,
            redisUrl: ctx.options.redisUrl,
            prefix,
            targetUrl: ctx.receiver.url(0),
            concurrency: ctx.options.concurrency,
            nodeArgs: probe.nodeArgs,
            env: probe.env,
          });
  } catch (err) {
    await sim.close();
    throw err;
  }
  const queue =
    kind === 'e2e'
      ? bridgeQueue(ctx.redis, prefix, 0)
      : new Queue('events', { connection: ctx.redis, prefix });
  const session: Session = {
    targets,
    sim,
    pipe,
    sampler: new ProcSampler(pipe.pid, 250),
    probeFile: probe.file,
    prefix,
    spawnedAtMs,
    warmedAtMs: Infinity,
    emit: (seq) => {
      const sentMs = nowMs();
      sim.emit(BENCH_EVENT_TYPE, benchEventData(seq, sentMs));
      return sentMs;
    },
    waiting: () => queue.getWaitingCount(),
    queue: () => queue,
  };
  const startMemory = await memoryOf(session);
  if (startMemory) session.startMemory = startMemory;
  return session;
}

async function closeSession(session: Session): Promise<SessionSummary> {
  session.sampler.stop();
  const exitCode = await session.pipe.stop();
  await session.queue().close();
  await session.sim.close();
  const warm = session.sampler.samples.find((s) => s.atMs >= session.warmedAtMs);
  return {
    startRssMB: round((session.sampler.samples[0]?.rssBytes ?? NaN) / MB),
    peakRssMB: round(session.sampler.peakRssBytes() / MB),
    warmRssMB: round((warm?.rssBytes ?? NaN) / MB),
    ...(session.startMemory ? { startMemory: session.startMemory } : {}),
    exitCode,
  };
}

/** Events the closed loop keeps outstanding for a session: see {@link Plan.windowDeliveries}. */
function windowEvents(ctx: BenchContext, session: Session): number {
  const deliveries = Math.max(ctx.plan.windowDeliveries, 4 * ctx.options.concurrency * session.targets);
  return Math.ceil(deliveries / session.targets);
}

/** Closed-loop load (untracked, seq 0) for `warmupMs`, then waits for every delivery; returns the events sent. */
async function warmUp(ctx: BenchContext, session: Session): Promise<number> {
  const { receiver, plan } = ctx;
  const base = receiver.delivered;
  const run = await runWindowed({
    emit: () => session.emit(0),
    completed: () => (receiver.delivered - base) / session.targets,
    window: windowEvents(ctx, session),
    durationMs: plan.warmupMs,
    maxEvents: Math.ceil(((plan.warmupMs / 1000) * MAX_EVENTS_PER_SEC) / session.targets),
    rampMs: 0,
    firstSeq: 0,
  });
  const expected = run.emitted * session.targets;
  if (!(await receiver.waitForDelivered(base + expected, plan.drainTimeoutMs))) {
    throw new Error(`warm-up: the pipe delivered ${receiver.delivered - base} of ${expected}`);
  }
  session.warmedAtMs = nowMs();
  return run.emitted;
}

function cpuPer1k(from: ProcSample | undefined, to: ProcSample | undefined, events: number): number {
  if (!from || !to || events === 0) return NaN;
  return round(((to.cpuSec - from.cpuSec) / events) * 1000, 3);
}

async function drain(ctx: BenchContext, total: number, what: string): Promise<void> {
  if (!(await ctx.receiver.waitForDelivered(total, ctx.plan.drainTimeoutMs))) {
    console.error(`  ! ${what}: not every delivery arrived within ${ctx.plan.drainTimeoutMs} ms`);
  }
}

async function measureThroughput(
  ctx: BenchContext,
  session: Session,
  durationMs: number,
): Promise<ThroughputResult> {
  const { receiver, plan } = ctx;
  const fanout = session.targets;
  const maxEvents = Math.ceil(((durationMs / 1000) * MAX_EVENTS_PER_SEC) / fanout);
  await receiver.reset(fanout, maxEvents);
  const base = receiver.delivered;
  // The loop and command counters are read just outside the CPU window, the pipe idle at both ends.
  const countersFrom = await countersAt(ctx.redis, countedPipe(session));
  const cpuFrom = session.sampler.take();
  const loadgenFrom = process.cpuUsage();
  const redisFrom = await redisCpuSec(ctx.redis);
  const receiverFrom = receiver.pid === undefined ? undefined : readProc(receiver.pid);
  const run = await runWindowed({
    emit: (seq) => session.emit(seq),
    completed: () => (receiver.delivered - base) / fanout,
    window: windowEvents(ctx, session),
    durationMs,
    maxEvents,
    rampMs: plan.rampMs,
    firstSeq: 1,
  });
  const queueWaitingAtEnd = await session.waiting();
  const memoryAtEnd = await memoryOf(session);
  await drain(ctx, base + run.emitted * fanout, 'throughput');
  const cpuTo = session.sampler.take();
  const loadgen = process.cpuUsage(loadgenFrom);
  const redisTo = await redisCpuSec(ctx.redis);
  const receiverTo = receiver.pid === undefined ? undefined : readProc(receiver.pid);
  const countersTo = await countersAt(ctx.redis, countedPipe(session));
  const sideProbes = await measureSideProbes(ctx, session);
  const stats = await receiver.stats(run.emitted);
  const loadgenSec = (loadgen.user + loadgen.system) / 1e6;
  return {
    eventsPerSec: Math.round(run.perSec),
    deliveriesPerSec: Math.round(run.perSec * fanout),
    events: run.emitted,
    cpuSecPer1kEvents: cpuPer1k(cpuFrom, cpuTo, run.emitted),
    queueWaitingAtEnd,
    lost: stats.missing,
    duplicates: stats.duplicates,
    loadgenCpuSec: round(loadgenSec, 2),
    machineCpuSecPer1kEvents: {
      redis: round(((redisTo - redisFrom) / run.emitted) * 1000, 3),
      receiver: cpuPer1k(receiverFrom, receiverTo, run.emitted),
      bench: round((loadgenSec / run.emitted) * 1000, 3),
    },
    peakRssMB: round(session.sampler.maxRssBetween(cpuFrom?.atMs ?? 0, cpuTo?.atMs ?? Infinity) / MB),
    ...(memoryAtEnd ? { memoryAtEnd } : {}),
    perEvent: perEventCounts({ from: countersFrom, to: countersTo }, run.emitted, sideProbes),
  };
}

/** How long the pipe is left to finish its last jobs before the side probes are measured. */
const SIDE_PROBE_SETTLE_MS = 100;

function countedPipe(session: Session): CountedPipe {
  return { pid: session.pipe.pid, probeFile: session.probeFile };
}

/**
 * The probes {@link measureThroughput} runs inside its window (the waiting count; the bridge's `/metrics`, which
 * reads queue depths from Redis), run once more while the pipe is idle, with the counters read around them: what
 * they cost is then taken out of the window's figures.
 */
async function measureSideProbes(
  ctx: BenchContext,
  session: Session,
): Promise<{ from: CountersAt; to: CountersAt }> {
  // The last jobs' completions reach Redis just after their deliveries: let them land first, or they would be
  // counted here and subtracted from the window.
  await sleep(SIDE_PROBE_SETTLE_MS);
  const from = await countersAt(ctx.redis, countedPipe(session));
  await session.waiting();
  await memoryOf(session);
  const to = await countersAt(ctx.redis, countedPipe(session));
  return { from, to };
}

/** RSS and open sockets from /proc, what the bridge reports of its heap; undefined for the naive pipe. */
async function memoryOf(session: Session): Promise<MemoryReport | undefined> {
  if (!session.pipe.metricsUrl) return undefined;
  const rssBytes = session.sampler.take()?.rssBytes ?? NaN;
  const sockets = socketCount(session.pipe.pid);
  const reported = await scrapeMemory(session.pipe.metricsUrl);
  return reported ? { rssMB: round(rssBytes / MB), sockets, ...reported } : undefined;
}

async function measureLatency(
  ctx: BenchContext,
  session: Session,
  ratePerSec: number,
  durationMs: number,
): Promise<LatencyResult> {
  const { receiver } = ctx;
  const fanout = session.targets;
  const expected = Math.max(1, Math.round((ratePerSec * durationMs) / 1000));
  await receiver.reset(fanout, expected);
  const base = receiver.delivered;
  const countersFrom = await countersAt(ctx.redis, countedPipe(session));
  const cpuFrom = session.sampler.take();
  const sendStartMs = nowMs();
  const run = await runOpenLoop({ emit: (seq) => session.emit(seq), ratePerSec, durationMs, firstSeq: 1 });
  const whileSending = ((receiver.delivered - base) / fanout / (nowMs() - sendStartMs)) * 1000;
  await drain(ctx, base + run.emitted * fanout, `latency at ${ratePerSec}/s`);
  const cpuTo = session.sampler.take();
  const countersTo = await countersAt(ctx.redis, countedPipe(session));
  const stats = await receiver.stats(run.emitted);
  const ms = (value: number): number => round(value, 2);
  return {
    offeredPerSec: Math.round(ratePerSec),
    achievedPerSec: Math.round(run.achievedPerSec),
    events: run.emitted,
    latencyMs: {
      count: stats.latency.count,
      p50: ms(stats.latency.p50),
      p95: ms(stats.latency.p95),
      p99: ms(stats.latency.p99),
      max: ms(stats.latency.max),
      mean: ms(stats.latency.mean),
    },
    generatorMaxLagMs: ms(run.maxLagMs),
    deliveredPerSecWhileSending: Math.round(whileSending),
    cpuSecPer1kEvents: cpuPer1k(cpuFrom, cpuTo, run.emitted),
    perEvent: perEventCounts({ from: countersFrom, to: countersTo }, run.emitted),
    lost: stats.missing,
    duplicates: stats.duplicates,
  };
}

const benchStartMs = nowMs();

/** Logs one line per step, with the seconds since the bench started, so a long run shows where it is. */
export function step(what: string): void {
  console.log(`  ${((nowMs() - benchStartMs) / 1000).toFixed(1).padStart(6)} s  ${what}`);
}

// ------------------------------------------------------------------------------------------------------ phases

export interface DirectPhase {
  perSec: number;
  requests: number;
  failures: number;
  lost: number;
}

export async function directPhase(ctx: BenchContext): Promise<DirectPhase> {
  const { plan, receiver, options } = ctx;
  const maxRequests = Math.ceil((plan.directMs / 1000) * 50_000);
  await receiver.reset(1, maxRequests);
  const base = receiver.delivered;
  step(`direct: undici → receiver, ${options.concurrency} in flight, ${plan.directMs / 1000} s`);
  const run = await runDirect({
    url: receiver.url(0),
    concurrency: options.concurrency,
    durationMs: plan.directMs,
    rampMs: plan.rampMs / 2,
    maxRequests,
  });
  await drain(ctx, base + run.requests - run.failures, 'direct');
  const stats = await receiver.stats(run.requests);
  return {
    perSec: Math.round(run.perSec),
    requests: run.requests,
    failures: run.failures,
    lost: stats.missing,
  };
}

export interface PipePhase {
  throughput: ThroughputResult;
  latency: LatencyResult[];
  /** p99 at `fanoutLoadShare` of the measured max (the 1-target row of the fan-out table). */
  latencyAtShare?: LatencyResult;
  /** The outage and drain (e2e only), last, on the same bridge. */
  backlog?: BacklogPhase;
  /** Loop turns, CPU and Redis commands per second with no events, after the warm-up. */
  idle: IdleRates;
  session: SessionSummary;
}

/** How long the pipe is watched with no events (after the warm-up, before the throughput run). */
const IDLE_WATCH_MS = 2_000;

/**
 * One pipe with one target: max throughput, then latency at each fixed rate; for the bridge also latency at a
 * share of its max and, last, the backlog drain (on the same process: it saves a start and a warm-up, and the
 * bridge keeps no backlog in memory, so the runs before it do not change it).
 */
export async function pipePhase(ctx: BenchContext, kind: 'e2e' | 'naive'): Promise<PipePhase> {
  const { plan } = ctx;
  const rates = kind === 'e2e' ? plan.latencyRates : [plan.naiveLatencyRate];
  step(`${kind}: start, warm up`);
  const session = await openSession(ctx, kind, kind, 1);
  try {
    await warmUp(ctx, session);
    step(`${kind}: idle, ${IDLE_WATCH_MS / 1000} s`);
    const idle = await idleRates(ctx.redis, countedPipe(session), IDLE_WATCH_MS);
    step(`${kind}: max throughput, ${plan.throughputMs / 1000} s`);
    const throughput = await measureThroughput(ctx, session, plan.throughputMs);
    const latency: LatencyResult[] = [];
    for (const rate of rates) {
      step(`${kind}: latency at ${rate}/s, ${plan.latencyMs / 1000} s`);
      latency.push(await measureLatency(ctx, session, rate, plan.latencyMs));
    }
    if (kind === 'naive') return { throughput, latency, idle, session: await closeSession(session) };
    const rate = throughput.eventsPerSec * plan.fanoutLoadShare;
    step(`${kind}: latency at ${Math.round(rate)}/s (${plan.fanoutLoadShare * 100}% of max)`);
    const latencyAtShare = await measureLatency(ctx, session, rate, plan.fanoutLatencyMs);
    const backlog = await measureBacklog(ctx, session);
    return { throughput, latency, latencyAtShare, backlog, idle, session: await closeSession(session) };
  } catch (err) {
    await closeSession(session).catch(() => undefined);
    throw err;
  }
}

export interface FanoutRow {
  targets: number;
  eventsPerSec: number;
  deliveriesPerSec: number;
  /** Offered events/s of the latency run: `fanoutLoadShare` of eventsPerSec. */
  latencyAtPerSec: number;
  p99Ms: number;
  p50Ms: number;
  cpuSecPer1kEvents: number;
  /** Event-loop turns of the bridge per event in the max-throughput run (see {@link PerEventCounts}). */
  loopIterationsPerEvent: number;
  /** Redis commands per event in the max-throughput run. */
  redisCommandsPerEvent: number;
  /** The highest sampled RSS during the max-throughput run. */
  rssMaxMB: number;
  /** The bridge process's peak RSS (VmHWM) over its whole life; for 1 target that includes the backlog. */
  processPeakRssMB: number;
  lost: number;
  /** The bridge's memory when sending stopped in the throughput run. */
  memoryAtEnd?: MemoryReport;
}

export function fanoutRow(
  targets: number,
  throughput: ThroughputResult,
  latency: LatencyResult,
  processPeakRssMB: number,
): FanoutRow {
  return {
    targets,
    eventsPerSec: throughput.eventsPerSec,
    deliveriesPerSec: throughput.deliveriesPerSec,
    latencyAtPerSec: latency.offeredPerSec,
    p99Ms: latency.latencyMs.p99,
    p50Ms: latency.latencyMs.p50,
    cpuSecPer1kEvents: throughput.cpuSecPer1kEvents,
    loopIterationsPerEvent: throughput.perEvent.loopIterationsPerEvent,
    redisCommandsPerEvent: throughput.perEvent.redisCommandsPerEvent,
    rssMaxMB: throughput.peakRssMB,
    processPeakRssMB,
    lost: throughput.lost + latency.lost,
    ...(throughput.memoryAtEnd ? { memoryAtEnd: throughput.memoryAtEnd } : {}),
  };
}

/** The bridge with `targets` targets (every event to each): max throughput, then p99 at a share of it. */
export async function fanoutPhase(ctx: BenchContext, targets: number): Promise<FanoutRow> {
  const { plan } = ctx;
  step(`fan-out ${targets}: start, warm up`);
  const session = await openSession(ctx, 'e2e', `fan${targets}`, targets);
  try {
    await warmUp(ctx, session);
    step(`fan-out ${targets}: max throughput, ${plan.fanoutThroughputMs / 1000} s`);
    const throughput = await measureThroughput(ctx, session, plan.fanoutThroughputMs);
    const rate = throughput.eventsPerSec * plan.fanoutLoadShare;
    step(`fan-out ${targets}: latency at ${Math.round(rate)} events/s`);
    const latency = await measureLatency(ctx, session, rate, plan.fanoutLatencyMs);
    const summary = await closeSession(session);
    return fanoutRow(targets, throughput, latency, summary.peakRssMB);
  } catch (err) {
    await closeSession(session).catch(() => undefined);
    throw err;
  }
}

export interface BacklogPhase {
  deliveries: number;
  outage: OutageMode;
  /** Events enqueued per second while the target was down (the workers failing and retrying meanwhile). */
  enqueuePerSec: number;
  /** Attempts the receiver refused with 503 during the outage (0 in `refuse` mode: they never reach it). */
  failedAttempts: number;
  /** Jobs per state when the target came back, before the delayed ones were promoted. */
  queueAtRecovery: Record<string, number>;
  /** From the target coming back to the last delivery. */
  drainMs: number;
  drainPerSec: number;
  firstDeliveryAfterMs: number;
  cpuSecPer1kDeliveries: number;
  /** The highest sampled RSS of the bridge from the outage's start to the last delivery. */
  peakRssMB: number;
  lost: number;
  duplicates: number;
}

/**
 * A target outage: the receiver refuses (503 or closed port) while `backlogDeliveries` events are enqueued, the
 * workers failing and backing off with the default retry policy meanwhile. Then the receiver accepts again and
 * every delayed job is promoted at once (as if every backoff expired the moment the target came back), and the
 * drain is timed. Promoting keeps the backoff schedule (up to an hour) out of a number meant to show the pipe.
 */
async function measureBacklog(ctx: BenchContext, session: Session): Promise<BacklogPhase> {
  const { plan, receiver, redis, options } = ctx;
  const total = plan.backlogDeliveries;
  try {
    step(`backlog: target down (${options.outage}), enqueue ${total} events`);
    await receiver.setMode(options.outage);
    await receiver.reset(1, total);
    const enqueued = await EnqueuedCounter.start(redis, session.prefix);
    const enqueueStart = nowMs();
    const run = await runWindowed({
      emit: (seq) => session.emit(seq),
      completed: () => enqueued.value,
      window: plan.windowDeliveries * 2,
      durationMs: plan.backlogTimeoutMs,
      maxEvents: total,
      rampMs: 0,
      firstSeq: 1,
    });
    await enqueued.waitFor(run.emitted, plan.drainTimeoutMs);
    await enqueued.stop();
    const enqueueMs = nowMs() - enqueueStart;
    if (enqueued.value < total) {
      throw new Error(`backlog: only ${enqueued.value} of ${total} events were enqueued in time`);
    }

    const queue = session.queue();
    const queueAtRecovery = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    const refused = (await receiver.stats(0)).refused;
    step(`backlog: target back, drain ${total} deliveries`);
    const base = receiver.delivered;
    const cpuFrom = session.sampler.take();
    await receiver.setMode('ok');
    const recoveredAt = nowMs();
    await queue.promoteJobs();
    await receiver.waitForDelivered(base + total, plan.backlogTimeoutMs);
    const cpuTo = session.sampler.take();
    const stats = await receiver.stats(total);
    const drainMs = stats.lastAtMs - recoveredAt;
    return {
      deliveries: total,
      outage: options.outage,
      enqueuePerSec: Math.round((total / enqueueMs) * 1000),
      failedAttempts: refused,
      queueAtRecovery,
      drainMs: Math.round(drainMs),
      drainPerSec: Math.round((stats.delivered / drainMs) * 1000),
      firstDeliveryAfterMs: round(stats.firstAtMs - recoveredAt, 1),
      cpuSecPer1kDeliveries: cpuPer1k(cpuFrom, cpuTo, stats.delivered),
      peakRssMB: round(session.sampler.maxRssBetween(enqueueStart, cpuTo?.atMs ?? Infinity) / MB),
      lost: stats.missing,
      duplicates: stats.duplicates,
    };
  } catch (err) {
    await receiver.setMode('ok').catch(() => undefined);
    throw err;
  }
}

export interface IngestPhase {
  /** Events durably enqueued per second by the bridge in `--role gateway` (no delivery running). */
  eventsPerSec: number;
  events: number;
  cpuSecPer1kEvents: number;
}

/**
 * The gateway half alone: the bridge in `--role gateway`, driven in a closed loop on its durable seq. Beside the
 * full pipe's rate and the backlog's drain rate it says which half limits the pipe.
 */
export async function ingestPhase(ctx: BenchContext): Promise<IngestPhase> {
  const { plan } = ctx;
  step('ingest: bridge --role gateway (enqueue only), warm up');
  const session = await openSession(ctx, 'e2e', 'ingest', 1, { role: 'gateway' });
  const enqueued = await EnqueuedCounter.start(ctx.redis, session.prefix);
  try {
    const load = async (durationMs: number, rampMs: number, firstSeq: number) => {
      const base = enqueued.value;
      const run = await runWindowed({
        emit: (seq) => session.emit(seq),
        completed: () => enqueued.value - base,
        window: windowEvents(ctx, session),
        durationMs,
        maxEvents: Math.ceil((durationMs / 1000) * MAX_EVENTS_PER_SEC),
        rampMs,
        firstSeq,
      });
      if (!(await enqueued.waitFor(base + run.emitted, plan.drainTimeoutMs))) {
        console.error(`  ! ingest: not every event was enqueued within ${plan.drainTimeoutMs} ms`);
      }
      return run;
    };
    await load(plan.warmupMs, 0, 0);
    step(`ingest: max enqueue rate, ${plan.throughputMs / 1000} s`);
    const cpuFrom = session.sampler.take();
    const run = await load(plan.throughputMs, plan.rampMs, 1);
    const cpuTo = session.sampler.take();
    return {
      eventsPerSec: Math.round(run.perSec),
      events: run.emitted,
      cpuSecPer1kEvents: cpuPer1k(cpuFrom, cpuTo, run.emitted),
    };
  } finally {
    await enqueued.stop();
    await closeSession(session);
  }
}

/**
 * `outbound.rate_limit` of the replies phase's bridge. The default (20 per second) would be the figure; this is far
 * above what one machine sends, so the limiter is still on the path (one Redis check per job) but never binds.
 */
export const BENCH_OUTBOUND_RATE_LIMIT = { max: 10_000, per: '1s' } as const;

/** Every event answered with one reply, as fast as the bridge takes them (closed loop on replies at QQ). */
export interface ReplyThroughputResult {
  /** Replies stored at QQ per second, between the end of the ramp and the end of sending. */
  repliesPerSec: number;
  events: number;
  /** Bridge CPU seconds per 1,000 events (each with its reply), from the first send until the last reply. */
  cpuSecPer1kEvents: number;
  /** Jobs waiting in the outbound queue when sending stopped: high means sending to QQ limits the pipe. */
  outboundWaitingAtEnd: number;
  /** Jobs waiting in the delivery queue when sending stopped. */
  deliveryWaitingAtEnd: number;
  /** The highest sampled RSS of the bridge during this run. */
  peakRssMB: number;
  lost: number;
  duplicates: number;
  rejected: number;
}

/** Every event answered with one reply, at a fixed offered rate: emit → reply stored at QQ. */
export interface ReplyLatencyResult {
  offeredPerSec: number;
  achievedPerSec: number;
  events: number;
  latencyMs: LatencySummary;
  generatorMaxLagMs: number;
  /** Replies stored at QQ per second while sending; below the offered rate the pipe fell behind. */
  repliedPerSecWhileSending: number;
  cpuSecPer1kEvents: number;
  lost: number;
  duplicates: number;
  rejected: number;
}

export interface RepliesPhase {
  /** The bridge's `outbound.rate_limit` in this phase. */
  rateLimit: { max: number; per: string };
  throughput: ReplyThroughputResult;
  latency: ReplyLatencyResult;
  session: SessionSummary;
}

/** Waits for `count` replies at QQ; says so and resolves false when they do not all arrive in time. */
async function drainReplies(
  ctx: BenchContext,
  replies: QqReplyCounter,
  count: number,
  what: string,
): Promise<boolean> {
  const arrived = await replies.waitFor(count, ctx.plan.drainTimeoutMs);
  if (!arrived) {
    console.error(
      `  ! ${what}: ${replies.value} of ${count} replies reached QQ within ${ctx.plan.drainTimeoutMs} ms`,
    );
  }
  return arrived;
}

/**
 * Starts a run whose events are numbered from 1: fresh receiver statistics, an empty simulator log (so it holds
 * this run's sends only) and a reply counter from zero. Returns the counter and where to note each send time.
 */
async function startReplyRun(
  ctx: BenchContext,
  session: Session,
  events: number,
): Promise<{ replies: QqReplyCounter; sentAtMs: Float64Array }> {
  await ctx.receiver.reset(1, events);
  session.sim.resetMessages();
  return { replies: new QqReplyCounter(session.sim), sentAtMs: new Float64Array(events) };
}

function tallyOf(session: Session, sentAtMs: Float64Array, what: string): ReplyTally {
  const tally = tallyReplies(session.sim.messages(), sentAtMs);
  if (tally.untracked > 0)
    console.error(`  ! ${what}: ${tally.untracked} replies at QQ named no event of the run`);
  return tally;
}

async function measureReplyThroughput(ctx: BenchContext, session: Session): Promise<ReplyThroughputResult> {
  const { plan } = ctx;
  const { replies, sentAtMs } = await startReplyRun(ctx, session, plan.replyEvents);
  const outbound = openOutboundQueue(SIM_APP_ID, session.prefix, ctx.redis);
  try {
    const cpuFrom = session.sampler.take();
    const run = await runWindowed({
      emit: (seq) => (sentAtMs[seq - 1] = session.emit(seq)),
      completed: () => replies.value,
      window: windowEvents(ctx, session),
      durationMs: plan.replyThroughputMs,
      maxEvents: plan.replyEvents,
      rampMs: plan.rampMs,
      firstSeq: 1,
    });
    const outboundWaitingAtEnd = await outbound.getWaitingCount();
    const deliveryWaitingAtEnd = await session.waiting();
    await drainReplies(ctx, replies, run.emitted, 'reply throughput');
    const cpuTo = session.sampler.take();
    const tally = tallyOf(session, sentAtMs.subarray(0, run.emitted), 'reply throughput');
    return {
      repliesPerSec: Math.round(run.perSec),
      events: run.emitted,
      cpuSecPer1kEvents: cpuPer1k(cpuFrom, cpuTo, run.emitted),
      outboundWaitingAtEnd,
      deliveryWaitingAtEnd,
      peakRssMB: round(session.sampler.maxRssBetween(cpuFrom?.atMs ?? 0, cpuTo?.atMs ?? Infinity) / MB),
      lost: tally.lost,
      duplicates: tally.duplicates,
      rejected: tally.rejected,
    };
  } finally {
    replies.stop();
    await outbound.close();
  }
}

async function measureReplyLatency(ctx: BenchContext, session: Session): Promise<ReplyLatencyResult> {
  const { plan } = ctx;
  const ratePerSec = plan.replyLatencyRate;
  const expected = Math.max(1, Math.round((ratePerSec * plan.replyLatencyMs) / 1000));
  const { replies, sentAtMs } = await startReplyRun(ctx, session, expected);
  try {
    const cpuFrom = session.sampler.take();
    const sendStartMs = nowMs();
    const run = await runOpenLoop({
      emit: (seq) => (sentAtMs[seq - 1] = session.emit(seq)),
      ratePerSec,
      durationMs: plan.replyLatencyMs,
      firstSeq: 1,
    });
    const whileSending = (replies.value / (nowMs() - sendStartMs)) * 1000;
    await drainReplies(ctx, replies, run.emitted, `reply latency at ${ratePerSec}/s`);
    const cpuTo = session.sampler.take();
    const tally = tallyOf(session, sentAtMs.subarray(0, run.emitted), `reply latency at ${ratePerSec}/s`);
    const ms = (value: number): number => round(value, 2);
    return {
      offeredPerSec: ratePerSec,
      achievedPerSec: Math.round(run.achievedPerSec),
      events: run.emitted,
      latencyMs: {
        count: tally.latency.count,
        p50: ms(tally.latency.p50),
        p95: ms(tally.latency.p95),
        p99: ms(tally.latency.p99),
        max: ms(tally.latency.max),
        mean: ms(tally.latency.mean),
      },
      generatorMaxLagMs: ms(run.maxLagMs),
      repliedPerSecWhileSending: Math.round(whileSending),
      cpuSecPer1kEvents: cpuPer1k(cpuFrom, cpuTo, run.emitted),
      lost: tally.lost,
      duplicates: tally.duplicates,
      rejected: tally.rejected,
    };
  } finally {
    replies.stop();
  }
}

/**
 * The whole outbound path: the receiver answers each @-message with one reply, which the bridge stores in its
 * outbound queue and its outbound worker sends to the simulator's QQ API. A bridge of its own (its
 * `outbound.rate_limit` raised), one target; the replies are counted and timed from the simulator's log.
 */
export async function repliesPhase(ctx: BenchContext): Promise<RepliesPhase> {
  const { plan, receiver } = ctx;
  step(
    `replies: start (outbound.rate_limit ${BENCH_OUTBOUND_RATE_LIMIT.max}/${BENCH_OUTBOUND_RATE_LIMIT.per}), warm up`,
  );
  await receiver.setMode('reply');
  try {
    const session = await openSession(ctx, 'e2e', 'replies', 1, {
      outboundRateLimit: BENCH_OUTBOUND_RATE_LIMIT,
    });
    try {
      // The warm-up's replies (all "0") warm the outbound worker too; they must be at QQ before a run counts.
      // None arriving means the outbound path is broken, and the runs would only wait out their timeouts.
      const warmReplies = new QqReplyCounter(session.sim);
      try {
        if (!(await drainReplies(ctx, warmReplies, await warmUp(ctx, session), 'replies warm-up'))) {
          throw new Error('replies warm-up: not every reply reached QQ; the bridge log says why');
        }
      } finally {
        warmReplies.stop();
      }
      step(
        `replies: max, closed loop, up to ${plan.replyEvents} events or ${plan.replyThroughputMs / 1000} s`,
      );
      const throughput = await measureReplyThroughput(ctx, session);
      step(`replies: latency at ${plan.replyLatencyRate}/s, ${plan.replyLatencyMs / 1000} s`);
      const latency = await measureReplyLatency(ctx, session);
      return {
        rateLimit: { ...BENCH_OUTBOUND_RATE_LIMIT },
        throughput,
        latency,
        session: await closeSession(session),
      };
    } catch (err) {
      await closeSession(session).catch(() => undefined);
      throw err;
    }
  } finally {
    await receiver.setMode('ok');
  }
}

export interface ProfilePhase {
  throughput: ThroughputResult;
  summary: ProfileSummary;
}

/** A throughput run of a bridge started with `node --cpu-prof`; the summary covers the measured window only. */
export async function profilePhase(ctx: BenchContext): Promise<ProfilePhase> {
  const dir = join(ctx.workDir, 'cpu-profile');
  const file = join(dir, 'bridge.cpuprofile');
  step('profile: bridge under --cpu-prof, warm up');
  const session = await openSession(ctx, 'e2e', 'profile', 1, {
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', 'bridge.cpuprofile'],
  });
  let throughput: ThroughputResult;
  let fromMs: number;
  let toMs: number;
  try {
    await warmUp(ctx, session);
    step(`profile: max throughput, ${ctx.plan.throughputMs / 1000} s`);
    fromMs = nowMs() - session.spawnedAtMs;
    throughput = await measureThroughput(ctx, session, ctx.plan.throughputMs);
    toMs = nowMs() - session.spawnedAtMs;
  } finally {
    // The profile is written when the process exits, which the graceful stop lets it do.
    await closeSession(session);
  }
  if (!existsSync(file)) throw new Error(`the bridge wrote no CPU profile at ${file}`);
  copyFileSync(file, ctx.profileOut);
  return { throughput, summary: { ...summarizeProfile(file, fromMs, toMs), file: ctx.profileOut } };
}

export interface SoakPhase {
  durationMs: number;
  ratePerSec: number;
  events: number;
  /** RSS once started, before any event. */
  rssStartMB: number;
  /** RSS a quarter into the soak, once JIT and pools have settled: the baseline growth is measured from. */
  rssWarmMB: number;
  rssAfterMB: number;
  /** Least-squares RSS trend over the second half of the soak. */
  rssSlopeMBPerMin: number;
  peakRssMB: number;
  /** The bridge's own heap figures a quarter in and at the end. */
  memoryWarm?: MemoryReport;
  memoryAfter?: MemoryReport;
  latencyMs: LatencySummary;
  lost: number;
}

/** `soakRate` events/s for `soakMs` against one target, from a cold start, RSS sampled every 250 ms. */
export async function soakPhase(ctx: BenchContext): Promise<SoakPhase> {
  const { plan } = ctx;
  step(`soak: ${plan.soakRate}/s for ${plan.soakMs / 1000} s`);
  const session = await openSession(ctx, 'e2e', 'soak', 1);
  try {
    // No closed-loop warm-up: a burst at full speed would grow the heap the soak is meant to watch. The soak's
    // first quarter is its warm-up instead.
    const startMs = nowMs();
    const quarterMs = plan.soakMs / 4;
    let memoryWarm: Awaited<ReturnType<typeof memoryOf>>;
    const warmTimer = setTimeout(() => {
      void memoryOf(session).then((memory) => (memoryWarm = memory));
    }, quarterMs);
    const latency = await measureLatency(ctx, session, plan.soakRate, plan.soakMs);
    clearTimeout(warmTimer);
    const after = session.sampler.take();
    const memoryAfter = await memoryOf(session);
    const samples = session.sampler.samples;
    const warm = samples.find((sample) => sample.atMs >= startMs + quarterMs);
    const trend = samples
      .filter((sample) => sample.atMs >= startMs + plan.soakMs / 2 && sample.atMs <= startMs + plan.soakMs)
      .map((sample): [number, number] => [(sample.atMs - startMs) / 60_000, sample.rssBytes / MB]);
    const summary = await closeSession(session);
    return {
      durationMs: plan.soakMs,
      ratePerSec: plan.soakRate,
      events: latency.events,
      rssStartMB: summary.startRssMB,
      rssWarmMB: round((warm?.rssBytes ?? NaN) / MB),
      rssAfterMB: round((after?.rssBytes ?? NaN) / MB),
      rssSlopeMBPerMin: round(slope(trend), 2),
      peakRssMB: summary.peakRssMB,
      ...(memoryWarm ? { memoryWarm } : {}),
      ...(memoryAfter ? { memoryAfter } : {}),
      latencyMs: latency.latencyMs,
      lost: latency.lost,
    };
  } catch (err) {
    await closeSession(session).catch(() => undefined);
    throw err;
  }
}
