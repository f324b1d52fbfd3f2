import { Redis } from 'ioredis';
import { deliveryQueueName, jobIdForEvent } from '../../src/queue/names.js';
import type { AcknowledgedDelivery } from './counting-receiver.js';

/** The target every chaos world delivers to (ChaosWorld.configFor), whose queue holds the jobs looked up here. */
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
}

/** One event the receiver acknowledged more than once, with the evidence it was classified on. */
export interface TwiceAcknowledged {
  id: string;
  /** Each acknowledged delivery: its `x-qqwb-attempt`, and arrival and answer times relative to the kill. */
  deliveries: { attempt: string; arrivedMs: number; ackedMs: number }[];
  /** Undefined when the job was gone (removed on completion) or Redis could not be read. */
  job: JobTrace | undefined;
  /** Whether the job was in the active list right after the kill the times are relative to. */
  activeAtKill: boolean;
  verdict: 'redelivered after kill' | 'duplicate';
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
  const key = `${prefix}:${deliveryQueueName(RECEIVER_TARGET)}:active`;
  const ids = await briefly(url, (redis) => redis.lrange(key, 0, -1));
  return ids && new Set(ids);
}

/** The stall and attempt counters of each event's delivery job (absent: no such job, or Redis unreadable). */
export async function jobTraces(
  url: string,
  prefix: string,
  eventIds: string[],
): Promise<Map<string, JobTrace>> {
  const traces = new Map<string, JobTrace>();
  if (eventIds.length === 0) return traces;
  await briefly(url, async (redis) => {
    for (const id of eventIds) {
      const key = `${prefix}:${deliveryQueueName(RECEIVER_TARGET)}:${jobIdForEvent(id)}`;
      const [stc, ats, atm] = await redis.hmget(key, 'stc', 'ats', 'atm');
      if (ats === null) continue;
      traces.set(id, {
        stalledCount: Number(stc ?? 0),
        attemptsStarted: Number(ats),
        attemptsMade: Number(atm ?? 0),
      });
    }
  });
  return traces;
}

/**
 * Classifies an event acknowledged more than once. It was redelivered after a kill — at-least-once delivery of a
 * job in flight when its worker died, which receivers absorb by deduplicating on webhook-id — only when all of
 * this holds for one kill: the job was active right after it (its outcome had not been recorded), its first
 * acknowledged delivery arrived before it and every other one after it, and Redis shows the stalled-job check
 * took the job back at least once per extra delivery. Anything else is a duplicate: a delivery whose outcome the
 * bridge had recorded, or a second job for the same event, never satisfies all of it. No clock window is involved,
 * so a loaded machine that is slow to record a completion cannot turn an in-flight delivery into a duplicate.
 */
export function classifyTwiceAcknowledged(
  id: string,
  deliveries: readonly AcknowledgedDelivery[],
  job: JobTrace | undefined,
  kills: readonly Kill[],
): TwiceAcknowledged {
  const [first, ...later] = deliveries;
  const jobId = jobIdForEvent(id);
  const kill =
    kills.find(
      (k) => first !== undefined && first.arrivedAt <= k.at && k.activeJobIds?.has(jobId) === true,
    ) ??
    kills.find((k) => first !== undefined && first.arrivedAt <= k.at) ??
    kills[0];
  const activeAtKill = kill?.activeJobIds?.has(jobId) === true;
  const redelivered =
    kill !== undefined &&
    first !== undefined &&
    activeAtKill &&
    first.arrivedAt <= kill.at &&
    later.every((d) => d.arrivedAt > kill.at) &&
    job !== undefined &&
    job.stalledCount >= later.length;
  const origin = kill?.at ?? 0;
  return {
    id,
    deliveries: deliveries.map((d) => ({
      attempt: d.attempt,
      arrivedMs: d.arrivedAt - origin,
      ackedMs: d.ackedAt - origin,
    })),
    job,
    activeAtKill,
    verdict: redelivered ? 'redelivered after kill' : 'duplicate',
  };
}
