/**
 * `redis.min_replicas` against a real master + replica behind a real Sentinel: an enqueue counts as durable only
 * once WAIT saw the replica have it; a stopped replica sends events to the journal, which drains once it is back.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { OutboundQueue } from '../../src/outbound/send-queue.js';
import { deliveryQueueName, jobIdForEvent } from '../../src/queue/names.js';
import { targetQueuePrefix } from '../../src/redis/keys.js';
import { DurableSink, enqueueEntryWith } from '../../src/queue/durable-sink.js';
import { Journal } from '../../src/queue/journal.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { startIngestPipeline } from '../../src/ingest-pipeline.js';
import { createMetrics } from '../../src/server/metrics.js';
import { NO_REPLICA_WAIT, replicated, type ReplicaWaitPolicy } from '../../src/queue/replica-wait.js';
import { StoreUnavailableError, storeCall } from '../../src/server/api/store-call.js';
import { testConfig, testTarget } from '../helpers/config.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisSentinelSet, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { waitCalls, waitForOnlineReplicas } from '../helpers/replica-wait.js';
import { journalEntry, range, tempDir, waitUntil } from './journal-fixtures.js';

const APP_ID = '102000000';
const TARGETS = [
  testTarget({ id: 'backend', url: 'http://127.0.0.1:9/events' }),
  testTarget({ id: 'audit', url: 'http://127.0.0.1:9/audit' }),
];
const ONE_REPLICA: ReplicaWaitPolicy = { minReplicas: 1, timeoutMs: 200 };

let set: RedisSentinelSet;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  set = await startRedisSentinelSet();
}, 60_000);

afterAll(async () => {
  await set?.cleanup();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  if (!set.replica.running) await set.replica.start();
  await waitForOnlineReplicas(set.master.port, 1);
});

/** The gateway's kind of connection, through the Sentinel: fails fast while Redis is away. */
async function sentinelConnection(): Promise<Redis> {
  const [host, port] = set.sentinels[0]!.split(':');
  const redis = new Redis({
    sentinels: [{ host: host!, port: Number(port) }],
    name: set.name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => undefined);
  await redis.connect();
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return redis;
}

function directConnection(port: number): Redis {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  cleanups.push(() => Promise.resolve(redis.disconnect()));
  return redis;
}

async function producerWith(replicaWait: ReplicaWaitPolicy, prefix: string): Promise<DeliveryProducer> {
  const connection = await sentinelConnection();
  const producer = new DeliveryProducer({
    connection,
    prefix,
    targets: TARGETS,
    dedupeWindowMs: 3_600_000,
    replicaWait,
  });
  cleanups.push(() => producer.close());
  return producer;
}

/** The Redis key of event `seq`'s job (from journalEntry) for target `targetId`. */
function jobKey(prefix: string, targetId: string, seq: number): string {
  const eventId = `GROUP_ADD_ROBOT:${journalEntry(seq).frame.id!.split(':')[1]}`;
  return `${targetQueuePrefix(prefix, targetId)}:${deliveryQueueName(targetId)}:${jobIdForEvent(eventId)}`;
}

async function jobsOn(redis: Redis, prefix: string, seqs: readonly number[]): Promise<number> {
  const keys = seqs.flatMap((seq) => TARGETS.map((target) => jobKey(prefix, target.id, seq)));
  return redis.exists(...keys);
}

describe('redis.min_replicas 1 with a healthy replica', () => {
  it('acknowledges a batch after one WAIT on the master, and the replica already holds every job', async () => {
    const prefix = freshPrefix('wait');
    const enqueue = enqueueEntryWith(await producerWith(ONE_REPLICA, prefix), APP_ID);
    const before = await waitCalls(set.master.port);
    await enqueue(range(1, 5).map((seq) => journalEntry(seq)));
    // one WAIT for five events to two targets: per connection after the batch, not per job
    expect((await waitCalls(set.master.port)) - before).toBe(1);
    // WAIT returned 1, so the replica has them now, not eventually
    expect(await jobsOn(directConnection(set.replica.port), prefix, range(1, 5))).toBe(10);
  });

  it('stores a send-API message only once the replica has it', async () => {
    const connection = await sentinelConnection();
    const outbound = new OutboundQueue({
      connection,
      prefix: freshPrefix('wait-ob'),
      appId: APP_ID,
      attempts: 3,
      replicaWait: ONE_REPLICA,
    });
    cleanups.push(() => outbound.close());
    const before = await waitCalls(set.master.port);
    const request = {
      scene: 'group' as const,
      openid: 'C9F7',
      body: { content: 'hi', msg_type: 0, msg_id: 'm-1' },
      source: 'api' as const,
    };
    const id = await outbound.enqueueMessage(request);
    expect((await waitCalls(set.master.port)) - before).toBe(1);
    const job = (await directConnection(set.replica.port).hgetall(
      `${outbound.queue.qualifiedName}:${id}`,
    )) as {
      data?: string;
    };
    expect(JSON.parse(job.data ?? '{}')).toMatchObject({ id, body: { msg_seq: 1 } });

    await set.replica.stop();
    const refused = await outbound
      .enqueueMessage({ ...request, body: { content: 'again', msg_id: 'm-2' } })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(isBridgeError(refused, 'BRIDGE_ERR_NOT_REPLICATED')).toBe(true);
    // the send API answers 503 for it (may have been stored: retry with an Idempotency-Key), not 202
    const answered = await storeCall(Promise.reject(refused as Error), 1_000).catch((err: unknown) => err);
    expect(answered).toBeInstanceOf(StoreUnavailableError);
    expect((answered as StoreUnavailableError).timedOut).toBe(true);
  });
});

describe('a WAIT that would not cover the write', () => {
  it('is no proof: a reconnect between the write and WAIT makes the write not durable', async () => {
    const redis = directConnection(set.master.port);
    await redis.ping();
    const key = `${freshPrefix('wait-reconnect')}:k`;
    // the replica is healthy, so WAIT on the new connection (which wrote nothing) answers 1 at once
    const failure = await replicated(redis, [key], ONE_REPLICA, async () => {
      await redis.set(key, '1', 'PX', 60_000);
      redis.disconnect(true);
      await new Promise((resolve) => redis.once('ready', resolve));
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isBridgeError(failure, 'BRIDGE_ERR_NOT_REPLICATED')).toBe(true);
    expect(String((failure as Error).message)).toContain('changed between the write and WAIT');
  });
});

describe('redis.min_replicas 1 with the replica stopped', () => {
  it('journals the events instead of acknowledging them, and drains them once the replica is back', async () => {
    const prefix = freshPrefix('wait-down');
    const connection = await sentinelConnection();
    const producer = new DeliveryProducer({
      connection,
      prefix,
      targets: TARGETS,
      dedupeWindowMs: 3_600_000,
      replicaWait: ONE_REPLICA,
    });
    cleanups.push(() => producer.close());
    const dir = await tempDir('wait-journal');
    cleanups.push(dir.remove);
    const journal = await Journal.open({ dir: dir.path, maxBytes: 1024 * 1024, logger: silentLogger() });
    cleanups.push(() => journal.close());
    const sink = new DurableSink({
      journal,
      enqueue: enqueueEntryWith(producer, APP_ID),
      isRedisReady: () => connection.status === 'ready',
      logger: silentLogger(),
      retryIntervalMs: 100,
    });
    cleanups.push(() => sink.stop());

    await sink.accept([journalEntry(1)]);
    expect(journal.entries).toBe(0);

    await set.replica.stop();
    const before = await waitCalls(set.master.port);
    for (const seq of range(2, 6)) await sink.accept([journalEntry(seq)]);
    // the master took the jobs, but too few replicas confirmed them: they count as durable in the journal only
    expect(sink.mode()).toBe('journaling');
    expect(journal.entries).toBe(5);
    // the drain keeps trying (each attempt a WAIT that times out) without moving the journal's cursor
    await waitUntil(async () => (await waitCalls(set.master.port)) - before >= 4, 'drain attempts');
    expect(journal.entries).toBe(5);

    await set.replica.start();
    await waitUntil(() => journal.entries === 0 && sink.mode() === 'direct', 'journal drained', 20_000);
    await sink.accept([journalEntry(7)]);
    expect(journal.entries).toBe(0);
    // nothing lost, nothing twice, and the replica has all of it
    const waiting = await directConnection(set.master.port).zcard(
      `${targetQueuePrefix(prefix, 'backend')}:deliver-backend:prioritized`,
    );
    const listed = await directConnection(set.master.port).llen(
      `${targetQueuePrefix(prefix, 'backend')}:deliver-backend:wait`,
    );
    expect(waiting + listed).toBe(7);
    expect(await jobsOn(directConnection(set.replica.port), prefix, range(1, 7))).toBe(14);
  });
});

describe('the ingest pipeline (gateway and webhook callbacks)', () => {
  it('takes redis.min_replicas from the config: with the replica stopped, accepted frames are journaled', async () => {
    const base = testConfig({ prefix: freshPrefix('wait-pipe'), targets: TARGETS });
    const config = { ...base, redis: { ...base.redis, minReplicas: 1, replicaWaitTimeoutMs: 200 } };
    const redis = await sentinelConnection();
    const dir = await tempDir('wait-pipe');
    cleanups.push(dir.remove);
    const journal = await Journal.open({ dir: dir.path, maxBytes: 1024 * 1024, logger: silentLogger() });
    cleanups.push(() => journal.close());
    const pipeline = startIngestPipeline({
      config,
      redis,
      journal,
      metrics: createMetrics(),
      logger: silentLogger(),
    });
    cleanups.push(() => pipeline.stop());
    const frame = (seq: number) => journalEntry(seq, 'pipe').frame;
    const before = await waitCalls(set.master.port);
    await pipeline.accept([frame(1)], [0, 1]);
    expect(journal.entries).toBe(0);
    expect((await waitCalls(set.master.port)) - before).toBe(1);
    await set.replica.stop();
    await pipeline.accept([frame(2)], [0, 1]);
    expect(journal.entries).toBe(1);
  });
});

describe('redis.min_replicas 0', () => {
  it('sends no WAIT at all', async () => {
    const prefix = freshPrefix('no-wait');
    const enqueue = enqueueEntryWith(await producerWith(NO_REPLICA_WAIT, prefix), APP_ID);
    const before = await waitCalls(set.master.port);
    await enqueue(range(1, 5).map((seq) => journalEntry(seq)));
    expect(await jobsOn(directConnection(set.master.port), prefix, range(1, 5))).toBe(10);
    expect(await waitCalls(set.master.port)).toBe(before);
  });
});
