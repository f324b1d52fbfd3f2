/**
 * `redis.min_replicas` on a real Redis Cluster (3 masters, 1 replica each): WAIT goes to the master that holds
 * the keys just written — a keyless WAIT sent to the Cluster would land on a random node — and a master whose
 * replica is gone cannot acknowledge.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBridgeError } from '../../src/errors.js';
import { enqueueEntryWith } from '../../src/queue/durable-sink.js';
import { DeliveryProducer } from '../../src/queue/producer.js';
import { replicated, type ReplicaWaitPolicy } from '../../src/queue/replica-wait.js';
import { targetQueuePrefix } from '../../src/redis/keys.js';
import { testTarget } from '../helpers/config.js';
import { freshPrefix } from '../helpers/redis.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { replicaPortsOf, waitCalls, waitForOnlineReplicas } from '../helpers/replica-wait.js';
import { journalEntry, range } from './journal-fixtures.js';

const APP_ID = '102000000';
const TARGET = testTarget({ id: 'backend', url: 'http://127.0.0.1:9/events' });
const ONE_REPLICA: ReplicaWaitPolicy = { minReplicas: 1, timeoutMs: 200 };

let cluster: RedisCluster;
let connection: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  connection = new Cluster(
    cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    { lazyConnect: true, enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 1 } },
  );
  connection.on('error', () => undefined);
  await connection.connect();
  // the cluster serves every slot before the replicas have finished their first sync
  for (const port of await masterPorts()) await waitForOnlineReplicas(port, 1);
}, 60_000);

afterAll(async () => {
  connection?.disconnect();
  await cluster?.cleanup();
});

async function masterPorts(): Promise<number[]> {
  return (await cluster.topology()).filter((node) => node.role === 'master').map((node) => node.port);
}

async function waitCallsByMaster(): Promise<Map<number, number>> {
  const ports = await masterPorts();
  return new Map(await Promise.all(ports.map(async (port) => [port, await waitCalls(port)] as const)));
}

function delta(before: Map<number, number>, after: Map<number, number>): Record<number, number> {
  return Object.fromEntries([...after].map(([port, calls]) => [port, calls - (before.get(port) ?? 0)]));
}

/**
 * Prefixes until one whose `keyOf(prefix)` is served by a master other than those in `taken`; by default the key is
 * the prefix itself, for the producer tests the target queue's hash tag (src/redis/keys.ts).
 */
async function prefixOnAnotherMaster(
  taken: readonly number[],
  keyOf: (prefix: string) => string = (prefix) => prefix,
): Promise<{ prefix: string; master: number }> {
  for (;;) {
    const prefix = freshPrefix('cwait');
    const master = await cluster.masterOf(keyOf(prefix));
    if (!taken.includes(master)) return { prefix, master };
  }
}

/** The hash tag of TARGET's queue under `prefix`: where its jobs, and so the WAIT, go. */
const targetQueueOf = (prefix: string): string => targetQueuePrefix(prefix, TARGET.id);

describe('redis.min_replicas on a Cluster', () => {
  it('sends each batch one WAIT, to the master of the queue slot and to no other node', async () => {
    const { prefix, master } = await prefixOnAnotherMaster([], targetQueueOf);
    const producer = new DeliveryProducer({
      connection,
      prefix,
      targets: [TARGET],
      dedupeWindowMs: 3_600_000,
      replicaWait: ONE_REPLICA,
    });
    try {
      const enqueue = enqueueEntryWith(producer, APP_ID);
      const before = await waitCallsByMaster();
      // six batches: a WAIT routed to a random node would miss the queue's master in most of them
      for (const seq of range(1, 6)) await enqueue([journalEntry(seq), journalEntry(seq + 100)]);
      const expected = Object.fromEntries([...before.keys()].map((port) => [port, port === master ? 6 : 0]));
      expect(delta(before, await waitCallsByMaster())).toEqual(expected);
    } finally {
      await producer.close();
    }
  });

  it('waits once on each master when the written keys live on two of them', async () => {
    const first = await prefixOnAnotherMaster([]);
    const second = await prefixOnAnotherMaster([first.master]);
    const before = await waitCallsByMaster();
    await replicated(connection, [`${first.prefix}:k`, `${second.prefix}:k`], ONE_REPLICA, async () => {
      await connection.set(`${first.prefix}:k`, '1');
      await connection.set(`${second.prefix}:k`, '2');
    });
    const calls = delta(before, await waitCallsByMaster());
    expect(calls[first.master]).toBe(1);
    expect(calls[second.master]).toBe(1);
    expect(Object.values(calls).reduce((sum, n) => sum + n, 0)).toBe(2);
  });

  it('refuses to acknowledge an enqueue once the master of the queue slot has lost its replica', async () => {
    const { prefix, master } = await prefixOnAnotherMaster([], targetQueueOf);
    const producer = new DeliveryProducer({
      connection,
      prefix,
      targets: [TARGET],
      dedupeWindowMs: 3_600_000,
      replicaWait: ONE_REPLICA,
    });
    try {
      const enqueue = enqueueEntryWith(producer, APP_ID);
      await enqueue([journalEntry(1)]);
      for (const replica of await replicaPortsOf(master)) await cluster.kill(replica);
      const failure = await enqueue([journalEntry(2)]).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isBridgeError(failure, 'BRIDGE_ERR_NOT_REPLICATED')).toBe(true);
      expect(String((failure as Error).message)).toContain(`0 of 1 replicas of master 127.0.0.1:${master}`);
    } finally {
      await producer.close();
    }
  });
});
