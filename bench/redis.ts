/**
 * The bench's own Redis access: one prefix per run (every phase works under a sub-prefix of it), the probes the
 * phases need, and the SCAN + DEL that removes everything the run wrote.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { deliveryQueue } from '../src/queue/delivery-queue.js';
import { keyPatterns, sessionKey } from '../src/redis/keys.js';
import { SIM_APP_ID } from './pipes.js';
import { sleep } from './time.js';

/**
 * `{qqwb-bench-<hex>}`: hash-tagged like the bridge's default prefix, unique per run so concurrent runs and the
 * test suites sharing this Redis never see each other's keys.
 */
export function runPrefix(): string {
  return `{qqwb-bench-${randomBytes(4).toString('hex')}}`;
}

/**
 * `{qqwb-bench-<hex>:<name>}`: one session's prefix under the run's. It stays a single hash tag, the only form
 * `redis.prefix` accepts, and {@link deletePrefix} of the run's prefix still finds its keys.
 */
export function sessionPrefix(runPrefix: string, name: string): string {
  return `{${runPrefix.replace(/[{}]/g, '')}:${name}}`;
}

/** Deletes every key of `prefix` and its sub-prefixes (SCAN, never KEYS); returns how many. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of keyPatterns(prefix)) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

/** The bridge's delivery queue of target `t<index>`, opened from outside to count and promote its jobs. */
export function bridgeQueue(redis: Redis, prefix: string, index: number): Queue {
  return deliveryQueue(`t${index}`, prefix, redis);
}

/**
 * The seq the bridge's shard 0 has durably enqueued up to (its persisted session), or 0. Everything the gateway
 * acknowledged as durable is at or below it, so it measures ingestion without asking the bridge.
 */
export async function durableSeq(redis: Redis, prefix: string): Promise<number> {
  const seq = await redis.hget(sessionKey(prefix, SIM_APP_ID, 0), 'seq');
  return seq === null ? 0 : Number(seq);
}

/**
 * Events the bridge has durably enqueued since this counter started, following its persisted seq (polled every
 * 20 ms). Independent of delivery, so it also counts while the target is down or no worker runs.
 */
export class EnqueuedCounter {
  value = 0;
  private running = true;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly base: number,
  ) {
    this.loop = (async () => {
      while (this.running) {
        this.value = (await durableSeq(this.redis, this.prefix)) - this.base;
        await sleep(20);
      }
    })();
  }

  static async start(redis: Redis, prefix: string): Promise<EnqueuedCounter> {
    return new EnqueuedCounter(redis, prefix, await durableSeq(redis, prefix));
  }

  /** Resolves true once `value` reaches `count`, false after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.value < count) {
      if (performance.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/**
 * CPU seconds the Redis server has used since it started (`INFO cpu`: user + system, every thread). Redis shares
 * the machine with the pipes, so its cost per event is part of what a pipe costs.
 */
export async function redisCpuSec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}
