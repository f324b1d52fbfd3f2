/**
 * The upgrade from the shared key layout (every key under the one tag `redis.prefix`) to per-queue hash tags,
 * against real Redis: what an earlier version left — waiting and delayed deliveries, a dead letter, a gateway
 * session, a lease — is written under the old names directly, then the current code is started on it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type BridgeConfig } from '../../src/config/index.js';
import { startDeliveryWorkers, type DeliveryWorkers } from '../../src/delivery/worker.js';
import { ShardLease } from '../../src/gateway/lease.js';
import { RedisSessionStore } from '../../src/gateway/session-store.js';
import { silentLogger } from '../../src/log.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import type { DeliveryJobData } from '../../src/queue/job.js';
import { deliveryJobOptions } from '../../src/queue/job-options.js';
import { unfinishedJobs } from '../../src/queue/legacy-drain.js';
import { deliveryQueueName } from '../../src/queue/names.js';
import { sessionKey } from '../../src/redis/keys.js';
import { runDlq } from '../commands/dlq-fixtures.js';
import {
  addDelivery,
  deletePrefix,
  envelopeBody,
  redisConnection,
  SECRET,
  startReceiver,
  uniquePrefix,
  waitFor,
  type Receiver,
} from '../delivery/fixtures.js';
import { REDIS_URL } from '../helpers/redis.js';

const APP_ID = '102000000';

let prefix: string;
let dir: string;
let configFile: string;
let config: BridgeConfig;
let admin: Redis;
let receiver: Receiver;
let workers: DeliveryWorkers | undefined;
/** The target's queue as an earlier version named it: BullMQ prefix `redis.prefix` itself. */
let oldQueue: Queue<DeliveryJobData>;

beforeEach(async () => {
  prefix = uniquePrefix();
  receiver = await startReceiver();
  dir = await mkdtemp(join(tmpdir(), 'qqwb-upgrade-'));
  configFile = join(dir, 'bridge.yaml');
  const yaml = [
    `qq: { app_id: "${APP_ID}", client_secret: test-secret }`,
    `redis: { url: "${REDIS_URL}", prefix: "${prefix}" }`,
    `journal: { dir: "${join(dir, 'journal')}" }`,
    'targets:',
    '  - id: backend',
    `    url: ${receiver.url}`,
    `    secret: ${SECRET}`,
    '    allow_private: true',
    '    retry: { attempts: 2, base: 20ms, max: 100ms }',
  ].join('\n');
  await writeFile(configFile, yaml);
  config = parseConfig(yaml, configFile, {});
  admin = redisConnection();
  oldQueue = new Queue<DeliveryJobData>(deliveryQueueName('backend'), { connection: admin, prefix });
});

afterEach(async () => {
  await workers?.close(1_000);
  workers = undefined;
  await oldQueue.close();
  await receiver.close();
  await deletePrefix(prefix);
  admin.disconnect();
  await rm(dir, { recursive: true, force: true });
});

