import { Redis } from 'ioredis';
import { deliveryQueueName, jobIdForEvent } from '../../src/queue/names.js';
import { targetQueuePrefix } from '../../src/redis/keys.js';
import type { AcknowledgedDelivery } from './counting-receiver.js';

/** The target every chaos world delivers to (ChaosWorld.configFor), whose queue holds the jobs looked up by default. */
const RECEIVER_TARGET = 'receiver';

/** A SIGKILL of a delivering process, with the delivery jobs its worker held at that moment. */
export interface Kill {
  at: number;
  /**
   * Job ids in the target queue's `active` list read right after the process died: a superset of the jobs the
   * dead worker held (another live worker's are in it too). Undefined when Redis could not be read then.
   */
  activeJobIds: ReadonlySet<string> | undefined;
}

/** What Redis says about the delivery job of an event acknowledged more than once. */
export interface JobTrace {
  /** BullMQ's `stc`: how often the stalled-job check took the job back from a worker whose lock had expired. */
  stalledCount: number;
  /** BullMQ's `ats` (attempts started) and `atm` (attempts made). */
  attemptsStarted: number;
  attemptsMade: number;
  /** BullMQ's `processedOn`: when the job's last run (the one that completed it) was moved to active, Unix ms. */
  lastRunStartedAt: number;
}

/** One event the receiver acknowledged more than once, with the evidence it was classified on. */
export interface TwiceAcknowledged {
  id: string;
  /** Each acknowledged delivery: its `x-qqwb-attempt`, and arrival and answer times relative to the kill. */
  deliveries: { attempt: string; arrivedMs: number; ackedMs: number }[];
  /** When the job's last run started, relative to the kill; undefined without the job. */
  lastRunMs: number | undefined;
  /** Undefined when the job was gone (removed on completion) or Redis could not be read. */
  job: JobTrace | undefined;
  /** Whether the job was in the active list right after the kill the times are relative to. */
  activeAtKill: boolean;
  verdict: 'redelivered after kill' | 'duplicate';
}

/** A target's queue keys: `<its hash-tagged queue prefix>:<queue name>` (src/redis/keys.ts). */
function queueKeyBase(prefix: string, targetId: string): string {
  return `${targetQueuePrefix(prefix, targetId)}:${deliveryQueueName(targetId)}`;
}

/** A short-lived client that fails fast instead of queueing commands while Redis is down. */
async function briefly<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await use(redis);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** The receiver queue's active job ids now, or undefined when Redis cannot be read. */
export async function activeDeliveryJobs(url: string, prefix: string): Promise<Set<string> | undefined> {
  const key = `${queueKeyBase(prefix, RECEIVER_TARGET)}:active`;
  const ids = await briefly(url, (redis) => redis.lrange(key, 0, -1));
  return ids && new Set(ids);
}

/** The stall and attempt counters of each event's delivery job to a target (absent: no such job, or Redis unreadable). */
export async function jobTraces(
  url: string,
  prefix: string,
  eventIds: string[],
  targetId = RECEIVER_TARGET,
): Promise<Map<string, JobTrace>> {
  const traces = new Map<string, JobTrace>();
  if (eventIds.length === 0) return traces;
  await briefly(url, async (redis) => {
    for (const id of eventIds) {
      const key = `${queueKeyBase(prefix, targetId)}:${jobIdForEvent(id)}`;
      const [stc, ats, atm, processedOn] = await redis.hmget(key, 'stc', 'ats', 'atm', 'processedOn');
      if (ats === null || processedOn === null) continue;
      traces.set(id, {
        stalledCount: Number(stc ?? 0),
        attemptsStarted: Number(ats),
        attemptsMade: Number(atm ?? 0),
        lastRunStartedAt: Number(processedOn),
      });
    }
  });
  return traces;
}

/**
 * Classifies an event acknowledged more than once. It was redelivered after a kill — at-least-once delivery of a
 * job in flight when its worker died, which receivers absorb by deduplicating on webhook-id — only when Redis
 * shows all of it: the job was active right after a kill (the dead worker never recorded its outcome), exactly one
 * acknowledged delivery came from the run that completed it (arrived after that run started, `processedOn`), and
 * every other one is covered by a run the stalled-job check took back (`stc`). A delivery whose outcome the bridge
 * had recorded leaves no active job; a second job for the event, or a run that delivered twice, adds deliveries no
 * stall accounts for: each is a duplicate.
 *
 * No time window around the kill is involved. The receiver stamps a request when the test process's event loop
 * gets to it, which under load is after the kill for requests the process sent before it died (seen: 1–2 ms after,
 * for 6 of 8), and a starved process may not have recorded an answer given long before the kill. The only time
 * compared is a delivery's arrival with the start of the job's last run, which follows any delivery of a stalled
 * run by at least the lock duration (`delivery.stall_timeout`) and precedes its own delivery.
 */
export function classifyTwiceAcknowledged(
  id: string,
  deliveries: readonly AcknowledgedDelivery[],
  job: JobTrace | undefined,
  kills: readonly Kill[],
): TwiceAcknowledged {
  const jobId = jobIdForEvent(id);
  const kill = kills.find((k) => k.activeJobIds?.has(jobId) === true);
  const fromLastRun = job ? deliveries.filter((d) => d.arrivedAt >= job.lastRunStartedAt).length : 0;
  const fromEarlierRuns = deliveries.length - fromLastRun;
  const redelivered =
    kill !== undefined && job !== undefined && fromLastRun === 1 && fromEarlierRuns <= job.stalledCount;
  const origin = (kill ?? kills[0])?.at ?? 0;
  return {
    id,
    deliveries: deliveries.map((d) => ({
      attempt: d.attempt,
      arrivedMs: d.arrivedAt - origin,
      ackedMs: d.ackedAt - origin,
    })),
    lastRunMs: job && job.lastRunStartedAt - origin,
    job,
    activeAtKill: kill !== undefined,
    verdict: redelivered ? 'redelivered after kill' : 'duplicate',
  };
}
