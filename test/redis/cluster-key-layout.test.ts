/**
 * The key layout on a real Redis Cluster: three targets' delivery queues, the outbound queue and the gateway
 * shards each have a hash tag of their own, so they land on more than one master, and every multi-key script
 * (BullMQ's, the lease's, the fenced session write) still finds its keys in one slot.
 */
import { Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseOwnerId, ShardLease } from '../../src/gateway/lease.js';
import { FencedRedisSessionStore } from '../../src/gateway/session-store.js';
import { ReplicaRegistry } from '../../src/gateway/replica-registry.js';
import { OutboundQueue } from '../../src/outbound/send-queue.js';
import { deliveryQueue } from '../../src/queue/delivery-queue.js';
import type { DeliveryJobData } from '../../src/queue/job.js';
import { deliveryQueueName } from '../../src/queue/names.js';
import { leaseKey, outboundQueuePrefix, sessionKey, targetQueuePrefix } from '../../src/redis/keys.js';
import { legacyQueuePrefix } from '../../src/redis/legacy-keys.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

const PREFIX = '{qqwb}';
const TARGETS = ['t1', 't2', 't3'];
const APP_ID = '102000001';

let cluster: RedisCluster;
let client: Cluster;
let workerClient: Cluster;

function connect(options: { worker?: boolean } = {}): Cluster {
  const connection = new Cluster(
    cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    options.worker ? { redisOptions: { maxRetriesPerRequest: null } } : {},
  );
  connection.on('error', () => undefined);
  return connection;
}

beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerMaster: 0 });
  client = connect();
  workerClient = connect({ worker: true });
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  workerClient?.disconnect();
  await cluster?.cleanup();
});

function jobData(index: number): DeliveryJobData {
  return { eventId: `E:${index}`, type: 'test', qqType: 'TEST', body: '{}', enqueuedAt: Date.now() };
}

/** The master serving the wait list of `targetId`'s queue under BullMQ prefix `queuePrefix`. */
function waitListMaster(queuePrefix: string, targetId: string): Promise<number> {
  return cluster.masterOf(`${queuePrefix}:${deliveryQueueName(targetId)}:wait`);
}

describe('the key layout on a Redis Cluster (3 masters)', () => {
  it('spreads the delivery queues of targets t1, t2, t3 over more than one master (the old layout used one)', async () => {
    const masters = await Promise.all(TARGETS.map((id) => waitListMaster(targetQueuePrefix(PREFIX, id), id)));
    expect(new Set(masters).size).toBeGreaterThanOrEqual(2);
    const legacy = await Promise.all(TARGETS.map((id) => waitListMaster(legacyQueuePrefix(PREFIX), id)));
    expect(new Set(legacy).size).toBe(1);
  });

  it('enqueues and processes one job per target with BullMQ on the Cluster (no CROSSSLOT)', async () => {
    const seen: string[] = [];
    const queues = TARGETS.map((id) => deliveryQueue(id, PREFIX, client));
    const workers = TARGETS.map(
      (id) =>
        new Worker(
          deliveryQueueName(id),
          (job) => {
            seen.push(`${id}:${String(job.id)}`);
            return Promise.resolve('ok');
          },
          { connection: workerClient, prefix: targetQueuePrefix(PREFIX, id) },
        ),
    );
    try {
      await Promise.all(
        queues.map((queue, index) =>
          queue.add('event', jobData(index), { jobId: `ev|job-${index}`, removeOnComplete: false }),
        ),
      );
      const states = await Promise.all(
        queues.map(async (queue, index) => {
          for (let look = 0; look < 200; look++) {
            const state = await queue.getJobState(`ev|job-${index}`);
            if (state === 'completed' || state === 'failed') return state;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return 'unfinished';
        }),
      );
      expect(states).toEqual(['completed', 'completed', 'completed']);
      expect(seen.sort()).toEqual(['t1:ev|job-0', 't2:ev|job-1', 't3:ev|job-2']);
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all(queues.map((queue) => queue.obliterate({ force: true }).then(() => queue.close())));
    }
  }, 60_000);

  it('takes a shard lease, writes its session fenced and reads the lease holders across shards', async () => {
    const owner = createLeaseOwnerId('replica-a');
    const leases = [0, 1, 2].map(
      (shardId) =>
        new ShardLease({ redis: client, prefix: PREFIX, appId: APP_ID, shardId, owner, ttlMs: 10_000 }),
    );
    for (const lease of leases) expect((await lease.acquire()).kind).toBe('acquired');
    const store = new FencedRedisSessionStore(client, PREFIX, APP_ID, {
      valueFor: (shardId) => leases[shardId]?.value,
    });
    await store.save(1, { sessionId: 'session-1', seq: 42 });
    expect(await store.load(1)).toEqual({ sessionId: 'session-1', seq: 42 });
    const registry = new ReplicaRegistry(client, PREFIX, APP_ID, owner, 10_000);
    const holders = await registry.holders([0, 1, 2]);
    expect([...holders.values()]).toEqual([owner, owner, owner]);
    const shardMasters = await Promise.all(
      [0, 1, 2].map((id) => cluster.masterOf(leaseKey(PREFIX, APP_ID, id))),
    );
    expect(await cluster.masterOf(sessionKey(PREFIX, APP_ID, 1))).toBe(shardMasters[1]);
    await store.clear(1);
    for (const lease of leases) await lease.release();
  });

  it('enqueues an outbound message with its msg_seq on the Cluster', async () => {
    const outbound = new OutboundQueue({ connection: client, prefix: PREFIX, appId: APP_ID, attempts: 3 });
    try {
      const id = await outbound.enqueueMessage({
        scene: 'group',
        openid: 'GROUP1',
        body: { content: 'hi', msg_type: 0, msg_id: 'm-1' },
        source: 'api',
      });
      const job = await outbound.queue.getJob(id);
      expect(job?.data).toMatchObject({ id, body: { msg_seq: 1 } });
      expect(outbound.queue.opts.prefix).toBe(outboundQueuePrefix(PREFIX, APP_ID));
    } finally {
      await outbound.queue.obliterate({ force: true });
      await outbound.close();
    }
  });
});
