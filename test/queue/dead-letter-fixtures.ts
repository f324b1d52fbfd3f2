import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseConfig, type BridgeConfig } from '../../src/config/index.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { silentLogger } from '../../src/log.js';
import { openDeliveryQueue, type DeliveryQueue } from '../../src/queue/dlq.js';
import { jobIdForEvent } from '../../src/queue/names.js';
import {
  addDelivery,
  deletePrefix,
  redisConnection,
  SECRET,
  startReceiver,
  uniquePrefix,
  waitFor,
  type Receiver,
} from '../delivery/fixtures.js';
import { REDIS_URL } from '../helpers/redis.js';

/** A day in ms. */
export const DAY_MS = 86_400_000;

/**
 * Real dead letters of target `backend`: a loopback receiver that refuses every delivery (400), the bridge's
 * delivery workers, and the config as a YAML file, so the CLI can be pointed at the same queue.
 */
export interface DeadLetterWorld {
  readonly prefix: string;
  readonly config: BridgeConfig;
  /** The YAML file `config` was parsed from, for `--config`. */
  readonly configFile: string;
  readonly queue: DeliveryQueue;
  readonly admin: Redis;
  readonly receiver: Receiver;
  /** What the receiver answers from now on. */
  respondWith(status: number): void;
  /** Enqueues each event and waits until every one of them is dead-lettered. */
  deadLetter(...eventIds: string[]): Promise<void>;
  /** Enqueues each event, without waiting for its delivery to fail. */
  enqueue(...eventIds: string[]): Promise<void>;
  /** The state of an event's job (`failed` for a dead letter, `unknown` once deleted). */
  stateOf(eventId: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Moves a failed job's failure time back to `failedAtMs`, as if it had failed then: the job's `finishedOn` and
 * its score in the failed set, the two places BullMQ keeps that time. Waiting real days is not an option, and
 * BullMQ has no call that sets the time a job failed.
 */
export async function backdateFailedJob<T>(
  admin: Redis,
  queue: Queue<T>,
  jobId: string,
  failedAtMs: number,
): Promise<void> {
  const results = await admin
    .multi()
    .hset(queue.toKey(jobId), 'finishedOn', String(failedAtMs))
    .zadd(queue.toKey('failed'), 'XX', 'CH', failedAtMs, jobId)
    .exec();
  const [hset, zadd] = results ?? [];
  const hsetError = hset?.[0] ?? null;
  const zaddError = zadd?.[0] ?? null;
  const changed = zadd?.[1];
  if (hsetError || zaddError || changed !== 1) throw new Error(`could not backdate failed job ${jobId}`);
}

/** {@link backdateFailedJob} for the dead letter of `eventId` in the world's delivery queue. */
export function backdateDeadLetter(
  world: DeadLetterWorld,
  eventId: string,
  failedAtMs: number,
): Promise<void> {
  return backdateFailedJob(world.admin, world.queue, jobIdForEvent(eventId), failedAtMs);
}

/** Starts a {@link DeadLetterWorld}; `extraYaml` is appended to the config file (a `delivery:` section…). */
export async function startDeadLetterWorld(extraYaml = ''): Promise<DeadLetterWorld> {
  const prefix = uniquePrefix();
  let status = 400;
  const receiver = await startReceiver((_req, res) => {
    res.statusCode = status;
    res.end(status === 400 ? 'no thanks' : 'ok');
  });
  const dir = await mkdtemp(join(tmpdir(), 'qqwb-dlq-'));
  const configFile = join(dir, 'bridge.yaml');
  const yaml = [
    'qq: { app_id: "102000000", client_secret: test-secret }',
    `redis: { url: "${REDIS_URL}", prefix: "${prefix}" }`,
    `journal: { dir: "${join(dir, 'journal')}" }`,
    'targets:',
    '  - id: backend',
    `    url: ${receiver.url}`,
    `    secret: ${SECRET}`,
    '    allow_private: true',
    '    retry: { attempts: 2, base: 20ms, max: 100ms }',
    extraYaml,
  ].join('\n');
  await writeFile(configFile, yaml);
  const config = parseConfig(yaml, configFile, {});
  const admin = redisConnection();
  const queue = openDeliveryQueue(config, 'backend', admin);
  const workers: DeliveryWorkers = startDeliveryWorkers({ config, logger: silentLogger() });
  const target = config.targets[0]!;
  const enqueue = async (eventIds: readonly string[]): Promise<void> => {
    for (const id of eventIds) await addDelivery(queue, target, id);
  };

  return {
    prefix,
    config,
    configFile,
    queue,
    admin,
    receiver,
    respondWith(next) {
      status = next;
    },
    async deadLetter(...eventIds) {
      const before = await queue.getFailedCount();
      await enqueue(eventIds);
      await waitFor(async () => (await queue.getFailedCount()) === before + eventIds.length);
    },
    enqueue: (...eventIds) => enqueue(eventIds),
    stateOf: (eventId) => queue.getJobState(jobIdForEvent(eventId)),
    async close() {
      await workers.close(1000);
      await queue.close();
      await receiver.close();
      await deletePrefix(prefix);
      await admin.quit();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
