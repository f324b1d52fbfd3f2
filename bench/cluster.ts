/**
 * The bridge on a Redis Cluster: e2e throughput with one target on the run's single Redis and on a 3-master +
 * 3-replica cluster started for this phase (redis-server on free loopback ports, no persistence), the cluster once
 * with `redis.min_replicas: 0` and once with 1 (a WAIT after every enqueue). Every run sends the same number of
 * events under the same closed-loop window after its own warm-up, and its rate is events ÷ (first send → last
 * delivery), so the three figures compare directly. The cluster is stopped and its data removed at the end.
 */
import { startSimulator } from '../src/simulator/index.js';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis-cluster.js';
import { waitCalls } from '../test/helpers/replica-wait.js';
import { runWindowed } from './load.js';
import { BENCH_EVENT_TYPE, benchEventData, nowMs } from './payload.js';
import { step, type BenchContext } from './phases.js';
import { startBridge, type BridgeSpec } from './pipes.js';
import { sessionPrefix } from './redis.js';
import { round } from './stats.js';

/** Events of each measured run; the same for the three, so their rates compare. */
export function clusterEvents(quick: boolean): number {
  return quick ? 3_000 : 15_000;
}

const WARM_UP_EVENTS = 500;
/** Events outstanding at most: 4 × the default concurrency of 8, as the other closed loops allow at least. */
const WINDOW_EVENTS = 500;
const RETRY = { attempts: 15, base: '1s', max: '1h' };

export interface ClusterRun {
  /** `single` (the run's Redis url, min_replicas 0) or `cluster` (3 masters + 3 replicas). */
  redis: 'single' | 'cluster';
  minReplicas: number;
  events: number;
  eventsPerSec: number;
  lost: number;
  duplicates: number;
  /**
   * WAIT commands every cluster node ran during this run, warm-up included (`INFO commandstats`): none with
   * min_replicas 0, one per enqueue with 1 (an enqueue may carry several events). Not counted on the single
   * node, which other clients share.
   */
  waitCalls?: number;
}

export interface ClusterPhase {
  events: number;
  masters: number;
  replicasPerMaster: number;
  single: ClusterRun;
  clusterNoWait: ClusterRun;
  clusterWait: ClusterRun;
  /** cluster (min_replicas 0) ev/s ÷ single-node ev/s. */
  clusterOverSingle: number;
  /** cluster min_replicas 1 ev/s ÷ cluster min_replicas 0 ev/s: what the WAIT keeps. */
  waitOverNoWait: number;
}

type Topology = Pick<BridgeSpec, 'redisCluster' | 'minReplicas'>;

/** Starts a bridge on `topology`, warms it up, sends `events` events and times them until the last delivery. */
async function measure(
  ctx: BenchContext,
  name: string,
  topology: Topology,
  events: number,
): Promise<Omit<ClusterRun, 'redis' | 'minReplicas'>> {
  const { receiver } = ctx;
  const sim = await startSimulator();
  try {
    const bridge = await startBridge({
      cli: ctx.options.cli,
      name,
      workDir: ctx.workDir,
      sim,
      redisUrl: ctx.options.redisUrl,
      prefix: sessionPrefix(ctx.prefix, name),
      targetUrls: [receiver.url(0)],
      concurrency: ctx.options.concurrency,
      retry: RETRY,
      nodeArgs: ctx.options.bridgeNodeArgs,
      ...topology,
    });
    try {
      const send = async (count: number, firstSeq: number): Promise<number> => {
        const base = receiver.delivered;
        const run = await runWindowed({
          emit: (seq) => sim.emit(BENCH_EVENT_TYPE, benchEventData(seq, nowMs())),
          completed: () => receiver.delivered - base,
          window: WINDOW_EVENTS,
          durationMs: ctx.plan.drainTimeoutMs,
          maxEvents: count,
          rampMs: 0,
          firstSeq,
        });
        if (!(await receiver.waitForDelivered(base + run.emitted, ctx.plan.drainTimeoutMs))) {
          throw new Error(`${name}: delivered ${receiver.delivered - base} of ${run.emitted}`);
        }
        return run.emitted;
      };
      await send(WARM_UP_EVENTS, 0); // seq 0: untracked by the receiver
      await receiver.reset(1, events);
      const startedMs = nowMs();
      const sent = await send(events, 1);
      const elapsedMs = nowMs() - startedMs;
      const stats = await receiver.stats(sent);
      return {
        events: sent,
        eventsPerSec: Math.round((sent / elapsedMs) * 1000),
        lost: stats.missing,
        duplicates: stats.duplicates,
      };
    } finally {
      await bridge.stop();
    }
  } finally {
    await sim.close();
  }
}

export async function clusterPhase(ctx: BenchContext): Promise<ClusterPhase> {
  const events = clusterEvents(ctx.options.quick);
  const masters = 3;
  const replicasPerMaster = 1;
  step(`cluster: single node, ${events} events`);
  const single = await measure(ctx, 'single-node', {}, events);
  step(`cluster: start ${masters} masters + ${masters * replicasPerMaster} replicas`);
  let cluster: RedisCluster | undefined;
  try {
    cluster = await startRedisCluster({ masters, replicasPerMaster });
    const on = cluster;
    const totalWaits = async (): Promise<number> =>
      (await Promise.all(on.servers.map((server) => waitCalls(server.port)))).reduce((a, b) => a + b, 0);
    const onCluster = async (minReplicas: number): Promise<ClusterRun> => {
      step(`cluster: min_replicas ${minReplicas}, ${events} events`);
      const before = await totalWaits();
      const run = await measure(
        ctx,
        `cluster-${minReplicas}`,
        { redisCluster: { nodes: on.nodes }, minReplicas },
        events,
      );
      return { redis: 'cluster', minReplicas, ...run, waitCalls: (await totalWaits()) - before };
    };
    const noWait = await onCluster(0);
    const wait = await onCluster(1);
    return {
      events,
      masters,
      replicasPerMaster,
      single: { redis: 'single', minReplicas: 0, ...single },
      clusterNoWait: noWait,
      clusterWait: wait,
      clusterOverSingle: round(noWait.eventsPerSec / single.eventsPerSec, 2),
      waitOverNoWait: round(wait.eventsPerSec / noWait.eventsPerSec, 2),
    };
  } finally {
    await cluster?.cleanup();
  }
}