/** How many times each webhook-id reached the receiver. */
function deliveriesById(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of receiver.requests) {
    const id = String(request.headers['webhook-id']);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** A dead letter in the old queue, failed the way an earlier version's worker failed it. */
async function oldDeadLetter(eventId: string): Promise<void> {
  const target = config.targets[0]!;
  await addDelivery(oldQueue, target, eventId);
  const worker = new Worker(
    deliveryQueueName('backend'),
    () => Promise.reject(new UnrecoverableError('HTTP 400')),
    { connection: redisConnection(), prefix },
  );
  try {
    await waitFor(async () => (await oldQueue.getJobCountByTypes('failed')) === 1);
  } finally {
    await worker.close();
    await worker.disconnect();
  }
}

describe('upgrading from the shared key layout', () => {
  it('delivers every job the old queue held exactly once, and lists and replays its dead letters', async () => {
    const target = config.targets[0]!;
    await oldDeadLetter('GROUP_ADD_ROBOT:dead');
    for (const id of ['GROUP_ADD_ROBOT:w1', 'GROUP_ADD_ROBOT:w2', 'GROUP_ADD_ROBOT:w3']) {
      await addDelivery(oldQueue, target, id);
    }
    const delayedId = 'GROUP_ADD_ROBOT:delayed';
    await oldQueue.add(
      'group.bot.added',
      {
        eventId: delayedId,
        type: 'group.bot.added',
        qqType: 'GROUP_ADD_ROBOT',
        body: envelopeBody(delayedId),
        enqueuedAt: Date.now(),
      },
      { ...deliveryJobOptions(target, delayedId, `backend|${delayedId}`, 86_400_000), delay: 400 },
    );
    expect(await unfinishedJobs(admin, prefix, oldQueue.name)).toBe(4);

    workers = startDeliveryWorkers({ config, logger: silentLogger(), legacyDrainIntervalMs: 100 });
    const newQueue = deliveryQueue('backend', prefix, admin);
    try {
      await addDelivery(newQueue, target, 'GROUP_ADD_ROBOT:new');
      await waitFor(() => deliveriesById().size === 5);
      // the old queue is empty, and its worker has had time to deliver anything twice
      await waitFor(async () => (await unfinishedJobs(admin, prefix, oldQueue.name)) === 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(Object.fromEntries(deliveriesById())).toEqual({
        'GROUP_ADD_ROBOT:w1': 1,
        'GROUP_ADD_ROBOT:w2': 1,
        'GROUP_ADD_ROBOT:w3': 1,
        'GROUP_ADD_ROBOT:delayed': 1,
        'GROUP_ADD_ROBOT:new': 1,
      });

      const listed = await runDlq(configFile, ['list', '--json', '--target', 'backend']);
      expect(listed.error).toBeUndefined();
      expect((JSON.parse(listed.stdout) as { eventId: string }[]).map((row) => row.eventId)).toEqual([
        'GROUP_ADD_ROBOT:dead',
      ]);
      const shown = await runDlq(configFile, ['show', '--id', 'GROUP_ADD_ROBOT:dead', '--target', 'backend']);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        eventId: 'GROUP_ADD_ROBOT:dead',
        failedReason: 'HTTP 400',
      });

      const replayed = await runDlq(configFile, [
        'replay',
        '--id',
        'GROUP_ADD_ROBOT:dead',
        '--target',
        'backend',
      ]);
      expect(replayed).toMatchObject({ stdout: 'replayed 1 for target backend\n', error: undefined });
      await waitFor(() => deliveriesById().has('GROUP_ADD_ROBOT:dead'));
      await waitFor(async () => (await unfinishedJobs(admin, prefix, oldQueue.name)) === 0);
      expect(deliveriesById().get('GROUP_ADD_ROBOT:dead')).toBe(1);
      expect(receiver.requests).toHaveLength(6);
      const after = await runDlq(configFile, ['list', '--target', 'backend']);
      expect(after.stdout).toBe('no dead letters for target backend\n');
    } finally {
      await newQueue.close();
    }
  }, 30_000);

  it('writes no key of the old layout on a fresh install, however often it looks', async () => {
    // this test's own handle on the old queue wrote its meta key; a fresh install has none
    await oldQueue.waitUntilReady();
    await deletePrefix(prefix);
    workers = startDeliveryWorkers({ config, logger: silentLogger(), legacyDrainIntervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const [, oldKeys] = await admin.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
    expect(oldKeys, JSON.stringify(oldKeys)).toEqual([]);
  });

  it('purges the old layout dead letters with the new ones, after one question naming both', async () => {
    await oldDeadLetter('GROUP_ADD_ROBOT:dead');
    const purged = await runDlq(configFile, ['purge', '--all', '--target', 'backend'], {
      interactive: true,
      answer: 'y',
    });
    expect(purged.stderr).toContain('delete 1 dead letter of target backend? [y/N]');
    expect(purged.stdout).toBe('purged 1 for target backend\n');
    expect(await oldQueue.getJobCountByTypes('failed')).toBe(0);
  }, 30_000);

  it('resumes the session an earlier version persisted, and forgets it once a newer one is saved', async () => {
    const oldKey = `${prefix}:session:${APP_ID}:0`;
    await admin.hset(oldKey, { session_id: 'session-old', seq: '77', updated_at: String(Date.now()) });
    const store = new RedisSessionStore(admin, prefix, APP_ID);
    expect(await store.load(0)).toEqual({ sessionId: 'session-old', seq: 77 });
    expect(await store.load(1)).toBeUndefined();

    await store.save(0, { sessionId: 'session-old', seq: 80 });
    expect(await admin.exists(oldKey)).toBe(0);
    expect(await admin.hget(sessionKey(prefix, APP_ID, 0), 'seq')).toBe('80');
    expect(await store.load(0)).toEqual({ sessionId: 'session-old', seq: 80 });
  });

  it('leaves a shard alone while a replica of the earlier version holds its old lease', async () => {
    const oldLease = `${prefix}:lease:${APP_ID}:0`;
    await admin.set(oldLease, 'replica-old/0a1b2c3d:5', 'PX', 10_000);
    const lease = new ShardLease({
      redis: admin,
      prefix,
      appId: APP_ID,
      shardId: 0,
      owner: 'replica-new/00000001',
      ttlMs: 10_000,
    });
    expect(await lease.acquire()).toEqual({ kind: 'held', holder: 'replica-old/0a1b2c3d' });
    // the same replica id's own earlier run does not hold the shard back
    const restarted = new ShardLease({
      redis: admin,
      prefix,
      appId: APP_ID,
      shardId: 0,
      owner: 'replica-old/99999999',
      ttlMs: 10_000,
    });
    expect((await restarted.acquire()).kind).toBe('acquired');
    await restarted.release();
    await admin.del(oldLease);
    expect((await lease.acquire()).kind).toBe('acquired');
  });
});
